"""hardware_sim: the simulated device.

What lives here: the exposure ledger (what the laser actually did), the sample model that turns
it into crystallized green/red perovskite phases (`exposure`, `thermal`, `phase_model`), the
optics and renders of the three views (`optics`, `render`), the report and the checks of what a
job promises (`report`, `verify`), behind one facade (`simulate`). The GRBL emulator and its
transports also live in this package. Nothing here imports `drivers`.
"""
