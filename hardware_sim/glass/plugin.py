"""The glass model as lasergen's simulator: the object the `lasergen.simulators` entry point
names (pyproject.toml), filling the core's `lasergen.api.seams.Simulator` protocol.

A thin adapter over `simulate`, `render`, `report` and `verify`: when the model's own entry
points change shape, this file is the one the public API sees change.
"""

from __future__ import annotations

import numpy as np

from hardware_sim.glass.optics import line_shape
from hardware_sim.glass.render import view_label
from dataclasses import replace

from hardware_sim.glass.simulate import material_for_job, simulate, write_outputs

SPECTRUM_NM = np.arange(450.0, 750.5, 0.5)  # the wavelength axis of `spectra`


def _summed_spectrum(intensity: np.ndarray, peak_nm, fwhm_meV: float, pixel_area_um2: float) -> np.ndarray:
    """Emission of all pixels summed (what a spectrometer over the whole mark sees), per nm:
    per-pixel peaks binned to 0.5 nm, weighted by intensity x area, times the line shape."""
    lit = intensity > 0
    if not lit.any():
        return np.zeros_like(SPECTRUM_NM)
    peaks = np.broadcast_to(np.asarray(peak_nm, dtype=np.float64), intensity.shape)[lit]
    bins = np.clip(np.rint((peaks - SPECTRUM_NM[0]) / 0.5).astype(np.int64), 0, SPECTRUM_NM.size - 1)
    weight = np.bincount(bins, intensity[lit].astype(np.float64) * pixel_area_um2, minlength=SPECTRUM_NM.size)
    used = np.flatnonzero(weight)
    return weight[used] @ line_shape(SPECTRUM_NM, SPECTRUM_NM[used], fwhm_meV)


class GlassSimulator:
    """lasergen's default simulator: the glass model of `hardware_sim.glass` (PHYSICS.md)."""

    name = "glass"

    def simulate(self, toolpath, machine, material: str, manifest: dict | None = None, reader: str = "microscope",
                 **options):
        """The prediction of what `toolpath` writes; a job planned in depth (its manifest's
        `depths_um` and focus model) places its planes where the job wrote them, and its views
        are focused at each depth with the `reader`'s optics."""
        manifest = manifest or {}
        prediction = simulate(toolpath, machine, material_for_job(material, manifest), **options)
        return replace(prediction, reader=reader, in_depth=bool(manifest.get("depths_um")))

    def view_names(self, raw) -> list[str]:
        return list(raw.views)

    def view_label(self, raw, name: str) -> str:
        return view_label(raw.views[name])["text"]

    def render(self, raw, name: str, um_per_px: float | None = None, whole_mark: bool = False):
        rendered = raw.render(name, um_per_px, whole_mark)
        return rendered.to_pil(scale_bar=True, dark=raw.views[name].kind == "emission")

    def report(self, raw) -> dict:
        from hardware_sim.glass.report import build_report

        return build_report(raw)

    def spectra(self, raw) -> dict:
        m, area = raw.maps, raw.grid.pixel_area_um2
        return {"wavelength_nm": SPECTRUM_NM.copy(),
                "green": _summed_spectrum(m.green, m.green_peak_nm, m.green_fwhm_meV, area),
                "red": _summed_spectrum(m.red, m.red_peak_nm, m.red_fwhm_meV, area)}

    def write(self, raw, out_dir, um_per_px: float | None = None, whole_mark: bool = False) -> dict:
        return write_outputs(raw, out_dir, um_per_px, whole_mark)

    def verify(self, raw, manifest: dict, key=None, public_key=None, margin: bool = True) -> list[dict]:
        from hardware_sim.glass.verify import check_job

        return check_job(raw, manifest, key, public_key, margin=margin)

    def describe(self, check: dict) -> str:
        from hardware_sim.glass.verify import describe

        return describe(check)

    def summarize(self, checks: list[dict]) -> str:
        from hardware_sim.glass.verify import summary

        return summary(checks)


SIMULATOR = GlassSimulator()
