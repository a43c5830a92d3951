"""Controller back-ends: one registry line per controller family.

A back-end names three things, each in its own room:
  language  `lasergen/backends/<family>/language.py`, no I/O: `emit_body` (toolpath -> job body
            in the controller's own language), `read_body` (job body -> toolpath + the map from
            body lines to toolpath rows), the controller's motion model (`estimate`, `durations`,
            `profile`), the profile table of its own settings (`PROFILE_TABLE`), which energy
            and gate modes it can drive, and what a job's manifest says it assumes;
  session   `drivers/<family>/`, the serial session the runner drives (connect, identify,
            check the profile, send with flow control, proofs of execution, stop beam off, reset);
  emulator  `hardware_sim/<family>/`, the controller's emulator behind `sim://`, a pty or TCP.
Session and emulator are named as "module:Class" strings, so the core never imports drivers or
the simulator; `resolve` turns a name into the object for the room that needs it. The core
(sources -> Pattern -> Toolpath -> manifest) reaches a language only through the machine
profile's `controller`: `language_for(machine)`.

This registry is the one place a family is named: `drivers.session.open_session` opens the
registered session, `hardware_sim.emulators.make_emulator` builds the registered emulator, and
the CLI and profiles know a family only as a machine profile's `controller`.

A new family: its three folders plus one `register(...)` line below. For example:
  Zaber ASCII (X-MCC, X-LSM; `/1 1 move abs 1000` lines, each answered `@01 1 OK IDLE -- 0`):
            language: emit one `move abs` per segment in microsteps (the profile's resolution)
            with `set maxspeed` per speed change, the beam gated by a digital output
            (`io set do 1 1`) or a trigger (`trigger 1 when ...`), read that back into rows,
            and a trapezoid-per-move motion model (no look-ahead, like PI); session: every
            command is answered, so flow control is one command in flight per axis and the
            proof of execution is the `IDLE` flag read back (`/1 1` polls), stop is
            `/estop` with the output low; emulator: the same reply grammar, warning flags
            (`FZ`, `WR`) for faults, the rig's gate on its digital output.
  Aerotech ASCII (Ensemble/A3200 over serial: `MOVEABS X10 F5` lines, `%` ack, `!` fault):
            language: AeroBasic lines with PSO commands (`PSOCONTROL X ON`) gating the beam
            by position; session: one command in flight, `AXISFAULT`/`AXISSTATUS` queries
            as proofs, `ABORT` + `ACKNOWLEDGEALL` as the stop; emulator: the ack/nak/fault
            characters, a PSO window on the rig's gate.
Neither needs a change to the runner, journal, resume, the device or the fault campaign.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from lasergen import LasergenError


@dataclass(frozen=True)
class Backend:
    family: str  # the machine profile's `controller`
    title: str
    language: str  # module path of the language
    session: str  # "module:Class" of the serial session (drivers/)
    emulator: str  # "module:Class" of the emulator (hardware_sim/)

    @property
    def lang(self):
        return importlib.import_module(self.language)


BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    BACKENDS[backend.family] = backend
    return backend


def backend(family: str) -> Backend:
    try:
        return BACKENDS[family]
    except KeyError:
        raise LasergenError(f"unknown controller {family!r} (known: {', '.join(BACKENDS)})") from None


def backend_for(machine) -> Backend:
    return backend(machine.controller)


def language_for(machine):
    """The language module (emit, read, motion model) of the machine's controller."""
    return backend_for(machine).lang


def resolve(ref: str):
    """'package.module:Name' -> the object (for drivers and hardware_sim, which own those rooms)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


register(Backend("grbl", "GRBL 1.1 (laser mode)", "lasergen.backends.grbl.language",
                 "drivers.grbl.session:GrblSession", "hardware_sim.grbl.emulator:GrblEmulator"))
register(Backend("pi_gcs", "PI GCS 2.0 (C-884 class)", "lasergen.backends.pi_gcs.language",
                 "drivers.pi_gcs.session:PiGcsSession", "hardware_sim.pi_gcs.emulator:PiGcsEmulator"))
