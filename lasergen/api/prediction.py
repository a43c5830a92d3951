"""`Prediction`, what the simulator expects the glass to show, and `Verdict`, what `verify` found.

Both wrap the installed simulator's own objects (`lasergen.api.seams.Simulator`), so the core
knows no glass model. `views` renders each view (daylight, uv365, uv365_lp645, ...) the first
time it is asked for: a PIL image, which Jupyter shows inline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class Views(Mapping):
    """View name -> PIL image, rendered on first access at the prediction's grid pitch."""

    def __init__(self, prediction: "Prediction"):
        self._prediction = prediction
        self._images = {}

    def __getitem__(self, name: str):
        if name not in self._images:
            p = self._prediction
            if name not in self:
                from lasergen import LasergenError

                raise LasergenError(f"unknown view {name!r}; known: {', '.join(self)}")
            self._images[name] = p._sim.render(p._raw, name)
        return self._images[name]

    def __iter__(self):
        return iter(self._prediction._sim.view_names(self._prediction._raw))

    def __len__(self) -> int:
        return len(self._prediction._sim.view_names(self._prediction._raw))

    def __contains__(self, name) -> bool:
        return name in self._prediction._sim.view_names(self._prediction._raw)

    def __repr__(self) -> str:
        return f"<Views {', '.join(self)}>"


class Prediction:
    """The predicted sample: views, summed emission spectra, the report, and `verify`."""

    def __init__(self, raw, simulator, manifest: dict, material: str):
        self._raw, self._sim, self.manifest, self.material = raw, simulator, manifest, material
        self.views = Views(self)
        self._report = None

    @property
    def report(self) -> dict:
        """The numbers behind the renders (the `report.json` of `lasergen simulate`): phases
        (green/red peak_nm, integrated), crystallized_area_um2, features, warnings, ..."""
        if self._report is None:
            self._report = self._sim.report(self._raw)
        return self._report

    @property
    def spectra(self) -> dict:
        """Emission of the whole mark under UV, per nm: `wavelength_nm`, `green`, `red` arrays."""
        return self._sim.spectra(self._raw)

    def label(self, view: str) -> str:
        """What a view shows (excitation, filter, gain, tone)."""
        return self._sim.view_label(self._raw, view)

    def render(self, view: str, um_per_px: float | None = None, whole_mark: bool = False):
        """One view as a PIL image at another scale (`views[...]` is at the grid pitch)."""
        return self._sim.render(self._raw, view, um_per_px, whole_mark)

    def save(self, out_dir: str | Path, um_per_px: float | None = None, whole_mark: bool = False) -> dict:
        """Write one PNG per view and report.json into `out_dir`; returns the report."""
        self._report = self._sim.write(self._raw, out_dir, um_per_px, whole_mark)
        return self._report

    def verify(self, key: bytes | None = None, public_key=None, margin: bool = True) -> "Verdict":
        """Check each view against what the job promises (QR decode with margin, level views, tags)."""
        checks = self._sim.verify(self._raw, self.manifest, key, public_key, margin=margin)
        return Verdict(checks, [self._sim.describe(c) for c in checks],
                       self._sim.summarize(checks) if checks else "unchecked: the job promises nothing checkable")

    def __repr__(self) -> str:
        phases = self.report["phases"]
        peak = lambda p: "-" if p["peak_nm"] is None else f"{p['peak_nm']:.1f} nm"
        return (f"<Prediction on {self.material}: green {peak(phases['green'])}, red {peak(phases['red'])}, "
                f"crystallized {self.report['crystallized_area_um2']:.0f} um^2; views {', '.join(self.views)}>")

    def _side_by_side(self):
        from lasergen.api.notebook import side_by_side

        return side_by_side([(self.views[name], name) for name in self.views])

    def _repr_png_(self) -> bytes:
        from lasergen.api.notebook import png_bytes

        return png_bytes(self._side_by_side())

    def _repr_html_(self) -> str:
        from lasergen.api.notebook import figure_html

        return figure_html(self._side_by_side(), repr(self))


@dataclass(frozen=True)
class Verdict:
    """The checks of `verify`: each a dict with view, kind, ok, message; `passed` when all hold."""
    checks: list
    lines: list
    summary: str

    @property
    def passed(self) -> bool:
        return all(c["ok"] for c in self.checks)

    def __str__(self) -> str:
        return "\n".join([*self.lines, self.summary])

    def __repr__(self) -> str:
        return f"<Verdict {'passed' if self.passed else 'FAILED'}: {self.summary}>"
