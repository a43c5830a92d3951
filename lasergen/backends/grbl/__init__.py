"""GRBL 1.1 (laser mode): G-code dialect, GRBL-faithful interpreter, planner model, codes."""
