"""Writing in depth: z through planner, manifest, both back-ends and the motion model; the focus
model against hand-computed values; depth sources; views focused at a depth; the CLI end to end."""

from lasergen import Job
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from lasergen import LasergenError
from lasergen.backends.grbl.gcode.reader import read_program
from lasergen.focus import Focus, fit_plane, shift_factor
from lasergen.job import read_job, render_job
from lasergen import MachineProfile
from lasergen import Layer, Pattern
from lasergen.planner import plan
from lasergen.recipe import PRESETS
from lasergen_cli import main

REPO = Path(__file__).resolve().parents[1]
GRBL, PI = MachineProfile.load("default"), MachineProfile.load("pi-c884")
SHIFT = math.tan(math.asin(0.25)) / math.tan(math.asin(0.25 / 1.5))  # 0.258199 / 0.169031 = 1.527525


def two_planes(mode="write"):
    mask = np.zeros((8, 8), bool)
    mask[1:7, 1:7] = True
    layers = [Layer(mask, mode, "top", depth_um=150.0), Layer(mask, mode, "bottom", depth_um=350.0)]
    return Pattern(20.0, layers, (10.0, 10.0), dict(PRESETS), {})


@pytest.mark.parametrize("machine", [GRBL, PI], ids=["grbl", "pi_gcs"])
@pytest.mark.parametrize("mode", ["write", "dots"])
def test_z_round_trips_through_each_back_end_and_planes_run_deepest_first(machine, mode):
    pattern = two_planes(mode)
    path = Job.plan(pattern, machine).toolpath
    text = render_job(pattern, path, machine)
    got = read_job(text, machine).toolpath
    assert len(got) == len(path)
    for col in ("z0", "z1", "x1", "y1"):
        assert np.allclose(getattr(got, col), getattr(path, col), atol=1e-4), col
    marks = path.is_mark
    first_plane = path.layer[marks][0]
    assert pattern.layers[first_plane].name == "bottom"  # 350 um before 150 um
    assert np.allclose(path.z1[marks & (path.layer == 1)], 350.0 / (1000 * SHIFT), atol=1e-6)
    manifest = read_job(text, machine).manifest
    assert manifest["depths_um"] == [350.0, 150.0] and manifest["depth_order"] == "deepest first"
    assert manifest["focus"]["model"] == "marginal"


def test_grbl_z_lines_are_short_and_the_interpreter_reads_them_as_the_fast_reader_does():
    pattern = two_planes()
    path = Job.plan(pattern, GRBL).toolpath
    body = [ln for ln in render_job(pattern, path, GRBL).splitlines() if not ln.startswith(";@")]
    z_lines = [ln for ln in body if "Z" in ln and not ln.startswith(";")]
    assert any(ln.startswith("G0Z") for ln in z_lines) and all(len(ln) < 80 for ln in body)
    slow = read_program(body, GRBL).toolpath  # the interpreter: GRBL's own grammar and modal rules
    fast = read_job("\n".join(body) + "\n", GRBL).toolpath
    assert np.allclose(slow.z1, fast.z1) and np.allclose(slow.x1, fast.x1) and slow.z1.max() > 0.2


def test_z_moves_are_timed_by_the_motion_model(tmp_path):
    from lasergen.job import estimate_job_file

    deep = two_planes()
    job = tmp_path / "deep.gcode"
    job.write_text(Job.plan(deep, GRBL).text)
    est, _ = estimate_job_file(job)
    # two Z moves: 0 -> 350 um deep (0.2291 mm), then up to 150 um (0.0982 mm): 0.3600 mm in all
    assert est["z_travel_mm"] == pytest.approx(0.2291 + (0.2291 - 0.0982), abs=2e-4)
    # each too short to reach $112 = 5 mm/s at $122 = 50 mm/s^2: at most a triangle from rest to
    # rest, t = 2 sqrt(d / a); at least accelerating all the way (GRBL's planner carries the
    # junction speed into the XY rapid after it), t = sqrt(2 d / a)
    d = (0.2291, 0.1309)
    assert sum(math.sqrt(2 * x / 50) for x in d) < est["z_travel_time_s"] < sum(2 * math.sqrt(x / 50) for x in d)
    assert est["z_travel_time_s"] < est["travel_time_s"]


def test_focus_shift_against_hand_computed_values():
    assert shift_factor(0.25, 1.5) == pytest.approx(1.527525, rel=1e-6)
    assert shift_factor(0.25, 1.5, model="paraxial") == 1.5
    assert shift_factor(0.8, 1.5) == pytest.approx(math.tan(math.asin(0.8)) / math.tan(math.asin(0.8 / 1.5)), rel=1e-12)
    assert shift_factor(0.8, 1.5) == pytest.approx(2.11476, rel=1e-5)  # 1.33333 / 0.63048
    f = Focus(1.5, 0.25, 10.6, 1.0, model="paraxial")
    assert f.z_mm(0, 0, 300.0) == pytest.approx(0.2)  # z_stage = depth / n
    down = Focus(1.5, 0.25, 10.6, 1.0, z_axis="shallower", plane=(5.0, 0.0, 0.0))
    assert down.z_mm(0, 0, 300.0) == pytest.approx(5.0 - 0.3 / SHIFT)
    assert down.depth_um(0, 0, down.z_mm(0, 0, 300.0)) == pytest.approx(300.0)


