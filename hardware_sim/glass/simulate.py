"""The simulator facade: what the laser did -> predicted sample -> renders and report.

    prediction = simulate(toolpath_or_ledger_or_job, machine, "BrI", heat_treat_c=550)
    report = write_outputs(prediction, "sim/")    # daylight.png, uv365.png, uv365_lp645.png, report.json

Pipeline: BeamHistory (recorded by the emulator while streaming, or by the same emulator run in
batch over a job's G-code: `hardware_sim.batch`) -> `exposure.expose` (depth planes, pieces,
causal nucleation, Arrhenius dose, dissolution, damage, Avrami) -> `phase_model.phases`
(chemistry, heat treatment, measuring temperature; summed over depth planes) -> `optics` (XYZ
per view) -> `render` (sRGB, orientation, scale bar) -> `report`. The glass model sees the beam
history only: no G-code tokens, pass labels or planner output.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from hardware_sim.glass import optics
from hardware_sim.glass.exposure import Exposure, Grid, expose, margin_for
from hardware_sim.glass.material import Material
from hardware_sim.glass.phase_model import PhaseMaps, Treatment, phases
from hardware_sim.glass.render import Rendered, block_mean, choose_scale, render_xyz, save_png, view_label
from hardware_sim.batch import history_of
from hardware_sim.ledger import BeamHistory
from lasergen import LasergenError
from lasergen.machine import MachineProfile
from lasergen.toolpath import Toolpath

DEFAULT_PITCH_UM = 2.0
MAX_PIXELS = 80_000_000


@dataclass
class Sample:
    """The predicted sample on some pixel grid (the simulation grid, or coarser for a render)."""
    maps: PhaseMaps
    crystallized: np.ndarray
    rewrites: np.ndarray
    lit: np.ndarray            # X >= detect (at coarser scales: in at least half of the block)
    pitch_um: float


@dataclass
class Prediction:
    history: BeamHistory
    machine: MachineProfile
    material: Material
    treatment: Treatment
    exposure: Exposure
    maps: PhaseMaps
    views: dict[str, optics.View] = field(default_factory=lambda: dict(optics.VIEWS))
    reader: str = "microscope"  # the optics of the `<view>@<depth>um` renders (`depth_view.READERS`)
    in_depth: bool = False      # the job was planned in depth: renders at each written depth too
    plane_maps: list | None = None  # each depth plane's own phase maps (the views at a depth reuse them)

    @property
    def ledger(self) -> BeamHistory:
        return self.history

    @property
    def grid(self) -> Grid:
        return self.exposure.grid

    @property
    def lit(self) -> np.ndarray:
        return self.exposure.crystallized >= self.material.kinetics["detect_fraction"]

    def remeasure(self, measure_c: float) -> "Prediction":
        """The same sample measured at another temperature (the sample itself is unchanged)."""
        treatment = replace(self.treatment, measure_c=measure_c)
        each = plane_phases(self.exposure, self.material, treatment)
        return replace(self, treatment=treatment, maps=combined_phases(each), plane_maps=each)

    def sample_at(self, um_per_px: float | None = None) -> Sample:
        """The sample box-averaged to `um_per_px` (>= grid pitch). Intensities average exactly;
        the red peak is intensity-weighted per block (exact where it is uniform in a block, which
        is everywhere but the edges of rewritten regions)."""
        ratio = max(1.0, (um_per_px or self.grid.pitch_um) / self.grid.pitch_um)
        if ratio == 1.0:
            return Sample(self.maps, self.exposure.crystallized, self.exposure.rewrites, self.lit, self.grid.pitch_um)
        m = self.maps
        red = block_mean(m.red, ratio)
        weighted_peak = block_mean(m.red * m.red_peak_nm, ratio)
        peak = np.where(red > 0, weighted_peak / np.where(red > 0, red, 1), block_mean(m.red_peak_nm, ratio))
        maps = replace(m, green=block_mean(m.green, ratio), red=red, red_peak_nm=peak.astype(np.float32))
        lit = block_mean(self.lit.astype(np.float32), ratio) >= 0.5
        return Sample(maps, block_mean(self.exposure.crystallized, ratio), block_mean(self.exposure.rewrites, ratio),
                      lit, self.grid.pitch_um * ratio)

    def xyz(self, view_name: str, sample: Sample | None = None) -> np.ndarray:
        if view_name not in self.views:
            raise LasergenError(f"unknown view {view_name!r}; known: {', '.join(self.views)}")
        sample = sample or self.sample_at()
        view = self.views[view_name]
        if view.kind == "emission":
            return optics.emission_xyz(view, sample.maps)
        ch, sp = self.material.chemistry, self.material.spectra
        return optics.daylight_xyz(sample.maps, sample.crystallized, (ch["green_weight"], ch["red_weight"]),
                                   self.material.daylight, (sp["green_stokes_nm"], sp["red_stokes_nm"]))

    def scale_for(self, um_per_px: float | None = None, whole_mark: bool = False, max_px: int = 2048) -> float:
        try:
            return choose_scale(self.grid.pitch_um, self.grid.shape, um_per_px, whole_mark, max_px)
        except ValueError as exc:
            raise LasergenError(str(exc)) from None

    def render(self, view_name: str, um_per_px: float | None = None, whole_mark: bool = False,
               max_px: int = 2048, sample: Sample | None = None) -> Rendered:
        scale = self.scale_for(um_per_px, whole_mark, max_px)
        sample = sample or self.sample_at(scale)
        return render_xyz(view_name, self.xyz(view_name, sample), sample.pitch_um, scale,
                          self.views[view_name].background_linear_rgb, self.views[view_name])


def plane_phases(exposure: Exposure, material: Material, treatment: Treatment) -> list[PhaseMaps]:
    """Each depth plane's phase maps, computed once (the sample's and every view at a depth use them)."""
    return [phases(p.crystallized, p.rewrites, material, treatment, p.rewritten_share()) for p in exposure.planes]


def sample_phases(exposure: Exposure, material: Material, treatment: Treatment) -> PhaseMaps:
    """Phase maps of the sample as seen from above: the depth planes' emission adds up."""
    return combined_phases(plane_phases(exposure, material, treatment))


