import itertools

import numpy as np
import pytest

import hardware_sim.urlhandler
from lasergen import Job, Layer, MachineProfile, Pattern, Recipe
from lasergen.recipe import PRESETS
from lasergen.sources.qr import make_qr, qr_mask

hardware_sim.urlhandler.register()
_names = itertools.count()


@pytest.fixture(scope="session")
def machine():
    return MachineProfile.load()


@pytest.fixture
def qr_job(tmp_path, machine):
    mask = qr_mask(make_qr("lasergen"), 2)
    pattern = Pattern(20.0, [Layer(mask, "write", "qr")], (10.0, 10.0), {**PRESETS, "write": Recipe()})
    path = tmp_path / "qr.gcode"
    path.write_text(Job.plan(pattern, machine).text)
    return path


@pytest.fixture
def dots_job(tmp_path, machine):
    mask = np.zeros((4, 5), bool)
    mask[::2, ::2] = True
    mask[1, 1] = True
    pattern = Pattern(20.0, [Layer(mask, "dots", "d")], (20.0, 20.0), dict(PRESETS))
    path = tmp_path / "dots.gcode"
    path.write_text(Job.plan(pattern, machine).text)
    return path


@pytest.fixture
def device_name():
    from hardware_sim.device import forget_device

    name = f"t{next(_names)}"
    yield name
    forget_device(name)


def mark_key(path):
    """Job marks as rounded tuples (kind, x0, y0, x1, y1, energy, dwell)."""
    m = path.is_mark
    cols = [path.kind[m], path.x0[m], path.y0[m], path.x1[m], path.y1[m], path.energy_uJ[m], path.dwell_s[m]]
    return [tuple(round(float(v), 5) for v in row) for row in zip(*cols)]


def on_planned_marks(executed, job_marks) -> bool:
    """Every beam-on row of an executed toolpath lies on a planned raster mark (none written
    from the wrong place)."""
    on = executed.take(executed.is_mark)
    return all(np.any((np.abs(job_marks.y0 - y0) < 1e-6) & (np.minimum(job_marks.x0, job_marks.x1) <= min(x0, x1) + 1e-6)
                      & (np.maximum(job_marks.x0, job_marks.x1) >= max(x0, x1) - 1e-6))
               for x0, y0, x1, y1 in zip(on.x0, on.y0, on.x1, on.y1))


def exposure_counts(job_toolpath, executed):
    """For each job mark: how many executed beam-on rows reproduce it exactly."""
    done = {}
    for key in mark_key(executed):
        done[key] = done.get(key, 0) + 1
    return [done.get(key, 0) for key in mark_key(job_toolpath)], sum(done.values())


@pytest.fixture
def depth_job(tmp_path, machine):
    """Two planes (350 um, then 150 um): G0Z plane changes between them."""
    mask = np.zeros((4, 5), bool)
    mask[1:3, 1:4] = True
    layers = [Layer(mask, "write", "top", depth_um=150.0), Layer(mask, "write", "bottom", depth_um=350.0)]
    pattern = Pattern(20.0, layers, (10.0, 10.0), dict(PRESETS))
    path = tmp_path / "depth.gcode"
    path.write_text(Job.plan(pattern, machine).text)
    return path
