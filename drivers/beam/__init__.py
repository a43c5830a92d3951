"""The beam side of a rig: pulse energy set by a motorised half-wave plate (attenuator)."""