def test_a_tilted_surface_is_written_at_constant_depth():
    (z0, a, b), rms = fit_plane([[0, 0, 1.0], [10, 0, 1.01], [0, 10, 0.98], [10, 10, 0.99]])
    assert (z0, a, b) == pytest.approx((1.0, 0.001, -0.002), abs=1e-12) and rms < 1e-12
    machine = MachineProfile.from_dict({**_profile_dict(), "focus": {**_focus_dict(),
                                        "surface_points_mm": [[0, 0, 1.0], [10, 0, 1.01], [0, 10, 0.98]]}})
    pattern = two_planes()
    path = Job.plan(pattern, machine).toolpath
    f = Focus.from_table(dict(machine.focus))
    marks = path.is_mark
    depth = f.depth_um(path.x1[marks], path.y1[marks], path.z1[marks])
    assert set(np.round(depth, 3)) == {150.0, 350.0}
    assert np.ptp(path.z1[marks & (path.layer == 0)]) > 1e-4  # Z follows the tilt along the plane


def _profile_dict():
    import tomllib
    return tomllib.loads((REPO / "lasergen/profiles/grbl-default.toml").read_text())


def _focus_dict():
    return dict(_profile_dict()["focus"])


@pytest.mark.parametrize("focus, says", [
    ({"surface_points_mm": [[0, 0, 0], [1, 1, 0]]}, "three or more"),
    ({"surface_points_mm": [[0, 0, 0], [1, 1, 0], [2, 2, 0]]}, "one line"),
    ({"numerical_aperture": 1.2}, "below the immersion index"),
    ({"surface_tilt": [0.0, 0.0], "surface_points_mm": [[0, 0, 0], [1, 0, 0], [0, 1, 0]]}, "not both"),
    ({"model": "wavefront"}, "model"),
])
def test_bad_focus_tables_are_one_line_refusals(focus, says):
    with pytest.raises(LasergenError, match=says):
        MachineProfile.from_dict({**_profile_dict(), "focus": {**_focus_dict(), **focus}})


@pytest.mark.parametrize("args, says", [
    (["--depth-um", "1500"], "beyond the glass thickness"),
    (["--depth-um", "-5"], "depth"),
    (["--depth-um", "150", "--machine", str(REPO / "tests" / "no-such.toml")], ""),
])
def test_cli_refuses_bad_depths_with_one_line_and_exit_2(tmp_path, args, says):
    result = CliRunner().invoke(main, ["qr", "hi", "-o", str(tmp_path / "q.gcode"), *args])
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output


def test_a_machine_without_focus_refuses_a_depth():
    flat = MachineProfile.from_dict({k: v for k, v in _profile_dict().items() if k != "focus"})
    with pytest.raises(LasergenError, match="no \\[focus\\] table"):
        plan(two_planes(), flat)


def _stack(path: Path, pages: int):
    images = []
    for i in range(pages):
        im = Image.new("L", (20, 20), 255)
        ImageDraw.Draw(im).rectangle([2 + 3 * i, 2, 6 + 3 * i, 14], fill=0)
        images.append(im)
    images[0].save(path, save_all=True, append_images=images[1:])


def test_tiff_stack_one_page_per_depth(tmp_path):
    tif = tmp_path / "stack.tif"
    _stack(tif, 4)
    runner = CliRunner()
    refused = runner.invoke(main, ["bitmap", str(tif), "-o", str(tmp_path / "a.gcode")])
    assert refused.exit_code == 2 and "4 pages" in refused.output  # never page 1 silently
    wrong = runner.invoke(main, ["bitmap", str(tif), "--depths-um", "100:300:100", "-o", str(tmp_path / "b.gcode")])
    assert wrong.exit_code == 2 and "4 page(s) but 3 depth(s)" in wrong.output
    ok = runner.invoke(main, ["bitmap", str(tif), "--depths-um", "100:400:100", "-o", str(tmp_path / "vol.gcode")])
    assert ok.exit_code == 0, ok.output
    job = read_job(tmp_path / "vol.gcode")
    assert job.manifest["depths_um"] == [400.0, 300.0, 200.0, 100.0]
    per_layer = [layer["depth_um"] for layer in job.manifest["layers"]]
    assert per_layer == [100.0, 200.0, 300.0, 400.0]  # page i at depth i
    for bad in ("100:400", "100:400:0", "a,b", "400:100:100"):
        r = runner.invoke(main, ["bitmap", str(tif), "--depths-um", bad, "-o", str(tmp_path / "c.gcode")])
        assert r.exit_code == 2 and r.output.startswith("lasergen: error:"), bad


