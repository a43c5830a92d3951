"""Controller back-ends: the language of each controller family, without any I/O.

A family's folder here holds what the bytes of its jobs mean: the emitter (toolpath -> the
controller's own language), the reader (job -> toolpath), and its motion model for estimates.
The serial session lives in `drivers/<family>/` and the emulator in `hardware_sim/<family>/`;
both speak through this folder, so a driver and its emulator cannot disagree on the language.
The core (sources -> Pattern -> Toolpath -> manifest) imports none of them.
"""
