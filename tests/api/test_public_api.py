"""The public library API (issue 16): the five-line notebook session works as written, loading
says where a job comes from, objects show themselves, and the public surface is a deliberate
list (tests/api/api_snapshot.txt)."""

import io
import subprocess
import sys

import pytest
from PIL import Image

import lasergen as lg
from lasergen import LasergenError

from tests.api.snapshot import SNAPSHOT, surface


@pytest.fixture(scope="module")
def machine():
    return lg.machine("grbl-default")


@pytest.fixture(scope="module")
def job(machine):
    return lg.qr("https://example.org/p/1", module_um=20).plan(machine)


@pytest.fixture(scope="module")
def pred(job):
    return job.simulate(material="BrI", heat_treat_c=450)


def test_the_issue_example_runs_as_written(job, pred, machine, tmp_path):
    assert 1.0 < job.estimate().total_s < 600
    assert isinstance(pred.views["uv365"], Image.Image)
    assert pred.verify().passed  # the QR decodes from the predicted views
    seen = []
    with lg.connect("sim://", machine) as rig:
        run = rig.stream(job, on_progress=seen.append, journal=tmp_path / "run.journal")
    assert run.complete and run.exposed_now == run.marks == job.manifest["counts"]["marks"]
    assert seen and seen[-1]["executed"] == seen[-1]["total"]
    assert job.path is None  # streaming an unsaved job leaves it unsaved


def test_a_stop_from_the_progress_callback_leaves_a_resumable_journal(job, machine, tmp_path):
    path = job.write(tmp_path / "tag.gcode")
    journal = tmp_path / "tag.journal"

    def stop_early(info):
        if info["executed"] > 20:
            raise KeyboardInterrupt

    with pytest.raises(LasergenError, match="beam off"):
        with lg.connect("sim://?device=api-resume", machine) as rig:
            rig.stream(path, on_progress=stop_early, journal=journal)
    with lg.connect("sim://?device=api-resume", machine) as rig:
        run = rig.stream(path, journal=journal, resume=True)
    assert run.complete and run.exposed_now + run.blanked <= run.marks and run.exposed_now < run.marks


def test_a_bare_sim_rig_keeps_its_device_so_a_stopped_stream_resumes_on_it(job, machine, tmp_path):
    """A notebook's `connect("sim://")`: the rig's own device lives until the rig closes, so the
    resume finds the journal of the same device; the ledger holds each mark once."""
    path = job.write(tmp_path / "nb.gcode")
    from hardware_sim.device import get_device

    def stop_early(info):
        if info["executed"] > 20:
            raise KeyboardInterrupt

    with lg.connect("sim://", machine) as rig:
        assert rig.transient and "device=" in rig.port
        with pytest.raises(LasergenError, match="beam off") as stop:
            rig.stream(path, on_progress=stop_early, ledger=tmp_path / "first.npz")
        assert "\n" not in str(stop.value) and rig.journal_path in str(stop.value)
        assert (tmp_path / "first.npz").is_file()
        run = rig.stream(path, resume=True, ledger=tmp_path / "all.npz")
        device = rig.port.split("device=")[1]
        get_device(device)  # alive while the rig is
    assert run.complete and run.skipped > 0 and run.exposed_now + run.skipped <= run.marks
    assert run.ledger == str(tmp_path / "all.npz")
    with pytest.raises(KeyError):
        get_device(device)  # gone with the rig
    exposures = lg.Job.load(path).toolpath.is_mark.sum()
    from hardware_sim.ledger import ExposureLedger

    assert len(ExposureLedger.load(tmp_path / "all.npz").exposures()) <= exposures + 1


def test_resume_takes_a_journal_file_and_refuses_resume_on_alone(job, machine, tmp_path):
    path = job.write(tmp_path / "j.gcode")
    with lg.connect("sim://", machine) as rig:
        with pytest.raises(LasergenError, match="resume_on needs resume"):
            rig.stream(path, resume_on="grbl-X")
        run = rig.stream(path, resume=tmp_path / "none-yet.journal")  # nothing recorded: starts over
    assert run.complete and run.journal == str(tmp_path / "none-yet.journal")
    assert any("nothing was sent" in w for w in run.figures["warnings"])


def test_load_and_from_text_never_guess(job, tmp_path):
    path = job.save(tmp_path / "tag.gcode")
    assert job.path == path
    loaded, parsed = lg.Job.load(path), lg.Job.from_text(path.read_text())
    assert len(loaded.toolpath) == len(parsed.toolpath) == len(lg.Job.from_text(job.text).toolpath)
    assert loaded.estimate().total_s == pytest.approx(job.estimate().total_s, rel=1e-3)
    with pytest.raises(LasergenError, match="not found"):
        lg.Job.load("G1 X1 Y1")  # a line of G-code is not a path
    assert len(lg.Job.from_text("G1 X1 Y1 F100").toolpath) == 1  # nor text a file name
    with pytest.raises(LasergenError, match="expected the job's text"):
        lg.Job.from_text(path)


def test_one_line_reprs(job, pred, machine):
    for obj in (job, pred, machine, job.pattern, job.estimate(), pred.verify(), lg.Recipe()):
        text = repr(obj)
        assert "\n" not in text and len(text) < 300, text
    assert "166 marks" in repr(job) or "marks" in repr(job)
    assert repr(pred).startswith("<Prediction on BrI: green 5")


def _png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG")
    return Image.open(io.BytesIO(data))


def test_notebook_pictures(job, pred):
    pattern_png = _png(job.pattern._repr_png_())
    assert pattern_png.size[0] >= 64
    preview = _png(job._repr_png_())
    assert preview.size[0] >= 256
    side = _png(pred._repr_png_())
    one = pred.views["uv365"]
    assert side.size[0] > 2.5 * min(one.size[0], 640)  # three views in a row
    for obj in (job.pattern, job, pred):
        html = obj._repr_html_()
        assert html.startswith("<figure") and "data:image/png;base64," in html and "&lt;" in html


def test_prediction_spectra_and_report(pred):
    s = pred.spectra
    green_peak = s["wavelength_nm"][s["green"].argmax()]
    assert abs(green_peak - pred.report["phases"]["green"]["peak_nm"]) < 2.0
    assert s["red"].sum() > 0
    assert set(pred.views) == {"daylight", "uv365", "uv365_lp645"}
    with pytest.raises(LasergenError, match="unknown view"):
        pred.views["infrared"]


def test_public_surface_is_the_snapshot():
    """Adding or removing a public name (or changing a signature) is a deliberate change of
    tests/api/api_snapshot.txt: regenerate it with `python tests/api/snapshot.py`."""
    import lasergen.machine  # noqa: F401  (the submodule must not shadow the function)

    assert callable(lg.machine) and surface() == SNAPSHOT.read_text()


def test_every_public_name_is_documented():
    missing = [name for name in lg.__all__ if name != "__version__" and not (getattr(lg, name).__doc__ or "").strip()]
    assert not missing


def test_import_stays_light(tmp_path):
    """`import lasergen` loads no numpy, planner, simulator or driver (names load on first use);
    run outside the checkout, so `-c` imports the installed package."""
    code = "import sys, lasergen; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('numpy', 'PIL', 'drivers', 'hardware_sim', 'serial') or m.startswith('lasergen.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert out.strip() == "[]"