def test_depth_stack_plan_simulate_verify_through_the_cli(tmp_path):
    """The two-plane stack: each plane's QR decodes from its own depth's render and not from the
    other's; a phone sees both planes superimposed (neither decodes) and verify says why."""
    from hardware_sim.glass.verify import decode_qr

    runner = CliRunner()
    job = tmp_path / "stack.gcode"
    r = runner.invoke(main, ["pattern", str(REPO / "patterns" / "depth_stack.toml"), "-o", str(job)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["simulate", str(job), "--out", str(tmp_path / "sim")])
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "sim" / "report.json").read_text())
    assert report["depths_um"] == [150.0, 350.0] and report["reader"]["numerical_aperture"] == 0.3
    for view in ("daylight", "uv365", "uv365_lp645"):
        assert view in report["renders"] and f"{view}@150um" in report["renders"]
    code, decoy = "https://example.org/p/0003", "https://example.org/decoy"
    read = {d: decode_qr(np.asarray(Image.open(tmp_path / "sim" / report["renders"][f"uv365@{d}um"]).convert("RGB")))
            for d in (150, 350)}
    assert code in read[150] and decoy not in read[150]
    assert decoy in read[350] and code not in read[350]
    r = runner.invoke(main, ["verify", str(job), "--no-margin", "--json"])
    checks = json.loads(r.output)["checks"]
    assert r.exit_code == 0 and {c["view"] for c in checks if c["ok"]} == {"uv365@150um", "uv365@350um"}
    r = runner.invoke(main, ["simulate", str(job), "--reader", "phone", "--out", str(tmp_path / "phone")])
    phone = json.loads((tmp_path / "phone" / "report.json").read_text())
    assert any("too close" in w for w in phone["warnings"])
    img = np.asarray(Image.open(tmp_path / "phone" / phone["renders"]["uv365@150um"]).convert("L"), float)
    ref = {d: np.asarray(Image.open(tmp_path / "sim" / report["renders"][f"uv365@{d}um"]).convert("L"), float)
           for d in (150, 350)}
    # the phone's view at one depth holds both planes: it correlates with each microscope view alike
    corr = [np.corrcoef(img.ravel(), ref[d].ravel())[0, 1] for d in (150, 350)]
    assert min(corr) > 0.5 and abs(corr[0] - corr[1]) < 0.1


def test_an_out_of_focus_plane_is_blurred_by_its_gaussian_on_the_coarse_grid():
    """`defocus_sum` blurs far-off planes on a coarser grid: within 3 % of the full-grid Gaussian."""
    from scipy.ndimage import gaussian_filter

    from hardware_sim.glass.depth_view import defocus_sum

    rng = np.random.default_rng(1)
    mask = np.pad(np.kron(rng.random((20, 20)) > 0.5, np.ones((15, 15))), 80).astype(np.float32)
    zero = np.zeros_like(mask)
    for sigma_px in (0.2, 3.0, 7.6, 15.3):
        green, _, _, clear, _ = defocus_sum([(mask, zero, zero, 1 - mask, zero)], [sigma_px])
        want = mask if sigma_px < 0.3 else gaussian_filter(mask, sigma_px, mode="constant")
        assert np.abs(green - want).max() < 0.03 and np.abs((1 - clear) - want).max() < 0.03
    # two planes at one depth: the one in focus stays sharp, the other adds its blurred light
    green = defocus_sum([(mask, zero, zero, 1 - mask, zero), (mask.T, zero, zero, 1 - mask.T, zero)], [0.1, 10.0])[0]
    assert np.abs(green - mask - gaussian_filter(mask.T, 10.0, mode="constant")).max() < 0.03


def test_the_glass_model_puts_a_tilted_samples_planes_at_constant_depth(tmp_path):
    """A sample tilted by 1 um per mm in X and -2 um per mm in Y, written at 150 and 350 um: Z
    follows the tilt, and the glass model, reading the job's surface plane, predicts two flat
    planes at those depths (at the (0, 0) height alone they would lie ~15 um shallower, sloped)."""
    from hardware_sim.glass import focus as glass_focus
    from hardware_sim.glass.simulate import simulate_job

    machine = MachineProfile.from_dict({**_profile_dict(), "focus": {**_focus_dict(),
                                        "surface_points_mm": [[0, 0, 1.0], [10, 0, 1.01], [0, 10, 0.98]]}})
    pattern = two_planes()
    job = tmp_path / "tilted.gcode"
    job.write_text(render_job(pattern, plan(pattern, machine), machine))
    prediction, _ = simulate_job(job, machine, pitch_um=4.0)
    assert [round(p.depth_um, 1) for p in sorted(prediction.exposure.planes, key=lambda p: p.depth_um)] == [150.0, 350.0]
    exp = prediction.history.exposures()
    depth = glass_focus.depth_um(prediction.material, exp.z1, exp.x1, exp.y1)
    for want in (150.0, 350.0):
        near = np.abs(depth - want) < 20
        assert near.any() and np.ptp(depth[near]) < 0.5  # flat to the Z word's 0.1 um (x 1.53)