def combined_phases(each: list[PhaseMaps]) -> PhaseMaps:
    if len(each) == 1:
        return each[0]
    red = sum(m.red for m in each)
    peaks = [(m.red_peak_nm.min(), m.red_peak_nm.max()) for m in each]
    if max(hi for _, hi in peaks) == min(lo for lo, _ in peaks):  # one wavelength everywhere: its weighted mean
        return replace(each[0], green=sum(m.green for m in each), red=red, red_peak_nm=each[0].red_peak_nm)
    weighted = sum(m.red * m.red_peak_nm for m in each)
    peak = np.where(red > 0, weighted / np.where(red > 0, red, 1), each[0].red_peak_nm).astype(np.float32)
    return replace(each[0], green=sum(m.green for m in each), red=red, red_peak_nm=peak)


def to_history(source, machine: MachineProfile) -> BeamHistory:
    """The beam history of a source: as recorded, or its G-code run in batch on the emulator."""
    if isinstance(source, (BeamHistory, Toolpath, str)) or hasattr(source, "body"):
        return history_of(source, machine)
    raise LasergenError(f"cannot simulate a {type(source).__name__}: expected a beam history, G-code, Toolpath or Job")


def simulate(source, machine: MachineProfile | None = None, material: str | Material = "BrI",
             heat_treat_c: float | None = None, heat_treat_hours: float = 2.0, measure_c: float = 25.0,
             pitch_um: float = DEFAULT_PITCH_UM, margin_um: float | None = None,
             filter_edge_nm: float | None = None, filter_width_nm: float | None = None,
             bandpass_nm: float | None = None) -> Prediction:
    """Predict the written sample. `source`: a BeamHistory, or G-code text, a parsed Job or a Toolpath
    (executed in batch on the emulated controller to get one)."""
    machine = machine or getattr(source, "machine", None) or MachineProfile.load()
    material = Material.load(material)
    checks = ((pitch_um > 0, f"pitch must be > 0 um, got {pitch_um}"),
              (heat_treat_hours > 0, f"heat-treatment hours must be > 0, got {heat_treat_hours}"),
              (heat_treat_c is None or -50 <= heat_treat_c <= 700,
               f"heat-treatment temperature {heat_treat_c} C is outside the modelled -50..700 C"),
              (-100 <= measure_c <= 400, f"measuring temperature {measure_c} C is outside -100..400 C"))
    for ok, message in checks:
        if not ok:
            raise LasergenError(message)
    history = to_history(source, machine)
    if not history.is_exposure.any():
        raise LasergenError("nothing to simulate: the job never turns the laser on")
    bounds = history.bounds_mm()
    extent_um = max(b - a for a, b in zip(bounds[:2], bounds[2:])) * 1000.0
    margin = margin_um if margin_um is not None else max(margin_for(history, material, pitch_um),
                                                         0.08 * extent_um + 40.0)
    grid = Grid.around(bounds, pitch_um, margin)
    if grid.ny * grid.nx > MAX_PIXELS:
        raise LasergenError(f"the field needs {grid.ny} x {grid.nx} pixels at {pitch_um} um; "
                            f"use a coarser pitch (limit {MAX_PIXELS // 1_000_000} M pixels)")
    try:
        views = optics.views(filter_edge_nm, filter_width_nm, bandpass_nm)
    except ValueError as exc:
        raise LasergenError(str(exc)) from None
    exposure = expose(history, material, grid)
    treatment = Treatment(heat_treat_c, heat_treat_hours, measure_c)
    each = plane_phases(exposure, material, treatment)
    return Prediction(history, machine, material, treatment, exposure, combined_phases(each), views, plane_maps=each)


