"""PI GCS 2.0 (C-884 class) as a back-end language: emit, read, motion model, profile table.

The controller moves and gates, nothing more: the pulse energy is set by an attenuator (a
motorised half-wave plate before a polariser, Malus's law) before the rows that need it, or is
fixed; the gate (pulse picker, shutter, or any device on a digital output) hangs on one of the
controller's digital output lines. See `emit` for how a job is expressed and why, `motion` for
the timing model.
"""

from __future__ import annotations

from lasergen.backends.pi_gcs.emit import emit_body
from lasergen.backends.pi_gcs.motion import durations, estimate, profile
from lasergen.backends.pi_gcs.read import read_body
from lasergen.profile_schema import Field, non_negative, positive

__all__ = ["ENERGY_MODES", "GATES", "PROFILE_TABLE", "JOB_TAG", "DEFAULT_PROFILE", "durations", "emit_body",
           "estimate", "machine_manifest", "manifest_assumes", "profile", "read_body", "recipe_problems"]

ENERGY_MODES = ("attenuator", "fixed")
GATES = ("pulse_picker", "shutter", "digital_output")
JOB_TAG = "pi_gcs"
DEFAULT_PROFILE = "pi-c884"
JOB_SUFFIX = ".job"
PROFILE_TABLE = {
    "axes": Field("list", ("1", "2"), length=2, item=Field("text"), help="the controller's axis ids for X, Y"),
    "gate_line": Field("int", 1, 1, help="digital output line of the gate (1..4 on a C-884)"),
    "idn_model": Field("text", "C-884", help="*IDN? must name this model"),
    "serial_number": Field("text", "", help="and, when set, this serial number"),
    "settle_ms": non_negative(5.0, help="trajectory end to on-target"),
    "command_overhead_ms": non_negative(12.0, help="host time per proven move (round trips of the proofs)"),
    "z_axis": Field("text", "3", help="the controller's axis id for Z (used when [travel] z_mm is given)"),
    "z_max_rate_mm_s": positive(2.0, help="the Z stage's velocity limit"),
    "z_accel_mm_s2": positive(50.0, help="ACC and DEC of the Z stage"),
}


def recipe_problems(name: str, recipe, machine) -> list[str]:
    if machine.gate_line > 4:
        return [f"machine {machine.name!r}: gate_line {machine.gate_line} does not exist (a C-884 has outputs 1..4)"]
    if machine.energy_mode == "fixed" and abs(recipe.energy_uJ - machine.fixed_energy_uJ) > 1e-6:
        return [f"recipe {name!r}: {recipe.energy_uJ:g} uJ but machine {machine.name!r} has a fixed "
                f"{machine.fixed_energy_uJ:g} uJ"]
    if machine.energy_mode == "attenuator":
        att = machine.attenuator_settings
        if not att["p_min_uJ"] <= recipe.energy_uJ <= att["p_max_uJ"]:
            return [f"recipe {name!r}: {recipe.energy_uJ:g} uJ is outside the attenuator's "
                    f"{att['p_min_uJ']:g}..{att['p_max_uJ']:g} uJ"]
    return []


def manifest_assumes(machine) -> dict:
    return {"controller": "PI GCS 2.0", "units": "mm", "axes": list(machine.axes), "gate": machine.gate,
            "gate_line": machine.gate_line, "gate_latency_ms": machine.gate_latency_ms,
            "energy": machine.energy_mode, "rep_rate_kHz": machine.rep_rate_kHz}


def machine_manifest(machine) -> dict:
    return {"name": machine.name, "controller": machine.controller, "rep_rate_kHz": machine.rep_rate_kHz,
            "energy": machine.energy_mode, "gate": machine.gate}


def controller_settings(machine) -> dict:
    """What the session checks on the controller: travel, velocity limits, servo, reference."""
    out = {"axes": list(machine.axes), "travel_mm": [list(machine.x_range_mm), list(machine.y_range_mm)],
           "max_rate_mm_s": list(machine.max_rate_mm_s)}
    if machine.z_range_mm is not None:
        out["axes"].append(machine.z_axis)
        out["travel_mm"].append(list(machine.z_range_mm))
        out["max_rate_mm_s"].append(machine.z_max_rate_mm_s)
    return out
