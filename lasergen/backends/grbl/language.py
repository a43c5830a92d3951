"""GRBL 1.1 as a back-end language: what the core asks of any controller family, answered by
the G-code dialect (`gcode/`) and GRBL's planner model (`motion.py`).

Energy is the S word (`s_per_uJ`, `$30` = `s_max`); the gate is laser mode itself (M3/M5 with
S, never in G0), or an attenuator sets the energy while S stays at the value the recipe
implies. GRBL's own settings live in the profile's [grbl] table (`PROFILE_TABLE`); the `$`
settings a profile implies (`controller_settings`) are what the driver checks and the emulator
boots with.
"""

from __future__ import annotations

from lasergen.backends.grbl.gcode import emit_body, read_program
from lasergen.backends.grbl.gcode.stream import estimate_body, toolpath_body  # a job file read in pieces
from lasergen.backends.grbl.motion import durations, estimate, profile
from lasergen.profile_schema import Field, non_negative, positive, positive_pair

__all__ = ["ENERGY_MODES", "GATES", "PROFILE_TABLE", "JOB_TAG", "DEFAULT_PROFILE", "controller_settings",
           "durations", "emit_body", "estimate", "estimate_body", "machine_manifest", "manifest_assumes", "profile", "read_body",
           "recipe_problems", "toolpath_body"]

ENERGY_MODES = ("s_word", "attenuator", "fixed")
GATES = ("s_word",)
JOB_TAG = ""  # the job container's first line names no language: G-code is the default
DEFAULT_PROFILE = "grbl-default"
JOB_SUFFIX = ".gcode"
PROFILE_TABLE = {
    "junction_deviation_mm": non_negative(0.01, help="$11"),
    "planner_blocks": Field("int", 15, 1, help="GRBL's planner buffer minus the block kept free"),
    "stepper_idle_lock_ms": Field("number", 25.0, 0.0, maximum=255.0, help="$1, 0-255 ms (255 = never idle)"),
    "s_per_uJ": positive(1.0, help="S word per uJ of pulse energy"),
    "s_max": positive(1000.0, help="$30"),
    "rx_buffer_bytes": Field("int", 128, 2, help="GRBL's serial receive buffer"),
    "z_max_rate_mm_s": positive(5.0, help="$112 (GRBL stores mm/min): the Z axis, when [travel] z_mm is given"),
    "z_accel_mm_s2": positive(50.0, help="$122"),
    "steps_per_mm": positive_pair([250.0, 250.0], help="$100, $101: motor steps per mm (GRBL rounds every target to steps)"),
    "z_steps_per_mm": positive(250.0, help="$102"),
}


def read_body(lines: list[str], machine):
    """Every line as GRBL would execute it (`gcode.reader`): ParsedProgram."""
    return read_program(lines, machine)


def recipe_problems(name: str, recipe, machine) -> list[str]:
    """What this controller cannot do with a recipe (beyond the limits every machine has)."""
    s = machine.energy_to_s(recipe.energy_uJ)
    if s > machine.s_max:
        return [f"recipe {name!r}: S{s:g} exceeds $30={machine.s_max:g}"]
    return []


def manifest_assumes(machine) -> dict:
    return {"laser_mode": "$32=1", "units": "G21 mm", "s_per_uJ": machine.s_per_uJ,
            "s_max": machine.s_max, "rep_rate_kHz": machine.rep_rate_kHz}


def machine_manifest(machine) -> dict:
    return {"name": machine.name, "rep_rate_kHz": machine.rep_rate_kHz, "s_per_uJ": machine.s_per_uJ}


def controller_settings(machine) -> dict[int, float]:
    """The GRBL 1.1 settings this profile assumes ($-number to value, GRBL units)."""
    settings = {
        1: machine.stepper_idle_lock_ms,
        11: machine.junction_deviation_mm,
        20: 1.0,  # soft limits on
        22: 1.0,  # homing on (soft limits need it)
        30: machine.s_max,
        31: 0.0,
        32: 1.0,  # laser mode
        100: machine.steps_per_mm[0],
        101: machine.steps_per_mm[1],
        110: machine.max_rate_mm_s[0] * 60.0,
        111: machine.max_rate_mm_s[1] * 60.0,
        120: machine.accel_mm_s2[0],
        121: machine.accel_mm_s2[1],
        130: machine.x_range_mm[1] - machine.x_range_mm[0],
        131: machine.y_range_mm[1] - machine.y_range_mm[0],
    }
    if machine.z_range_mm is not None:  # a stage with a Z axis: its rate, acceleration and travel too
        settings.update({102: machine.z_steps_per_mm, 112: machine.z_max_rate_mm_s * 60.0, 122: machine.z_accel_mm_s2,
                         132: machine.z_range_mm[1] - machine.z_range_mm[0]})
    return settings
