"""`lasergen frame` through sim:// on both back-ends: the device's own beam history shows the
beam never on, and the executed moves visit the four corners of the job's beam-on bounds."""

import itertools

import numpy as np
import pytest
from click.testing import CliRunner

from hardware_sim.device import forget_device, get_device
from lasergen.calib.frame import beam_bounds_mm
from lasergen.job import read_job
from lasergen_cli import main

_names = itertools.count()


@pytest.fixture
def device():
    name = f"frame-test-{next(_names)}"
    yield name
    forget_device(name)
    forget_device(f"{name}:attenuator")


def _job(tmp_path, machine, mode="raster", name="qr"):
    out = tmp_path / (f"{name}.gcode" if machine == "grbl-default" else f"{name}.job")
    result = CliRunner().invoke(main, ["qr", "frame", "-o", str(out), "--origin", "12,14", "--machine", machine,
                                       "--mode", mode])
    assert result.exit_code == 0, result.output
    return out


def _stops(device, machine):
    """Where the stage stood after each executed move (x, y): the GRBL emulator's beam history
    keeps travel too; the PI emulator's keeps beam-on intervals only, so its own motion record
    (the moves the gate is laid over) is read there."""
    if machine == "grbl-default":
        path = get_device(device).executed_toolpath()
        return np.column_stack([path.x1, path.y1])
    moves = get_device(device).call(lambda emu: [after[:2] for *_, after in emu.beam.history])  # X, Y (Z third)
    return np.array(moves, float)


def _corners_visited(ends, bounds, tol=1e-3):
    x0, y0, x1, y1 = bounds
    return [bool((np.abs(ends - c).max(axis=1) < tol).any()) for c in [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]]


@pytest.mark.parametrize("machine", ["grbl-default", "pi-c884"])
@pytest.mark.parametrize("mode", ["raster", "dots"])
def test_frame_traces_the_bounds_with_the_beam_off(tmp_path, device, machine, mode):
    job = _job(tmp_path, machine, mode)
    bounds = beam_bounds_mm(read_job(job).toolpath)
    result = CliRunner().invoke(main, ["frame", str(job), "--port", f"sim://?machine={machine}&device={device}",
                                       "--loops", "2", "--json"])
    assert result.exit_code == 0, result.output
    history = get_device(device).ledger()
    executed = get_device(device).executed_toolpath()
    assert not history.beam_on.any() and not (history.energy_uJ > 0).any()
    assert not executed.is_mark.any()
    ends = _stops(device, machine)
    assert all(_corners_visited(ends, bounds))
    assert (ends >= np.array(bounds[:2]) - 1e-3).all() and (ends <= np.array(bounds[2:]) + 1e-3).all()


def test_frame_bounds_hold_the_raster_lead_ins(tmp_path):
    path = read_job(_job(tmp_path, "grbl-default", "raster")).toolpath
    marks = path.mark_bounds_mm()
    framed = beam_bounds_mm(path)
    assert framed[0] < marks[0] and framed[2] > marks[2]  # the lead-ins run with M3 on at S0
    assert framed[1] == pytest.approx(marks[1]) and framed[3] == pytest.approx(marks[3])


def test_frame_goes_to_the_safe_height_first(tmp_path, device):
    job = _job(tmp_path, "grbl-default")
    result = CliRunner().invoke(main, ["frame", str(job), "--port", f"sim://?device={device}", "--z-safe-mm", "2.5"])
    assert result.exit_code == 0, result.output
    history = get_device(device).ledger()
    moved = np.flatnonzero((history.x0 != history.x1) | (history.y0 != history.y1))
    assert np.allclose(history.z1, 2.5) and np.allclose(history.z0[moved], 2.5)  # no XY move below it
    assert not history.beam_on.any()


def test_frame_job_holds_no_beam_on_command(tmp_path):
    from lasergen.calib.frame import frame_job_text

    for machine, forbidden in [("grbl-default", ("M3", "M4")), ("pi-c884", ("TRO 1 1", "MAC START", "DIO 1 1"))]:
        text, _ = frame_job_text(read_job(_job(tmp_path, machine)), 5.0, 3)
        body = "\n".join(line for line in text.splitlines() if not line.startswith(";"))
        if machine == "pi-c884":  # the prologue defines the dot macro (inside MAC BEG..END), never runs it
            body = body.split("MAC END", 1)[1]
        assert not any(word in body for word in forbidden), body


def _small_machine(tmp_path):
    from lasergen.machine import PROFILE_DIR

    text = (PROFILE_DIR / "grbl-default.toml").read_text().replace("x_mm = [0.0, 100.0]", "x_mm = [0.0, 12.2]")
    path = tmp_path / "small.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("args, says", [
    (["--machine", "SMALL"], "outside the travel"),
    (["--z-safe-mm", "11"], "outside the Z travel"),
    (["--speed-mm-s", "80"], "max rate"),
    (["--loops", "0"], "--loops"),
])
def test_frame_refusals_are_one_line_exit_2(tmp_path, device, args, says):
    job = _job(tmp_path, "grbl-default")
    args = [str(_small_machine(tmp_path)) if a == "SMALL" else a for a in args]
    result = CliRunner().invoke(main, ["frame", str(job), "--port", f"sim://?device={device}", *args])
    assert result.exit_code == 2 and says in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