def filtered_view_name(prediction: Prediction) -> str:
    return next(name for name, v in prediction.views.items() if v.filter is not None)


def write_outputs(prediction: Prediction, out_dir: str | Path, um_per_px: float | None = None,
                  whole_mark: bool = False, max_px: int = 2048, compress_level: int = 1) -> dict:
    """Write one PNG per view and report.json; returns the report."""
    from hardware_sim.glass.report import build_report, region_labels, to_json, view_stats

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LasergenError(f"cannot create output folder {out}: {exc}") from None
    scale = prediction.scale_for(um_per_px, whole_mark, max_px)
    sample = prediction.sample_at(scale)
    files, stats = {}, {}
    labels = region_labels(sample)  # one sample, every view: its regions once
    for name, view in prediction.views.items():
        xyz = prediction.xyz(name, sample)
        rendered = render_xyz(name, xyz, sample.pitch_um, scale, view.background_linear_rgb, view)
        file_name = f"{name}.png"
        save_png(rendered.to_pil(scale_bar=True, dark=view.kind == "emission"), out / file_name, compress_level)
        files[name] = file_name
        stats[name] = view_stats(sample, {name: xyz}, labels)[name]
    depth_warnings, depth_stats = [], {}
    if prediction.in_depth or len(prediction.exposure.planes) > 1:
        depth_warnings = _write_depth_renders(prediction, out, scale, files, depth_stats, compress_level)
    report = build_report(prediction, renders=files, view_stats_by_view=stats)
    if prediction.in_depth or len(prediction.exposure.planes) > 1:
        from hardware_sim.glass.depth_view import plane_depths_um, reader

        optics = reader(prediction.reader)
        report["depths_um"] = plane_depths_um(prediction)
        report["view_stats_at_depth"] = depth_stats
        report["reader"] = {"name": optics.name, "numerical_aperture": optics.numerical_aperture,
                            "description": optics.description}
        report["warnings"] = list(report.get("warnings", [])) + depth_warnings
    report["render_scale_um_per_px"] = scale
    report["render_labels"] = {name: view_label(view) for name, view in prediction.views.items()}
    (out / "report.json").write_text(to_json(report))
    return report


