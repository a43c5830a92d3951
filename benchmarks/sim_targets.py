"""Every simulator target of PHYSICS.md (C.1-C.16, D.17-D.27): what the paper says, what the model
predicts, computed here from small hand-written G-code jobs (each through the emulated
controller in batch, then the glass model). Prints a Markdown table; `--readme README.md`
rewrites the table between the `sim-targets` markers of the README's simulator section.

    python benchmarks/sim_targets.py [--readme README.md]

The test suite checks each target (`tests/sim/test_sim_targets.py`, `test_history_causal.py`,
`test_physics_limits.py`); this script only reports the numbers. Takes about a minute.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from hardware_sim.glass import thermal
from hardware_sim.glass.focus import focal_shift_factor
from hardware_sim.glass.material import Material
from hardware_sim.glass.phase_model import Treatment, eV_to_nm, phases, red_gap_eV, vegard_iodide
from hardware_sim.glass.report import build_report, phase_summary
from hardware_sim.glass.simulate import sample_phases, simulate
from lasergen.colour import D65_WHITE_XYZ, xyz_to_lab
from lasergen.machine import MachineProfile
from lasergen.pattern import Layer, Pattern
from lasergen.planner import plan
from lasergen.recipe import Recipe

MACHINE = MachineProfile.load()
HEAD = "G21G90G94\n"
BEGIN, END = "<!-- sim-targets:begin -->", "<!-- sim-targets:end -->"


def sim(gcode: str, material="BrI", machine=MACHINE, pitch_um=2.0, **kw):
    pred = simulate(HEAD + gcode, machine, material, pitch_um=pitch_um, **kw)
    return pred, build_report(pred)


def dot(seconds=1.5, s=200, x=5.0, y=5.0):
    return f"G0X{x:.3f}Y{y:.3f}\nG1F24S{s}\nM3\nG4P{seconds:.2f}\nM5\n"


def line(speed_mm_s=0.4, s=200, passes=1):
    out = "G0X4.95Y5\nM3S0\n"
    for p in range(passes):
        a, b = (5.0, 6.0) if p % 2 == 0 else (6.0, 5.0)
        out += f"G1X{a}F{speed_mm_s * 60:g}S0\nG1X{b}S{s}\nG1X{b + (0.05 if b > a else -0.05)}S0\n"
    return out + "M5\n"


def treated(pred, temp_c, hours=2.0):
    t = Treatment(temp_c, hours)
    return replace(pred, treatment=t, maps=sample_phases(pred.exposure, pred.material, t))


def pl(summary):
    return summary["green"]["integrated"] + summary["red"]["integrated"]


def width(rep):
    return rep["features"]["line_width"]["median_um"]


def diameter(rep):
    return rep["features"]["dot_diameter"]["median_um"]


def brightness(pred):
    s = pred.maps.green + pred.maps.red
    return float(s[pred.lit].mean()) if pred.lit.any() else 0.0


def fmt(values, digits=0):
    return " / ".join(f"{v:.{digits}f}" for v in values)


def rows() -> list[tuple[str, str, str, str]]:
    out = []
    add = lambda key, target, paper, model: out.append((key, target, paper, model))
    ht = (200, 300, 400, 450, 500, 550)

    # ---- C targets ----
    dot_br_i, _ = sim(dot(1.5))
    unexposed = phases(np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32), dot_br_i.material, Treatment(550, 100))
    add("C.1", "heat treatment alone", "no PL (XRD amorphous after 500 C)",
        f"PL {float(unexposed.green.max() + unexposed.red.max()):g} after 100 h at 550 C; growth rate 0 below the liquidus")
    areas = {t: sim(dot(t))[1]["crystallized_area_um2"] for t in (0.6, 0.9, 1.0, 1.2)}
    add("C.2", "dot, 200 uJ, 10 kHz: < 1 s dark, >= 1 s lit", "no PL below 1 s",
        "lit area " + ", ".join(f"{t:g} s: {a:.0f} um2" for t, a in areas.items()))
    dots = [sim(dot(t))[1] for t in (1.2, 1.5, 2.0, 3.0)]
    add("C.3", "dot size and PL rise with dwell", "grow with time (tens of um)",
        f"1.2/1.5/2/3 s: {fmt([diameter(r) for r in dots])} um, PL {fmt([pl(r['phases']) for r in dots])}")
    dots = [sim(dot(2.0, s=e))[1] for e in (200, 250, 300)]
    add("C.4", "dot size and PL rise with energy", "grow with energy",
        f"200/250/300 uJ: {fmt([diameter(r) for r in dots])} um, PL {fmt([pl(r['phases']) for r in dots])}")
    for name in ("Br", "BrI", "I"):
        lines = [sim(line(v), name)[1] for v in (0.2, 0.4, 0.6)]
        add("C.5" if name == "Br" else "", f"line width and PL fall with speed ({name})", "narrower, dimmer when faster",
            f"0.2/0.4/0.6 mm/s: {fmt([width(r) for r in lines], 1)} um, PL {fmt([pl(r['phases']) for r in lines])}")
    lines = [sim(line(0.4, s=e))[1] for e in (200, 250, 300)]
    ref_pred, ref = sim(line(0.4))
    xs = np.linspace(5.0, 6.0, 501)
    fr, fc = ref_pred.grid.fractional_index(xs, np.full_like(xs, 5.0))
    along = ref_pred.exposure.crystallized[np.rint(fr).astype(int), np.rint(fc).astype(int)]
    lead = float(xs[np.argmax(along >= 0.5)] - 5.0) * 1000
    add("C.6", "line width and PL rise with energy; 200 uJ, 0.4 mm/s bright and continuous",
        "wider, brighter; the optimum line is bright",
        f"200/250/300 uJ: {fmt([width(r) for r in lines], 1)} um; X >= 0.5 from {lead:.0f} um after the start to the end")
    s = ref["phases"]
    add("C.7", "Br&I as written: peaks", "514 +- 2 and 613 +- 2 nm", f"{s['green']['peak_nm']:.1f} and {s['red']['peak_nm']:.1f} nm")
    reds = [phase_summary(treated(dot_br_i, t))["red"]["peak_nm"] for t in ht]
    add("C.8", "Br&I heat-treated red peak, 200-550 C (2 h)", "613 -> 647 +- 3 nm, monotonic",
        f"{fmt(reds, 1)} nm (300-500 C: prediction)")
    br, _ = sim(dot(1.5), "Br")
    base = phase_summary(br)
    hot = [phase_summary(treated(br, t)) for t in ht]
    add("C.9", "pure Br heat-treated: green shift, PL", "<= 3 nm (2 nm in the paper); PL rises",
        f"shift {hot[-1]['green']['peak_nm'] - base['green']['peak_nm']:+.1f} nm at 550 C; PL x{fmt([pl(h) / pl(base) for h in hot], 2)}")
    ratios = [(lambda p: p["red"]["integrated"] / p["green"]["integrated"])(phase_summary(treated(dot_br_i, t))) for t in ht]
    add("C.10", "Br&I red/green with heat treatment", "green > red at 200 C; red/green grows", f"red/green {fmt(ratios, 2)}")
    i_pred, _ = sim(dot(1.5), "I")
    i0 = pl(phase_summary(i_pred))
    add("C.11", "pure I: quench at 200-450 C, recovery at 550 C", "quenched; PL ~3x after 550 C",
        f"PL x{fmt([pl(phase_summary(treated(i_pred, t))) / i0 for t in ht], 2)} (200..550 C)")
    twice_pred, twice = sim(line(0.4, passes=2))
    img = twice_pred.render("uv365").rgb.astype(float)
    r, g, b = img[img.sum(axis=2) > 0.5 * img.sum(axis=2).max()].mean(axis=0)
    add("C.12", "rewrite of Br&I", "red 655 +- 3 nm, red up, green down, UV red",
        f"{twice['phases']['red']['peak_nm']:.1f} nm; red x{twice['phases']['red']['integrated'] / s['red']['integrated']:.2f}, "
        f"green x{twice['phases']['green']['integrated'] / s['green']['integrated']:.2f}; UV RGB {r:.0f}/{g:.0f}/{b:.0f}")
    e = np.zeros((14, 10), bool)
    e[:, :3] = True
    e[:3, :] = e[-3:, :] = e[6:9, :8] = True
    f = e.copy()
    f[-3:, 3:] = False
    pattern = Pattern(20.0, [Layer(e, "write", "E"), Layer(f, "rewrite", "F")], (5.0, 5.0),
                      {"write": Recipe(), "rewrite": Recipe()})
    levels = build_report(simulate(plan(pattern, MACHINE), MACHINE, "BrI", pitch_um=2.0))["views"]
    add("C.13", "three levels (E written, F rewritten)", "daylight nothing; UV the E; UV + 645 nm only the F",
        f"daylight dE*ab {levels['daylight']['delta_e_ab_written_vs_clear']:.2f}; UV written/clear "
        f"{levels['uv365']['written_to_clear']:.0f}; filtered rewritten/single {levels['uv365_lp645']['rewritten_to_single_pass']:.0f}")
    add("C.14", "green FWHM", "20-30 nm", f"{s['green']['fwhm_nm']:.1f} nm (Br&I), {base['green']['fwhm_nm']:.1f} nm (Br)")
    warning = next(w for w in ref["warnings"] if w.startswith("power mismatch"))
    add("C.15", "200 uJ x 10 kHz vs '500 mW'", "inconsistent in the paper", "reported: " + warning.split(";")[0][:80])
    warm = phase_summary(dot_br_i.remeasure(200.0))
    cold = phase_summary(dot_br_i)
    add("C.16", "measured at 200 C instead of 25 C", "dimmer, broader, slightly blue; reversible",
        f"green PL x{warm['green']['integrated'] / cold['green']['integrated']:.2f}, FWHM +{warm['green']['fwhm_nm'] - cold['green']['fwhm_nm']:.1f} nm, "
        f"{warm['green']['peak_nm'] - cold['green']['peak_nm']:+.2f} nm; identical back at 25 C")

    # ---- D targets ----
    m5 = "G0X5Y5\nM3S0\nG1X6F24S200\nM5\nG0X5Y5\nM3\nG1X6F24S200\nM5\n"
    no_m5 = "G0X5Y5\nM3S0\nG1X6F24S200\nG0X5Y5\nG1X6F24S200\nM5\n"
    dark = "G0X5Y5\nM3\nG1X6F24S150\nM5\nG0X5Y5\nM3\nG1X6F24S200\nM5\n"
    peaks = [sim(g)[1]["phases"]["red"]["peak_nm"] for g in (m5, no_m5, dark)]
    add("D.17", "history, not tokens", "same path with/without M5 alike; a dark first pass is a first write",
        f"red {peaks[0]:.1f} / {peaks[1]:.1f} nm (M5 / none); dark pass then normal {peaks[2]:.1f} nm")
    alone, _ = sim(dot(0.5))
    later, _ = sim(dot(0.5) + "".join(dot(0.5, x=5 + 0.4 * (i % 3), y=5.4 + 0.4 * (i // 3)) for i in range(6)))
    x_at = lambda p: float(p.exposure.crystallized[tuple(np.rint(np.array(p.grid.fractional_index(5.0, 5.0))).astype(int))])
    xe = np.linspace(5.9, 6.1, 201)
    er, ec = ref_pred.grid.fractional_index(xe, np.full_like(xe, 5.0))
    end_x = ref_pred.exposure.crystallized[np.rint(er).astype(int), np.rint(ec).astype(int)]
    past_end = float(xe[len(xe) - 1 - np.argmax(end_x[::-1] >= 0.5)] - 6.0) * 1000
    add("D.18", "causality", "a dot dark alone stays dark with later dots; a line's start lags, its end does not",
        f"X at a 0.5 s dot: {x_at(alone):.2f} alone, {x_at(later):.2f} with later dots; a 0.4 mm/s line has X >= 0.5 from "
        f"{lead:.0f} um after its start to {past_end:.0f} um past its end")
    far = [sim("".join(dot(t, x=5 + 0.4 * (i % 5), y=5 + 0.4 * (i // 5)) for i in range(25)))[1]["crystallized_area_um2"]
           for t in (0.50, 0.51)]
    mat = Material.load("BrI")
    add("D.19", "locality", "no interaction over several hundred um; no 0.50/0.51 s cliff",
        f"25 sub-threshold dots 400 um apart: lit {far[0]:.0f} / {far[1]:.0f} um2 (0.50 / 0.51 s); reach: melt overlap "
        f"2 x {thermal.melt_radius_um(mat, 200, 10):.0f} um, heat per pulse period {float(thermal.pulse_diffusion_um(mat, 10)):.1f} um")
    tight = Material.from_dict({**_profile_dict("BrI"), "thermal": {**mat.thermal, "r0_um": 1.0}})
    high, high_rep = sim(dot(1.5), machine=dataclasses.replace(MACHINE, rep_rate_kHz=100.0))
    point = high_rep["writing_points"][0]
    add("D.20", "repetition rate", "accumulation above a few hundred kHz (tight focus); no absurd temperatures",
        f"accumulation at 10 kHz / 1 MHz: {float(thermal.accumulation(tight, 10)):.2f} / {float(thermal.accumulation(tight, 1000)):.2f} "
        f"(1 um focus), {float(thermal.accumulation(mat, 10)):.2f} / {float(thermal.accumulation(mat, 1000)):.2f} (10 um); "
        f"100 kHz: damaged={point['damaged']}, reported <= {point['centre_temperature_K']:.0f} K, warned")
    deep, deep_rep = sim("G0X5Y5Z0\nM3\nG1X6F24S200\nM5\nG0X5Y5Z2\nM3\nG1X6F24S200\nM5\n")
    add("D.21", "depth", "exposures far apart in depth do not interact",
        f"Z 0 and 2 mm (focus {2000 * focal_shift_factor(mat):.0f} um deeper): {len(deep.exposure.planes)} planes, "
        f"red {deep_rep['phases']['red']['peak_nm']:.1f} nm (two first writes)")
    energies = (150, 175, 200, 250, 300)
    by_e = [brightness(sim(line(0.4, s=e))[0]) for e in energies]
    by_v = {v: brightness(sim(line(v))[0]) for v in (0.2, 0.4, 2.0)}
    erase_pred, _ = sim(dot(1.5) + dot(0.3, s=350))
    core = lambda p: float((p.maps.green + p.maps.red)[tuple(np.rint(np.array(p.grid.fractional_index(5.0, 5.0))).astype(int))])
    clamp_pred, clamp_rep = sim(dot(1.5, s=1500))
    add("D.22", "upper limit, erasure, clamp", "optimum near 200 uJ / 0.4 mm/s; a strong second irradiation erases",
        f"brightness peaks at {energies[int(np.argmax(by_e))]} uJ ({fmt(by_e, 2)}); 0.2/0.4/2 mm/s {fmt(by_v.values(), 2)}; "
        f"dot centre PL {core(dot_br_i):.2f} -> {core(erase_pred):.2f} after 350 uJ 0.3 s; S1500 -> "
        f"{clamp_pred.history.exposures().energy_uJ.max():g} uJ, flagged")
    x1 = np.ones((2, 2), np.float32)
    aged = {n: (lambda m: float(phases(x1, 0 * x1, m, Treatment(25.0, 365 * 24.0)).red.sum() + phases(x1, 0 * x1, m, Treatment(25.0, 365 * 24.0)).green.sum())
                / float(phases(x1, 0 * x1, m).red.sum() + phases(x1, 0 * x1, m).green.sum()))(Material.load(n)) for n in ("Br", "BrI", "I")}
    add("D.23", "stability at room temperature", "PL kept 180 days in water; pure I stable",
        "a year at 25 C: PL x" + ", ".join(f"{v:.3f} ({k})" for k, v in aged.items()))
    x_w = vegard_iodide(29.7)
    add("D.24", "iodide and the red peak", "XRD 29.7 deg: x ~ 0.53 -> 613 nm; rewrite 655 nm: more iodide",
        f"x = {x_w:.3f} -> {float(eV_to_nm(red_gap_eV(mat, x_w))):.1f} nm; rewritten core x = "
        f"{mat.chemistry['iodide_as_written'] + (mat.chemistry['iodide_max'] - mat.chemistry['iodide_as_written']) * 0.909:.2f}")
    rec = {t: phases(x1, 0 * x1, Material.load("I"), Treatment(t, 2.0)).factors["recombination"] for t in (None, 300.0, 550.0)}
    add("D.25", "pure-I lifetime with PL", "120 ns; ~2000 ns quenched (200-450 C); 153 ns, PL ~3x (550 C); I/Pb 3.01/2.97/3.07",
        " | ".join(f"{r['lifetime_ns']:.0f} ns, I/Pb {r['halide_to_lead']:.2f}" for r in rec.values()).replace(" | ", "; ")
        + f"; PL x{pl(phase_summary(treated(i_pred, 300))) / i0:.2f} / x{pl(phase_summary(treated(i_pred, 550))) / i0:.2f}")
    li, li_rep = sim(line(0.4), "BrLi")
    br_line, br_rep = sim(line(0.4), "Br")
    add("D.26", "Li-doped glass", "Ea 130.04 -> 125.35 kJ/mol, PLQY +39 %, FWHM 25.6 -> 26.5 nm, 38.63 -> 41.08 ns",
        f"Ea {li.material.kinetics['activation_kJ_mol']} kJ/mol; green PL x{li_rep['phases']['green']['integrated'] / br_rep['phases']['green']['integrated']:.2f} "
        f"(PLQY and faster growth); FWHM {br_rep['phases']['green']['fwhm_nm']:.1f} -> {li_rep['phases']['green']['fwhm_nm']:.1f} nm; "
        f"{br_rep['model_factors']['recombination']['lifetime_ns']:.2f} -> {li_rep['model_factors']['recombination']['lifetime_ns']:.2f} ns")
    y = dot_br_i.xyz("daylight")[..., 1]
    contrast = 1 - float(y[dot_br_i.lit].min()) / float(y[~dot_br_i.lit].mean())
    qr = np.kron(np.random.default_rng(3).random((25, 25)) > 0.5, np.ones((2, 2), bool))
    qr_pred = simulate(plan(Pattern(20.0, [Layer(qr, "write", "qr")], (5.0, 5.0), {"write": Recipe()}), MACHINE),
                       MACHINE, "BrI", pitch_um=4.0)
    sample = qr_pred.sample_at(100.0)
    xyz = qr_pred.xyz("daylight", sample)
    w = sample.crystallized > 0.25
    lab = xyz_to_lab(np.stack([xyz[w].mean(axis=0), xyz[~w].mean(axis=0)]).astype(float) / D65_WHITE_XYZ[1])
    add("D.27", "daylight", "a dot visible under a microscope; a QR 'no significant differences'",
        f"dot {100 * contrast:.1f} % darker than clear glass at 2 um/px; 1 mm QR at 0.1 mm resolution dE*ab "
        f"{float(np.linalg.norm(lab[0] - lab[1])):.2f}")
    return out


def _profile_dict(name):
    import tomllib

    from hardware_sim.glass.material import MATERIAL_DIR

    return tomllib.loads((MATERIAL_DIR / f"{name}.toml").read_text())


def table(entries) -> str:
    lines = ["| target | what | paper | model |", "|---|---|---|---|"]
    lines += [f"| {k} | {t} | {p} | {m} |" for k, t, p, m in entries]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", type=Path, help="rewrite the table between the sim-targets markers of this file")
    args = ap.parse_args(argv)
    text = table(rows())
    print(text)
    if args.readme:
        readme = args.readme.read_text()
        if BEGIN not in readme or END not in readme:
            print(f"sim_targets: {args.readme} has no {BEGIN} ... {END} markers", file=sys.stderr)
            return 2
        new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: f"{BEGIN}\n{text}\n{END}", readme, flags=re.S)
        args.readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
