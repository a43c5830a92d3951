"""The emulated controller's $-settings and the text of GRBL 1.1's $-reports.

Settings boot from GRBL's generic defaults overlaid with what the machine profile implies
(`MachineProfile.grbl_settings()`), plus $10=3 (MPos and the `Bf:` buffer field in status
reports) and $23=3 (home towards X-/Y-). The emulator is built as with HOMING_FORCE_SET_ORIGIN
(`Z` in `[OPT:]`): homing sets the origin at the switches, so machine space is
[0, $130] x [0, $131] and soft limits ($20) check exactly that. Report formats follow
report.c: integers for masks/booleans, 3 decimals for other settings, 0 for rates and RPM.
"""

from __future__ import annotations

from lasergen.backends.grbl.codes import keyed
from lasergen.machine import MachineProfile

ERRORS = keyed("error")

VERSION = "1.1h"
BUILD_DATE = "20190825"
BUILD_OPTIONS = "VZ"  # variable spindle, homing force origin
BANNER = f"Grbl {VERSION} ['$' for help]"
HELP = "[HLP:$$ $# $G $I $N $x=val $Nx=line $J=line $SLP $C $X $H ~ ! ? ctrl-x]"

GENERIC_DEFAULTS = {
    0: 10, 1: 25, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 10: 1, 11: 0.010, 12: 0.002, 13: 0, 20: 0, 21: 0,
    22: 0, 23: 0, 24: 25.0, 25: 500.0, 26: 250, 27: 1.0, 30: 1000.0, 31: 0.0, 32: 0,
    100: 250.0, 101: 250.0, 102: 250.0, 110: 500.0, 111: 500.0, 112: 500.0,
    120: 10.0, 121: 10.0, 122: 10.0, 130: 200.0, 131: 200.0, 132: 200.0,
}
INTEGER_SETTINGS = {0, 1, 2, 3, 4, 5, 6, 10, 13, 20, 21, 22, 23, 26, 32}
RPM_SETTINGS = {30, 31}
BOOLEAN_SETTINGS = {4, 5, 6, 13, 20, 21, 22, 32}
STATUS_SETTING_STEP_PULSE_MIN = ERRORS["setting_step_pulse_min"]
STATUS_INVALID_STATEMENT = ERRORS["invalid_statement"]
STATUS_NEGATIVE_VALUE = ERRORS["negative_value"]
STATUS_SOFT_LIMIT_SETTING = ERRORS["soft_limit_error"]  # $20=1 needs homing ($22=1)


def boot_settings(machine: MachineProfile) -> dict[int, float]:
    settings = dict(GENERIC_DEFAULTS)
    settings.update({k: float(v) for k, v in machine.grbl_settings().items()})
    settings[10], settings[23] = 3, 3
    settings[132] = 10.0  # the profile is XY; Z may move 0..10 mm
    return settings


def store_setting(settings: dict, number: float, value: float) -> int:
    """`$n=v`: 0 when stored, else GRBL's status code (settings.c)."""
    n = int(number)
    if n != number or n not in settings:
        return STATUS_INVALID_STATEMENT
    if value < 0:
        return STATUS_NEGATIVE_VALUE
    if n == 0 and value < 3:
        return STATUS_SETTING_STEP_PULSE_MIN
    if n == 20 and value and not settings[22]:
        return STATUS_SOFT_LIMIT_SETTING
    if n in INTEGER_SETTINGS:
        value = float(int(value))
        if n in BOOLEAN_SETTINGS:
            value = 1.0 if value else 0.0
    settings[n] = value
    if n == 22 and not value:
        settings[20] = 0.0  # disabling homing disables soft limits, as settings.c does
    return 0


def format_setting(n: int, value: float) -> str:
    if n in INTEGER_SETTINGS:
        return f"${n}={int(value)}"
    if n in RPM_SETTINGS:
        return f"${n}={value:.0f}"
    return f"${n}={value:.3f}"


def settings_report(settings: dict) -> list[str]:
    return [format_setting(n, settings[n]) for n in sorted(settings)]


def build_info_report(user_info: str = "", planner_blocks: int = 15, rx_buffer_bytes: int = 128) -> list[str]:
    """`$I`: version, then the build options, the planner's block count and the RX buffer's size."""
    return [f"[VER:{VERSION}.{BUILD_DATE}:{user_info}]", f"[OPT:{BUILD_OPTIONS},{planner_blocks},{rx_buffer_bytes}]"]


def axes(values) -> str:
    return ",".join(f"{v:.3f}" for v in values)


def parameters_report(state, probe_mm=(0.0, 0.0, 0.0)) -> list[str]:
    """`$#`: coordinate systems, G28/G30, G92, tool length offset, last probe (never touched: no probe)."""
    lines = [f"[G{54 + i}:{axes(state.coord_offsets[i])}]" for i in range(6)]
    lines += [f"[G28:{axes(state.home28)}]", f"[G30:{axes(state.home30)}]", f"[G92:{axes(state.g92)}]",
              f"[TLO:{state.tool_length:.3f}]", f"[PRB:{axes(probe_mm)}:0]"]
    return lines


def modes_report(state, program_flow: str = "") -> str:
    """`$G`: the parser's modal state, in report_gcode_modes' order."""
    words = [state.motion, f"G{54 + state.coord}", state.plane, "G21" if state.mm else "G20",
             "G90" if state.absolute else "G91", "G93" if state.inverse_time else "G94"]
    if program_flow:
        words.append(program_flow)
    feed = state.feed_mm_min if state.mm else state.feed_mm_min / 25.4
    words += [state.spindle, state.coolant, f"T{state.tool}", f"F{feed:.0f}", f"S{state.s:.0f}"]
    return "[GC:" + " ".join(words) + "]"
