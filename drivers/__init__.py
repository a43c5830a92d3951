"""drivers: the hardware abstraction layer (Stage, Laser, Machine), the GRBL 1.1 client, the
attenuator, and the job runner with its journal. Reached by port URL only: the same code runs
against a real controller, a pty, a TCP bridge or the in-process `sim://` emulator."""
