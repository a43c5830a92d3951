"""One test per PHYSICS.md section C target, named after it. Each fails if the model breaks."""

from __future__ import annotations

import numpy as np
import pytest

from hardware_sim.glass.material import Material
from hardware_sim.glass.phase_model import Treatment, phases
from hardware_sim.glass.thermal import rate_per_s

from .sim_helpers import dot_path, line_path, pixel_values, planned, run

HT_TEMPS = (200, 300, 400, 450, 500, 550)


def integrated(report, phase):
    return report["phases"][phase]["integrated"]


def total_pl(report):
    return integrated(report, "green") + integrated(report, "red")


def test_c01_heat_treatment_alone_no_pl():
    mat = Material.load("BrI")
    # the hottest heat treatment cannot crystallize: the rate is zero below the liquidus
    assert rate_per_s(mat, 550 + 273.15) == 0.0
    # an unexposed sample heat-treated at any temperature stays dark
    for temp in HT_TEMPS:
        maps = phases(np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32), mat, Treatment(temp, 100.0))
        assert maps.green.max() == 0 and maps.red.max() == 0
    # and around a written dot, glass the laser did not reach stays dark after 550 C
    pred, rep = run(dot_path(1.5), heat_treat_c=550)
    far = pixel_values(pred, pred.maps.green + pred.maps.red, [5.035, 4.965], [5.035, 4.965])
    assert np.all(far == 0) and total_pl(rep) > 0


def test_c02_dot_dwell_threshold():
    for dwell in (0.3, 0.6, 0.9):
        _, rep = run(dot_path(dwell))
        assert rep["crystallized_area_um2"] == 0 and total_pl(rep) == 0, dwell
    for dwell in (1.0, 1.2, 1.5):
        _, rep = run(dot_path(dwell))
        assert rep["crystallized_area_um2"] > 100 and total_pl(rep) > 0, dwell


def test_c03_dot_size_and_pl_rise_with_dwell():
    reports = [run(dot_path(d))[1] for d in (1.2, 1.5, 2.0, 3.0)]
    sizes = [r["features"]["dot_diameter"]["median_um"] for r in reports]
    pl = [total_pl(r) for r in reports]
    assert np.all(np.diff(sizes) > 0) and np.all(np.diff(pl) > 0), (sizes, pl)
    assert 10 < sizes[1] < 100  # tens of um (paper Fig. 1, 50 um scale bars)


def test_c04_dot_size_and_pl_rise_with_energy():
    reports = [run(dot_path(2.0, e))[1] for e in (200, 250, 300)]
    sizes = [r["features"]["dot_diameter"]["median_um"] for r in reports]
    pl = [total_pl(r) for r in reports]
    assert np.all(np.diff(sizes) > 0) and np.all(np.diff(pl) > 0), (sizes, pl)


@pytest.mark.parametrize("material", ["Br", "BrI", "I"])
def test_c05_line_width_and_pl_fall_with_speed(material):
    reports = [run(line_path(v), material)[1] for v in (0.2, 0.4, 0.6)]
    widths = [r["features"]["line_width"]["median_um"] for r in reports]
    pl = [total_pl(r) for r in reports]
    assert np.all(np.diff(widths) < 0) and np.all(np.diff(pl) < 0), (widths, pl)


def test_c06_line_rises_with_energy_and_default_line_is_bright_and_continuous():
    reports = [run(line_path(0.4, e))[1] for e in (200, 250, 300)]
    widths = [r["features"]["line_width"]["median_um"] for r in reports]
    pl = [total_pl(r) for r in reports]
    assert np.all(np.diff(widths) > 0) and np.all(np.diff(pl) > 0), (widths, pl)
    pred, _ = run(line_path(0.4, 200, length_mm=1.0))
    xs = np.linspace(5.02, 6.0, 197)                # past the nucleation lead-in (D18: the start lags)
    along = pixel_values(pred, pred.exposure.crystallized, xs, np.full_like(xs, 5.0))
    assert along.min() >= 0.5                       # continuous and bright to its very end
    assert np.mean(along > 0.9) == 1.0              # saturated over the whole body of the line
    assert 10 < widths[0] < 60


def test_c07_bri_as_written_peaks():
    _, rep = run(dot_path(1.5), "BrI")
    assert rep["phases"]["green"]["peak_nm"] == pytest.approx(514, abs=2)
    assert rep["phases"]["red"]["peak_nm"] == pytest.approx(613, abs=2)


def test_c08_bri_heat_treated_red_shift():
    peaks = [run(dot_path(1.5), "BrI", heat_treat_c=t)[1]["phases"]["red"]["peak_nm"] for t in HT_TEMPS]
    assert peaks[0] == pytest.approx(613, abs=2)
    assert peaks[-1] == pytest.approx(647, abs=3)
    assert np.all(np.diff(peaks) >= 0) and peaks[-2] < peaks[-1], peaks


def test_c09_pure_br_heat_treated():
    _, base = run(dot_path(1.5), "Br")
    reports = [run(dot_path(1.5), "Br", heat_treat_c=t)[1] for t in HT_TEMPS]
    shifts = [r["phases"]["green"]["peak_nm"] - base["phases"]["green"]["peak_nm"] for r in reports]
    assert max(abs(s) for s in shifts) <= 3.0 and shifts[-1] > 0.5, shifts
    pl = [total_pl(base)] + [total_pl(r) for r in reports]
    assert np.all(np.diff(pl) > 0) and pl[-1] > 1.5 * pl[0], pl
    assert integrated(base, "red") == 0  # pure Br: green only


