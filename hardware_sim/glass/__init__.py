"""The glass model: from what the beam did to green/red phases, spectra, renders and a report."""
