"""Which emulator answers on a simulated port: the machine profile's controller family picks the
stage controller's (the back-end registry names it), the port name picks a beam-side device.

    port=stage        the controller of the profile's family (GRBL, PI GCS, ...)
    port=attenuator   the Elliptec rotation mount turning the rig's half-wave plate
Ports of one named device share one rig (`hardware_sim.beam.rig`): the attenuator's angle is
the pulse energy the stage emulator records.
"""

from __future__ import annotations

from hardware_sim.beam.rig import rig_for
from lasergen import LasergenError
from lasergen.backends import backend_for, resolve

PORTS = {"stage": None, "attenuator": "hardware_sim.beam.elliptec:ElliptecEmulator"}


def make_emulator(machine, port: str = "stage", rig_name: str | None = None, fast_forward: bool = True):
    if port not in PORTS:
        raise LasergenError(f"unknown simulated port {port!r} (known: {', '.join(PORTS)})")
    cls = resolve(PORTS[port] or backend_for(machine).emulator)
    if getattr(cls, "USES_RIG", False):
        return cls(machine, fast_forward=fast_forward, rig=rig_for(rig_name, machine))
    return cls(machine, fast_forward=fast_forward)
