"""Alignment: synthetic camera photos of a known stage pose -> the job moved onto the sample."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from lasergen.calib.align import Rigid, camera_from_references, kabsch, min_area_rectangle
from lasergen.job import read_job
from lasergen.toolpath import DWELL
from lasergen_cli import main
from tests.calib.photos import to_srgb8

PX_PER_MM = 220.0
CAMERA_ANGLE_DEG = 2.0
SHAPE = (1500, 2000)


def _camera_matrix(centre_mm):
    """photo px -> machine mm: 220 px per mm, turned 2 degrees, image y down."""
    a = math.radians(CAMERA_ANGLE_DEG)
    A = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ np.diag([1, -1]) / PX_PER_MM
    t = np.asarray(centre_mm) - A @ np.array([SHAPE[1] / 2, SHAPE[0] / 2])
    return np.array([[*A[0], t[0]], [*A[1], t[1]], [0, 0, 1.0]])


def _camera_file(tmp_path, H):
    """Two reference moves, as a user records them: machine positions and where they show in the photo."""
    inv = np.linalg.inv(H)
    lines = []
    for machine in (np.array([H[0, 2] + 1.0, H[1, 2] - 1.0]), np.array([H[0, 2] + 5.0, H[1, 2] - 3.0])):
        p = inv @ np.array([*machine, 1.0])
        lines += ["[[reference]]", f"machine_mm = [{float(machine[0])!r}, {float(machine[1])!r}]",
                  f"photo_px = [{float(p[0] / p[2])!r}, {float(p[1] / p[2])!r}]", ""]
    path = tmp_path / "camera.toml"
    path.write_text("\n".join(lines))
    return path


def _photo(H, inside, path):
    y, x = np.mgrid[0:SHAPE[0], 0:SHAPE[1]].astype(float)
    X = H[0, 0] * x + H[0, 1] * y + H[0, 2]
    Y = H[1, 0] * x + H[1, 1] * y + H[1, 2]
    lit = inside(X, Y).astype(np.float32)
    rgb = 0.01 + lit[..., None] * np.array([0.3, 0.6, 0.1], np.float32)
    rgb += np.random.default_rng(0).normal(0, 0.005, rgb.shape).astype(np.float32)
    from PIL import Image
    Image.fromarray(to_srgb8(rgb)).save(path)
    return path


def test_two_reference_moves_give_the_camera_map():
    H = _camera_matrix((30.0, 30.0))
    photo = np.array([[100.0, 200.0], [1500.0, 900.0]])
    machine = (H @ np.column_stack([photo, np.ones(2)]).T).T[:, :2]
    np.testing.assert_allclose(camera_from_references(photo, machine), H, atol=1e-9)


def test_kabsch_and_rectangle_recover_known_poses():
    rng = np.random.default_rng(3)
    src = rng.random((6, 2)) * 10
    truth = Rigid(12.5, 3.0, -2.0)
    rigid, rms = kabsch(src, np.column_stack(truth.apply(src[:, 0], src[:, 1])))
    assert rigid.angle_deg == pytest.approx(12.5) and rms < 1e-9
    box = np.array([[0, 0], [6, 0], [6, 4], [0, 4.0]])
    pts = np.column_stack(Rigid(20, 1, 1).apply(*(np.r_[box, rng.random((50, 2)) * [6, 4]].T)))
    corners = min_area_rectangle(pts)
    (ax, ay), (bx, by) = corners[1] - corners[0], corners[3] - corners[0]
    area = abs(ax * by - ay * bx)
    assert area == pytest.approx(24.0, rel=1e-6)


def test_a_grid_put_back_turned_is_found_by_its_fiducials(tmp_path):
    job = tmp_path / "grid.gcode"
    assert CliRunner().invoke(main, ["calibrate", "grid", "--energies", "150,200", "--dwells", "1,2",
                                     "-o", str(job), "--origin", "30,30"]).exit_code == 0
    grid = read_job(job).manifest["promises"]
    moved = Rigid(4.0, 0.6, -2.9)  # the sample was taken off and put back
    back = Rigid(-4.0, 0.0, 0.0)
    ox, oy = grid["origin_mm"]
    top = oy + grid["size_um"][1] / 1000

    def inside(X, Y):
        bx, by = back.apply(X - moved.dx_mm, Y - moved.dy_mm)
        u, v = (bx - ox) * 1000, (top - by) * 1000
        out = np.zeros(X.shape, bool)
        for f in grid["fiducials"]:
            du, dv = np.abs(u - f["centre_um"][0]), np.abs(v - f["centre_um"][1])
            sq = (du < f["side_um"] / 2) & (dv < f["side_um"] / 2)
            out |= sq & ~((du < f["hole_um"] / 2) & (dv < f["hole_um"] / 2))
        return out

    H = _camera_matrix((31.5, 30.0))
    photo = _photo(H, inside, tmp_path / "stage.png")
    out = tmp_path / "grid.aligned.gcode"
    result = CliRunner().invoke(main, ["align", str(photo), "--job", str(job), "--camera", str(_camera_file(tmp_path, H)),
                                       "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["transform"]["angle_deg"] == pytest.approx(4.0, abs=0.1)
    assert record["rms_residual_mm"] < 0.01
    aligned = read_job(out)  # the checksum matches the new body
    assert aligned.manifest["alignment"]["method"] == "fiducials"
    dots = aligned.toolpath.is_dwell
    got = np.column_stack([aligned.toolpath.x0[dots], aligned.toolpath.y0[dots]])
    before = read_job(job).toolpath
    want = np.column_stack(moved.apply(before.x0[before.kind == DWELL], before.y0[before.kind == DWELL]))
    assert np.abs(got - want).max() < 0.01  # every cell lands within 10 um of where the sample put it


def test_a_job_is_placed_inside_the_glass_corner(tmp_path):
    job = tmp_path / "qr.gcode"
    assert CliRunner().invoke(main, ["qr", "hello", "-o", str(job), "--origin", "10,10"]).exit_code == 0
    glass = Rigid(7.0, 20.0, 15.0)  # 6 x 4 mm plate, bottom-left at (20, 15), turned 7 degrees

    def inside(X, Y):
        u, v = Rigid(-7.0, 0, 0).apply(X - 20.0, Y - 15.0)
        return (u > 0) & (u < 6) & (v > 0) & (v < 4)

    H = _camera_matrix((22.5, 17.5))
    photo = _photo(H, inside, tmp_path / "glass.png")
    out = tmp_path / "qr.aligned.gcode"
    result = CliRunner().invoke(main, ["align", str(photo), "--job", str(job), "--camera", str(_camera_file(tmp_path, H)),
                                       "--find", "corners", "--margin-mm", "0.3", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["transform"]["angle_deg"] == pytest.approx(7.0, abs=0.3)
    bl = np.array(record["sample_corners_mm"][0])
    assert np.abs(bl - [20.0, 15.0]).max() < 0.02
    marks = read_job(out).toolpath
    on = marks.is_mark
    xs, ys = np.r_[marks.x0[on], marks.x1[on]], np.r_[marks.y0[on], marks.y1[on]]
    u, v = Rigid(-7.0, 0, 0).apply(xs - 20.0, ys - 15.0)
    assert u.min() == pytest.approx(0.3, abs=0.03) and v.min() == pytest.approx(0.3, abs=0.03)
    assert u.max() < 6 and v.max() < 4  # the whole job lies on the glass


def test_placements_outside_the_travel_and_bad_camera_files_are_refused(tmp_path):
    job = tmp_path / "qr.gcode"
    CliRunner().invoke(main, ["qr", "hello", "-o", str(job)])
    H = _camera_matrix((100.0, 50.0))
    photo = _photo(H, lambda X, Y: (X > 99.6) & (X < 103.0) & (Y > 49) & (Y < 51), tmp_path / "edge.png")
    result = CliRunner().invoke(main, ["align", str(photo), "--job", str(job), "--camera", str(_camera_file(tmp_path, H)),
                                       "--find", "corners", "-o", str(tmp_path / "x.gcode")])
    assert result.exit_code == 2 and "outside the travel" in result.output  # the glass reaches past X 100 mm
    for text, message in [("[camera]\nhomography = [[1, 0], [0, 1]]\n", "3 x 3"),
                          ("[[reference]]\nmachine_mm = [1, 2]\nphoto_px = [3, 4]\n", "at least two"),
                          ("[lens]\nf = 1\n", "unknown table"),
                          ("[[reference]]\nmachine_mm = [1, 2]\nphoto_px = [3, 4]\n[[reference]]\n"
                           "machine_mm = [1, 2]\nphoto_px = [3, 4]\n", "different places")]:
        camera = tmp_path / "bad.toml"
        camera.write_text(text)
        result = CliRunner().invoke(main, ["align", str(photo), "--job", str(job), "--camera", str(camera),
                                           "-o", str(tmp_path / "x.gcode")])
        assert result.exit_code == 2 and message in result.output, (text, result.output)
