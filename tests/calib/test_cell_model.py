"""The fit's per-cell forward model (`hardware_sim.glass.cell_model`) against the full simulator
on a whole grid as `calibrate grid` writes it (fiducials, labels, every cell in one exposure).

The cell model runs the simulator on each cell's exposure alone; the full simulator exposes the
whole grid at once (every cell's neighbours, the fiducial and label rasters, the order in time).
Both are measured the same way (the cell model's sub-pixel lit area, the simulator's line
widths, mean glow over the lit area relative to a fully crystallized spot), so what is compared
is the reduction alone.

What the reduction leaves out: the heat earlier cells leave behind. The full simulator raises
each stroke's temperature by the residual heat of the strokes of the last 5 s
(`nucleation.HEAT_WINDOW_S`, ~20 K at a neighbour 250 um away a second after its dwell), so a
cell written right after another grows a little larger and brighter, and a cell just below the
nucleation threshold on its own can nucleate in the grid. Stated tolerance, per lit cell (the
largest deviation measured on these grids in brackets): size within 4 % (3.8 %, a line near
threshold), green and red glow within 8.5 % (7.8 %, the fastest line at the lowest energy).
The threshold cell that only the grid's residual heat lights is a known failure, reported as
an xfail while it lasts (a cell model that carries the grid's writing order turns it into a pass)."""

import numpy as np
import pytest
from click.testing import CliRunner

from hardware_sim.batch import history_of
from hardware_sim.glass.cell_model import FIT_PITCH_UM, Cell, lit_fraction, predict_cell, reference_intensity
from hardware_sim.glass.exposure import Grid, expose, margin_for
from hardware_sim.glass.features import line_widths_um
from hardware_sim.glass.material import Material
from hardware_sim.glass.phase_model import phases
from lasergen.job import read_job
from lasergen_cli import main

SIZE_REL, GLOW_REL = 0.04, 0.085
GRIDS = {"dots": ["--energies", "180:260:40", "--dwells", "1,2,3"],
         "lines": ["--energies", "180:260:40", "--speeds", "0.2,0.4,0.8"]}


def _full_simulator(job, material):
    """Per cell of the grid: (size_um, green_rel, red_rel) from one exposure of the whole job."""
    history = history_of(job, job.machine).exposures()
    grid = Grid.around(history.bounds_mm(), FIT_PITCH_UM, margin_for(history, material, FIT_PITCH_UM))
    exposure = expose(history, material, grid)
    plane = exposure.planes[0]
    x = exposure.crystallized
    maps = phases(x, plane.rewrites, material, share=plane.rewritten_share())
    detect = material.kinetics["detect_fraction"]
    g_ref, r_ref = reference_intensity(material)
    promises = job.manifest["promises"]
    half_mm = promises["cell_um"] / 2000.0
    xs = grid.x0_mm + (np.arange(grid.nx) + 0.5) * grid.pitch_um / 1000.0
    ys = grid.y0_mm + (np.arange(grid.ny) + 0.5) * grid.pitch_um / 1000.0
    out = {}
    for cell in promises["cells"]:
        cx, cy = cell["centre_mm"]
        inside = (np.abs(ys - cy)[:, None] < half_mm) & (np.abs(xs - cx)[None, :] < half_mm)
        weight = lit_fraction(x, detect) * inside
        area_px = float(weight.sum())
        if area_px <= 0.5:
            out[cell["cell"]] = (0.0, 0.0, 0.0)
            continue
        if promises["mode"] == "dots":
            size = 2.0 * np.sqrt(area_px * grid.pixel_area_um2 / np.pi)
        else:
            mine = history.take((np.abs(history.x0 - cx) < half_mm) & (np.abs(history.y0 - cy) < half_mm))
            size = line_widths_um(mine, grid, (x >= detect) & inside, crystallized=x, detect=detect)["median_um"]
        out[cell["cell"]] = (float(size), float((maps.green * weight).sum() / area_px) / g_ref,
                             float((maps.red * weight).sum() / area_px) / r_ref)
    return out


@pytest.fixture(scope="module", params=sorted(GRIDS))
def compared(request, tmp_path_factory):
    """(mode, [(cell, model prediction, full simulator's (size, green, red))]) of one grid."""
    mode = request.param
    out = tmp_path_factory.mktemp("grid") / f"{mode}.gcode"
    result = CliRunner().invoke(main, ["calibrate", "grid", "--mode", mode, *GRIDS[mode], "-o", str(out)])
    assert result.exit_code == 0, result.output
    job = read_job(out)
    material = Material.load("BrI")
    full = _full_simulator(job, material)
    rows = []
    for cell in job.manifest["promises"]["cells"]:
        recipe = cell["recipe"]
        model = predict_cell(Cell(mode, recipe["energy_uJ"], recipe["rep_rate_kHz"], recipe["passes"],
                                  dwell_s=recipe["dwell_s"], speed_mm_s=recipe["speed_mm_s"],
                                  line_um=job.manifest["promises"]["line_um"] or 150.0), material)
        rows.append((cell["cell"], model, full[cell["cell"]]))
    return mode, rows


def test_cell_model_agrees_with_the_full_simulator_on_a_whole_grid(compared):
    _, rows = compared
    lit = [(name, model, full) for name, model, full in rows if model.size_um > 0 and full[0] > 0]
    assert len(lit) >= 6  # the grids span the threshold: most cells lit, the comparison is not empty
    for name, model, (size, green, red) in lit:
        assert model.size_um == pytest.approx(size, rel=SIZE_REL), name
        assert model.green_rel == pytest.approx(green, rel=GLOW_REL), name
        assert model.red_rel == pytest.approx(red, rel=GLOW_REL, abs=1e-6), name


def test_cell_model_and_full_simulator_light_the_same_cells(compared):
    mode, rows = compared
    flips = [name for name, model, full in rows if (model.size_um > 0) != (full[0] > 0)]
    if flips:
        pytest.xfail(f"{mode}: cells {flips} lit only by the heat earlier cells left (the cell model writes "
                     f"each cell alone)")