def test_c10_bri_green_over_red_at_200_and_ratio_grows():
    reports = [run(dot_path(1.5), "BrI", heat_treat_c=t)[1] for t in HT_TEMPS]
    ratio = [integrated(r, "red") / integrated(r, "green") for r in reports]
    assert ratio[0] < 1.0  # green > red at 200 C
    assert np.all(np.diff(ratio) > 0), ratio


def test_c11_pure_i_quench_and_recovery():
    _, base = run(dot_path(1.5), "I")
    for t in (200, 300, 400, 450):
        _, rep = run(dot_path(1.5), "I", heat_treat_c=t)
        assert total_pl(rep) < 0.3 * total_pl(base), t
    _, hot = run(dot_path(1.5), "I", heat_treat_c=550)
    assert total_pl(hot) / total_pl(base) == pytest.approx(3.0, rel=0.15)
    assert integrated(base, "green") == 0  # pure I: red only


def test_c12_rewrite_of_bri():
    once_pred, once = run(line_path(0.4, passes=1))
    twice_pred, twice = run(line_path(0.4, passes=2))
    assert twice["phases"]["red"]["peak_nm"] == pytest.approx(655, abs=3)
    assert integrated(twice, "red") > 1.5 * integrated(once, "red")
    assert integrated(twice, "green") < 0.3 * integrated(once, "green")
    # the UV colour of the rewritten line is red (and of the single-pass line it is not)
    for pred, red_expected in ((twice_pred, True), (once_pred, False)):
        img = pred.render("uv365").rgb.astype(float)
        bright = img.sum(axis=2) > 0.5 * img.sum(axis=2).max()
        r, g, b = img[bright].mean(axis=0)
        assert (r > 1.5 * g and r > 1.5 * b) == red_expected, (r, g, b)


def _e_and_f():
    e = np.zeros((14, 10), bool)
    e[:, :3] = True
    e[:3, :] = e[-3:, :] = e[6:9, :8] = True
    f = e.copy()
    f[-3:, 3:] = False  # F = E without its bottom bar
    return e, f


def test_c13_three_levels():
    e, f = _e_and_f()
    pred, rep = run(planned([e, f]))
    views = rep["views"]
    assert views["daylight"]["delta_e_ab_written_vs_clear"] < 2.0        # level 1: nothing to see
    assert views["uv365"]["written_to_clear"] > 20                       # level 2: the E glows
    assert views["uv365_lp645"]["rewritten_to_single_pass"] > 10         # level 3: only F
    # UV shows the whole written pattern: every E pixel centre is crystallized
    rows, cols = np.nonzero(e)
    x = 5.0 + (cols + 0.5) * 0.02
    y = 5.0 + (e.shape[0] - 1 - rows + 0.5) * 0.02
    assert np.all(pixel_values(pred, pred.exposure.crystallized, x, y) >= 0.05)
    # a 550 C heat treatment erases level 3 (single-pass red also passes the filter): a prediction
    _, hot = run(planned([e, f]), heat_treat_c=550)
    assert hot["views"]["uv365_lp645"]["rewritten_to_single_pass"] < 0.3 * views["uv365_lp645"]["rewritten_to_single_pass"]
    assert any("erases the filtered" in w for w in hot["warnings"])


@pytest.mark.parametrize("material", ["Br", "BrI"])
def test_c14_green_fwhm(material):
    _, rep = run(dot_path(1.5), material)
    assert 20 <= rep["phases"]["green"]["fwhm_nm"] <= 30


def test_c15_power_mismatch_reported():
    _, rep = run(dot_path(1.5))
    hits = [w for w in rep["warnings"] if "mismatch" in w]
    assert hits and "2.00 W" in hits[0] and "0.50 W" in hits[0]
    point = rep["writing_points"][0]
    assert point["nominal_power_W"] == pytest.approx(2.0) and point["delivered_power_W"] == pytest.approx(0.5)
    # a profile that delivers the full power has nothing to reconcile: no warning
    import dataclasses
    mat = Material.load("BrI")
    full = dataclasses.replace(mat, laser={**mat.laser, "delivered_fraction": 1.0})
    _, rep_full = run(dot_path(1.5), full)
    assert not [w for w in rep_full["warnings"] if "mismatch" in w]


def test_c16_measurement_temperature():
    pred, rep = run(dot_path(1.5), "BrI")
    hot = pred.remeasure(200.0)
    from hardware_sim.glass.report import phase_summary
    cold_s, hot_s = phase_summary(pred), phase_summary(hot)
    for phase in ("green", "red"):
        assert hot_s[phase]["integrated"] < 0.8 * cold_s[phase]["integrated"]   # dimmer
        assert hot_s[phase]["fwhm_nm"] > cold_s[phase]["fwhm_nm"]               # broader
        blue = cold_s[phase]["peak_nm"] - hot_s[phase]["peak_nm"]
        assert 0 < blue < 10                                                    # slightly blue
    back = hot.remeasure(25.0)                                                  # reversible
    assert np.array_equal(back.maps.green, pred.maps.green) and np.array_equal(back.maps.red, pred.maps.red)
    assert phase_summary(back) == cold_s
