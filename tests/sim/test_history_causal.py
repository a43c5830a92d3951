"""Issue 10 findings, each from hand-written G-code run on the emulated controller (PHYSICS D)."""

from __future__ import annotations

import numpy as np
import pytest

from hardware_sim.grbl.emulator import GrblEmulator
from hardware_sim.glass.focus import focal_shift_factor, z_for_depth_mm
from hardware_sim.glass.material import Material
from hardware_sim.glass.phase_model import Treatment, phases
from hardware_sim.glass.report import build_report
from hardware_sim.glass.simulate import simulate
from lasergen import LasergenError

from .sim_helpers import MACHINE, pixel_values

HEAD = "G21G90G94\n"


def sim(gcode: str, **kw):
    pred = simulate(HEAD + gcode, MACHINE, kw.pop("material", "BrI"), pitch_um=2.0, **kw)
    return pred, build_report(pred)


def two_passes(with_m5: bool) -> str:
    off = "M5\n" if with_m5 else ""
    on = "M3\n" if with_m5 else ""
    return (f"G0X5Y5\nM3S0\nG1X6F24S200\n{off}G0X5Y5\n{on}G1X6F24S200\nM5\n")


def test_d17_m5_between_passes_changes_nothing():
    a, ra = sim(two_passes(True))
    b, rb = sim(two_passes(False))
    assert ra["phases"]["red"]["peak_nm"] == pytest.approx(rb["phases"]["red"]["peak_nm"], abs=0.5)
    assert ra["phases"]["red"]["integrated"] == pytest.approx(rb["phases"]["red"]["integrated"], rel=0.03)
    assert ra["phases"]["red"]["peak_nm"] > 645  # both are rewrites


def test_d17_dark_first_pass_is_not_a_rewrite():
    # (an M5 between the passes, so it is two passes for a model that counts laser enables)
    # 150 uJ melts the glass (time-averaged centre above the liquidus) but no melt persists between
    # pulses, so it never nucleates: it writes nothing, and the normal pass after it is a first write
    _, normal = sim("G0X5Y5\nM3\nG1X6F24S200\nM5\n")
    _, dark_then_normal = sim("G0X5Y5\nM3\nG1X6F24S150\nM5\nG0X5Y5\nM3\nG1X6F24S200\nM5\n")
    assert dark_then_normal["crystallized_area_um2"] == pytest.approx(normal["crystallized_area_um2"], rel=0.02)
    assert dark_then_normal["phases"]["red"]["peak_nm"] == pytest.approx(normal["phases"]["red"]["peak_nm"], abs=1.0)
    assert normal["phases"]["red"]["peak_nm"] < 620
    # a pass at the machine's top speed over the same segment (run up and out beyond it) writes at
    # most a faint line; the normal pass then rewrites only those few crystals: near 613, not 655
    _, fast_then_normal = sim("G0X4Y5\nM3\nG1X7F3000S200\nM5\nG0X5Y5\nM3\nG1X6F24S200\nM5\n")
    assert fast_then_normal["phases"]["red"]["peak_nm"] < 625
    assert fast_then_normal["phases"]["green"]["integrated"] > 0.8 * normal["phases"]["green"]["integrated"]


def dot(x, y, dwell_s):
    return f"G0X{x:.3f}Y{y:.3f}\nG1F24S200\nM3\nG4P{dwell_s:.2f}\nM5\n"


