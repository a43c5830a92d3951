"""The glass model reads what an M4 job's beam did, as streamed through the emulated controller.

An armed raster pass (M4 + modal arming) whose marks all run at constant speed predicts the same
sample as the same pass written the old way (M3, every line a G1): under M4 a mark at its
programmed rate fires at S throughout, as under M3. A line from rest under M4 is a staircase
of pieces on its ramps; the glass model reads those rows as it reads any move.
"""

import numpy as np

from hardware_sim.batch import run_grbl
from hardware_sim.glass.report import build_report
from hardware_sim.glass.simulate import simulate
from lasergen import MachineProfile

MACHINE = MachineProfile.load()


def armed_pass(lead_in="M4S0"):
    """Two scan lines of two 40 um marks at 0.4 mm/s (S200), lead-in and lead-out at writing speed."""
    lines = [lead_in]
    for y in (5.0, 5.02):
        lines += [f"G0X4.9Y{y}", "G1X5F24S0", "X5.04S200", "G0", "G1X5.08S0", "X5.12S200", "G0", "G1X5.2S0"]
    return lines + ["M5"]


def m3_form(lines):
    """The same pass as lasergen wrote it before arming: M3, every move a G1, no bare G0."""
    out = []
    for line in lines:
        if line == "G0":
            continue
        out.append("M3S0" if line == "M4S0" else ("G1" + line if line.startswith("X") else line))
    return out


def predict(lines):
    history = run_grbl(lines, MACHINE).recorder.history()
    return history, simulate(history, MACHINE, "BrI", pitch_um=2.0)


def test_armed_pass_at_constant_speed_predicts_what_its_m3_form_predicts():
    h4, p4 = predict(armed_pass())
    h3, p3 = predict(m3_form(armed_pass()))
    e4, e3 = h4.take(h4.is_exposure), h3.take(h3.is_exposure)
    assert len(e4) == 4 and np.array_equal(e4.energy_uJ, e3.energy_uJ) and np.array_equal(e4.x0, e3.x0)
    assert np.array_equal(e4.duration_s, e3.duration_s)
    assert p4.exposure.crystallized.max() > 0.5  # the marks are written
    assert np.array_equal(p4.exposure.crystallized, p3.exposure.crystallized)
    assert build_report(p4)["features"] == build_report(p3)["features"]


def test_glass_model_reads_an_m4_staircase():
    lines = ["M4S300", "G0X5Y5", "G1X5.2F300", "M5"]  # from rest to rest at 5 mm/s: 25 ms ramps
    h4, p4 = predict(lines)
    h3, p3 = predict(["M3S300"] + lines[1:])
    e4 = h4.take(h4.is_exposure & (h4.x0 >= 5.0) & (h4.y0 == 5.0))
    assert len(e4) > 3 and len(set(np.round(e4.energy_uJ, 6))) > 3  # pieces at several levels
    assert np.all(e4.x0[1:] == e4.x1[:-1]) and np.all(np.isfinite(p4.exposure.crystallized))
    # M4 spends less energy on the line's ramps than M3, which fires at S whatever the speed
    dose = lambda h: float(np.sum((h.energy_uJ * h.duration_s)[h.is_exposure & (h.x0 >= 5.0) & (h.y0 == 5.0)]))
    assert dose(h4) < dose(h3)
    assert p4.exposure.crystallized.sum() <= p3.exposure.crystallized.sum()
