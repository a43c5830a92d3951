"""Security marks: keyed hidden layers, signed payloads, tag checks and process warnings."""
