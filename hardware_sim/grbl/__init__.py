"""A byte-level GRBL 1.1h emulator: protocol, `$` commands, settings, planner queue and stepper."""
