"""`Job`, the public job object: a planned or loaded job file, with its estimate, simulation,
verification and a toolpath preview.

A job is always the job file (header + body in the controller's language, `lasergen.job`);
loading names its source explicitly (`Job.load(path)` or `Job.from_text(text)`, never a guess
from the string). Work is lazy: a planned job keeps its Pattern and Toolpath and writes the
file by streaming (`save`); a loaded one is parsed only when its toolpath is asked for, so
`Job.load(path).estimate()` reads a huge file in bounded memory. `simulate` reads the body
the way a controller would (the G-code alone), and goes to the installed simulator through
`lasergen.api.seams` (the core never imports the simulator).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lasergen import LasergenError


@dataclass(frozen=True)
class Estimate:
    """How long a job takes on its machine (the controller's motion model) and what it writes."""
    total_s: float
    writing_s: float
    travel_s: float
    mark_count: int
    distance_mm: float
    bounds_mm: tuple
    figures: dict  # everything the motion model reports (time_s, blank_time_s, dot_count, ...)

    @classmethod
    def from_figures(cls, figures: dict) -> "Estimate":
        return cls(float(figures["time_s"]), float(figures.get("mark_time_s", 0.0) + figures.get("dwell_time_s", 0.0)),
                   float(figures.get("travel_time_s", 0.0)), int(figures.get("mark_count", 0)),
                   float(figures.get("distance_mm", 0.0)), tuple(figures.get("bounds_mm", ())), dict(figures))

    def __repr__(self) -> str:
        return (f"<Estimate {self.total_s:.1f} s: writing {self.writing_s:.1f} s, travel {self.travel_s:.1f} s, "
                f"{self.mark_count} marks>")


class Job:
    """A job file for one machine. Make one with `Pattern.plan`, `Job.plan`, `Job.load` or `Job.from_text`."""

    def __init__(self, *, pattern=None, toolpath=None, machine=None, material: str | None = None,
                 text: str | None = None, path: Path | None = None, check_sum: bool = True):
        self._pattern, self._toolpath, self._machine, self._material = pattern, toolpath, machine, material
        self._text, self.path, self._check_sum = text, path, check_sum
        self._parsed = None
        self._manifest = None

    # ---- making one ----
    @classmethod
    def plan(cls, pattern, machine="default", material: str | None = None) -> "Job":
        """Plan `pattern` for `machine` (a MachineProfile or a profile name): a job in memory."""
        from lasergen.api.sources import as_machine
        from lasergen.planner import plan
        from lasergen.vector_plan import with_shape_promise

        machine = as_machine(machine)
        pattern = with_shape_promise(pattern)  # vector jobs promise their region, for verify
        return cls(pattern=pattern, toolpath=plan(pattern, machine), machine=machine,
                   material=material or pattern.meta.get("material"))

    @classmethod
    def load(cls, path: str | Path, machine=None, check_sum: bool = True) -> "Job":
        """The job file at `path`; `machine` None: the profile the job names. `check_sum` False
        accepts a body edited after planning."""
        path = Path(path)
        if not path.is_file():
            raise LasergenError(f"job file not found: {path}" if not path.exists() else f"{path} is not a file")
        from lasergen.api.sources import as_machine

        return cls(path=path, machine=as_machine(machine) if machine is not None else None, check_sum=check_sum)

    @classmethod
    def from_text(cls, text: str, machine=None, check_sum: bool = True) -> "Job":
        """A job from the text of a job file (or any G-code the controller accepts)."""
        if not isinstance(text, str):
            raise LasergenError(f"Job.from_text: expected the job's text (str), got {type(text).__name__}")
        from lasergen.api.sources import as_machine

        job = cls(text=text, machine=as_machine(machine) if machine is not None else None, check_sum=check_sum)
        job._read()  # text is small by nature: check it now
        return job

    # ---- what it is ----
    def _read(self):
        if self._parsed is None:
            from lasergen.job import read_job

            source = Path(self.path) if self._text is None and self.path is not None else self.text
            if isinstance(source, str) and "\n" not in source:
                source += "\n"  # one line of text is text, never a file name
            self._parsed = read_job(source, self._machine, check_sum=self._check_sum)
            self._machine = self._parsed.machine
        return self._parsed

    @property
    def text(self) -> str:
        """The job file's text (header + body)."""
        if self._text is None:
            if self.path is not None:
                self._text = self.path.read_text()
            else:
                from lasergen.job import render_job

                self._text = render_job(self._pattern, self._toolpath, self._machine, self._material)
        return self._text

    @property
    def manifest(self) -> dict:
        """The job's header: machine, material, recipes, layers, counts, estimate, promises."""
        if self._manifest is None:
            if self._pattern is not None and self._text is None:
                from lasergen.job import parse_header

                self._manifest = parse_header(self.text.splitlines()[:10_000])[0]
            else:
                self._manifest = self._read().manifest
        return self._manifest

    @property
    def machine(self):
        """The MachineProfile the job is for."""
        return self._machine if self._machine is not None else self._read().machine

    @property
    def material(self) -> str | None:
        return self._material if self._pattern is not None else self.manifest.get("material")

    @property
    def pattern(self):
        """The Pattern it was planned from (None for a loaded job)."""
        return self._pattern

    @property
    def toolpath(self):
        """What the controller executes, as a columnar Toolpath: the planner's, or read from the body."""
        return self._toolpath if self._toolpath is not None else self._read().toolpath

    # ---- what to do with it ----
    def save(self, path: str | Path) -> Path:
        """Write the job file (a planned job streams its body: any size in bounded memory)."""
        self.path = self.write(path)
        return self.path

    def write(self, path: str | Path) -> Path:
        """Write the job file without making it this job's file (`save` does both)."""
        path = Path(path)
        if self._pattern is not None and self._text is None:
            from lasergen.job import write_job

            self._manifest = write_job(path, self._pattern, self._toolpath, self._machine, self._material)
        else:
            try:
                path.write_text(self.text)
            except OSError as exc:
                raise LasergenError(f"cannot write {path}: {exc}") from None
        return path

    def estimate(self) -> Estimate:
        """Time, distance, marks and bounds on the job's machine (acceleration and turnarounds included)."""
        if self._pattern is not None:
            return Estimate.from_figures(self.manifest["estimate"] | {
                "mark_count": self.manifest["counts"]["marks"], "bounds_mm": self.manifest["mark_bounds_mm"]})
        if self._parsed is None and self._text is None and self.path is not None:
            from lasergen.job import estimate_job_file

            figures, used = estimate_job_file(self.path, self._machine, check_sum=self._check_sum)
            self._machine = used
            return Estimate.from_figures(figures)
        from lasergen.backends import language_for

        return Estimate.from_figures(language_for(self.machine).estimate(self.toolpath, self.machine))

    def simulate(self, material: str | None = None, heat_treat_c: float | None = None,
                 heat_treat_hours: float = 2.0, measure_c: float = 25.0, pitch_um: float = 2.0,
                 reader: str = "microscope", **view_options) -> "Prediction":
        """Predict the written glass from the job's body (what the controller would execute).
        `material`: Br, BrI, I or a TOML file (default: the job's, else BrI); `view_options`:
        filter_edge_nm, filter_width_nm, bandpass_nm of the filtered view; `reader`: the optics
        of the views at each depth of a job in depth ("microscope": NA 0.3 focused at each depth,
        "phone": every plane at once)."""
        from lasergen.api.prediction import Prediction
        from lasergen.api.seams import simulator

        sim = simulator()
        executed = self._read() if self._pattern is None else _reread(self)
        chosen = material or self.material or "BrI"
        raw = sim.simulate(executed, executed.machine, chosen, heat_treat_c=heat_treat_c,
                           heat_treat_hours=heat_treat_hours, measure_c=measure_c, pitch_um=pitch_um,
                           manifest=self.manifest, reader=reader, **view_options)
        return Prediction(raw, sim, self.manifest, chosen)

    def verify(self, key: bytes | None = None, public_key=None, margin: bool = True, **simulate_options):
        """Simulate, then check every view against what the job promises: a `Verdict`."""
        return self.simulate(**simulate_options).verify(key, public_key, margin)

    def preview(self, colour_by: str = "energy", size_px: int = 768, travel: bool = True):
        """The toolpath drawn as a PIL image (marks coloured by energy or pass, travel dashed)."""
        from lasergen.api.notebook import toolpath_preview

        return toolpath_preview(self.toolpath, colour_by, size_px, travel)

    def __repr__(self) -> str:
        where = f" {self.path}" if self.path is not None else ""
        if self._pattern is None and self._parsed is None:
            return f"<Job{where} (not read yet)>"
        m = self.manifest
        counts = m.get("counts", {})
        time_s = m.get("estimate", {}).get("time_s")
        return (f"<Job{where}: {counts.get('marks', len(self.toolpath))} marks, {counts.get('passes', '?')} pass(es)"
                + (f", ~{time_s:.1f} s" if time_s is not None else "")
                + f" on {self.machine.name} ({self.machine.controller}), material {self.material or '-'}>")

    def _repr_png_(self) -> bytes:
        from lasergen.api.notebook import png_bytes

        return png_bytes(self.preview())

    def _repr_html_(self) -> str:
        from lasergen.api.notebook import figure_html

        return figure_html(self.preview(), repr(self))


def _reread(job: Job):
    """A planned job as the controller sees it: its body parsed back (simulate the G-code, not
    the planner's intent)."""
    from lasergen.job import read_job

    return read_job(job.text, job.machine)