def test_d18_a_dot_does_not_depend_on_later_exposures():
    alone, _ = sim(dot(5, 5, 0.5))
    later = "".join(dot(5 + 0.4 * (i % 3), 5.4 + 0.4 * (i // 3), 0.5) for i in range(6))
    with_later, _ = sim(dot(5, 5, 0.5) + later)
    assert pixel_values(alone, alone.exposure.crystallized, [5.0], [5.0])[0] == 0.0
    assert pixel_values(with_later, with_later.exposure.crystallized, [5.0], [5.0])[0] == 0.0


def test_d19_far_neighbours_do_not_light_a_dot_close_ones_may_and_order_matters():
    far = "".join(dot(5 + 0.4 * (i % 5), 5 + 0.4 * (i // 5), 0.6) for i in range(25))
    pred, rep = sim(far)
    assert rep["crystallized_area_um2"] == 0  # 25 sub-threshold dots 400 um apart stay dark
    # two sub-threshold dots 20 um apart: the second melts glass the first incubated and lights
    close, _ = sim(dot(5, 5, 0.6) + dot(5.02, 5, 0.6))
    assert pixel_values(close, close.exposure.crystallized, [5.02], [5.0])[0] > 0.05
    # order: the same two dots with the far one written in between no longer share the memory as fast
    x_close = pixel_values(close, close.exposure.crystallized, [5.0], [5.0])[0]
    reordered, _ = sim(dot(5.02, 5, 0.6) + dot(5, 5, 0.6))
    assert not np.isclose(pixel_values(reordered, reordered.exposure.crystallized, [5.0], [5.0])[0], x_close)


def test_d21_lines_far_apart_in_depth_do_not_interact():
    line = "G0X5Y5Z{z}\nM3\nG1X6F24S200\nM5\n"
    same, rep_same = sim(line.format(z=0) + line.format(z=0))
    # +Z moves the focus deeper: Z2 puts it 2 mm x 1.53 (refraction) = 3.1 mm below the first line
    deep, rep_deep = sim(line.format(z=0) + line.format(z=2))
    assert rep_same["phases"]["red"]["peak_nm"] > 645          # same depth: a rewrite
    assert rep_deep["phases"]["red"]["peak_nm"] < 620          # 2 mm apart in Z: two first writes
    assert len(deep.exposure.planes) == 2 and len(same.exposure.planes) == 1
    depths = sorted(p["depth_um"] for p in rep_deep["planes"])
    assert depths[0] == pytest.approx(200.0) and depths[1] - depths[0] == pytest.approx(2000 * focal_shift_factor(deep.material))
    # each plane holds one first-write line, as bright as the line alone
    lone, rep_lone = sim(line.format(z=0))
    assert all(p["lit_area_um2"] == pytest.approx(rep_lone["crystallized_area_um2"], rel=0.02) for p in rep_deep["planes"])
    assert z_for_depth_mm(deep.material, depths[1]) == pytest.approx(2.0)


def test_hold_in_the_middle_of_a_mark_appears_at_its_true_time():
    emu = GrblEmulator(MACHINE, fast_forward=False)
    emu.receive(b"$X\nG21G90\nG0X5Y5\nM3\nG1X7F24S200\n")  # 2 mm at 0.4 mm/s: 5 s
    emu.advance(1.0)
    start = emu.motion.t_start_s
    emu.advance(start + 2.5)
    emu.receive(b"!")
    emu.advance(start + 7.5)
    emu.receive(b"~")
    emu.advance(start + 20.0)
    hist = emu.recorder.history()
    marks = hist.exposures()
    hold = hist.take(hist.hold > 0)
    assert len(marks) == 2 and len(hold) == 1
    assert hold.t_start_s[0] == pytest.approx(start + 2.5, abs=1e-6)
    assert hold.duration_s[0] == pytest.approx(5.0, abs=1e-6)
    assert marks.t_start_s[1] == pytest.approx(start + 7.5, abs=1e-6)
    assert marks.length_mm.sum() == pytest.approx(2.0, abs=1e-6)


def test_1500_uJ_is_clamped_and_flagged():
    pred, rep = sim("G0X5Y5\nG1F24S1500\nM3\nG4P1.5\nM5\n")
    exp = pred.history.exposures()
    assert exp.energy_uJ.max() == MACHINE.max_energy_uJ and exp.clamped.all() and exp.s_command.max() == 1500
    assert any("clamped" in w for w in rep["warnings"])
    assert rep["writing_points"][0]["clamped"]


def test_pure_i_is_stable_for_a_year_at_25_c():
    mat = Material.load("I")
    x = np.ones((2, 2), np.float32)
    fresh = phases(x, np.zeros_like(x), mat).red.sum()
    year = phases(x, np.zeros_like(x), mat, Treatment(25.0, 24 * 365.0)).red.sum()
    assert year == pytest.approx(fresh, rel=0.01)
    assert phases(x, np.zeros_like(x), mat, Treatment(300.0, 2.0)).red.sum() < 0.3 * fresh  # quenched by HT


def test_material_profile_errors_name_the_unknown(tmp_path):
    text = (Material.__module__ and open(__import__("hardware_sim.glass.material", fromlist=["x"]).MATERIAL_DIR
                                         / "BrI.toml").read())
    for bad, match in ((text.replace("[spectra]", "[spectrum]"), "unknown table.*spectrum"),
                       (text.replace("r0_um = 10.0", "r0_um = 10.0\nr1_um = 3"), "unknown key.*r1_um.*known"),
                       (text.replace("r0_um = 10.0", "r0_um = nan"), "r0_um must be finite"),
                       (text.replace("r0_um = 10.0", "r0_um = -1"), "r0_um = -1 is outside")):
        path = tmp_path / "m.toml"
        path.write_text(bad)
        with pytest.raises(LasergenError, match=match):
            Material.load(path)