def _write_depth_renders(prediction: Prediction, out: Path, scale: float, files: dict, stats: dict,
                         compress_level: int) -> list[str]:
    """Each view focused at each written depth (`depth_view`), as `<view>@<depth>um.png`."""
    from hardware_sim.glass.depth_view import focused_views, plane_depths_um, reader, render_name, too_close
    from hardware_sim.glass.report import region_labels, view_stats

    depths = plane_depths_um(prediction)
    for depth, focused in zip(depths, focused_views(prediction, depths, prediction.reader, scale)):
        sample = focused.sample_at(scale)
        labels = region_labels(sample)
        for name, view in prediction.views.items():
            xyz = focused.xyz(name, sample)
            rendered = render_xyz(name, xyz, sample.pitch_um, scale, view.background_linear_rgb, view)
            key = render_name(name, depth)
            save_png(rendered.to_pil(scale_bar=True, dark=view.kind == "emission"), out / f"{key}.png", compress_level)
            files[key] = f"{key}.png"
            stats[key] = view_stats(sample, {name: xyz}, labels)[name]
    return too_close(depths, reader(prediction.reader), prediction.material)


def material_for_job(material: str | Material, manifest: dict) -> Material:
    """The material, its focus taken from the job's focus model when the job was planned in depth
    (`lasergen.focus`): the writing objective's NA, the glass's index, the depth at Z = 0 and the
    surface's tilt, so the glass model puts each plane at the depth the job wrote it."""
    loaded = Material.load(material)
    focus = manifest.get("focus") if manifest.get("depths_um") else None
    if not focus:
        return loaded
    if focus.get("direction", 1) != 1:
        raise LasergenError("this job's machine moves the focus shallower with +Z; the glass model follows "
                            "+Z deeper (z_axis = \"deeper\")")
    surface = focus["surface"]
    depth_at_z0 = -float(surface["z_mm"]) * 1000.0 * float(focus["shift"])
    return replace(loaded, focus={**loaded.focus, "numerical_aperture": float(focus["numerical_aperture"]),
                                  "refractive_index": float(focus["refractive_index"]),
                                  "depth_at_z0_um": depth_at_z0,
                                  "surface_tilt": (float(surface.get("dz_dx", 0.0)), float(surface.get("dz_dy", 0.0)))})


LEDGER_SUFFIX = ".ledger.npz"  # what `lasergen stream --port sim://` saves beside JOB


def simulate_job(job_path: str | Path, machine: str | MachineProfile | None = None, material: str | None = None,
                 check_sum: bool = True, reader: str = "microscope", **options) -> tuple[Prediction, dict]:
    """Read a job file the way the controller would (its G-code, run on the emulated controller)
    and simulate it; or simulate a beam history (`JOB.ledger.npz`, what the emulated laser did
    while streaming), taking the promises and material from the job file beside it if there is one.

    The material is the one given, else the job manifest's, else BrI. Returns the prediction
    and the manifest (whose `promises` `verify` checks)."""
    from lasergen.job import parse_header, read_job

    machine = MachineProfile.load(machine) if isinstance(machine, str) else machine  # None: the job's own
    path = Path(job_path)
    if path.suffix == ".npz":
        source, manifest = BeamHistory.load(path), {}
        job_file = path.with_name(path.name[:-len(LEDGER_SUFFIX)]) if path.name.endswith(LEDGER_SUFFIX) else None
        if job_file is not None and job_file.is_file():
            with open(job_file) as f:
                head = [line.rstrip("\n") for _, line in zip(range(10_000), f)]
            manifest = parse_header(head)[0] or {}
    else:
        job = read_job(path, machine, check_sum=check_sum)
        source, manifest, machine = job, job.manifest, job.machine
    chosen = material_for_job(material or manifest.get("material") or "BrI", manifest)
    prediction = simulate(source, machine, chosen, **options)
    return replace(prediction, reader=reader, in_depth=bool(manifest.get("depths_um"))), manifest
