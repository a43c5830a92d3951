"""An emulated PI C-884 (GCS 2.0) motion controller."""
