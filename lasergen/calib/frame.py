"""Framing a job: trace the rectangle its beam will sweep, with the beam off, at a safe height.

What is traced: the bounding box of every row of the job's toolpath that moves or stands with
the beam switched on (its marks: lines and dots, and the constant-speed lead-ins a raster pass
runs under M3 at S0), in the job's own coordinates (an aligned job frames where it now lies).
The frame is a travel-only toolpath, emitted in the job's controller language (the back-end
registry, `lasergen.backends`) and streamed like any job, so the runner's rules (halt on the
first error with the beam off, journal) apply unchanged:
  1. on a stage with a Z axis, Z goes to the safe height first: a RAPID that moves Z alone
     (`G0Z..` on GRBL; a PI GCS MOV states every axis, so there X and Y travel with it);
  2. a RAPID, at that height, to the frame's first corner (bottom-left);
  3. per loop, the four edges counter-clockwise back to the first corner: blank moves at the
     frame speed (no energy, in a pass of mode "travel": GRBL writes no M3 around it, PI no
     trigger), so an operator can follow the spot or a pilot beam.
The estimate assumes Z starts at the far end of its travel from the safe height (the longest
retract). A frame outside the machine's travel (X, Y, or the safe Z) is refused.
Safe height (`z_safe_mm`, stage Z in work coordinates): given, Z goes there first. Not given: a
flat job never moves Z, so neither does its frame (it runs at the height the job will run at);
a job in depth is framed at the Z that focuses on the glass surface at the frame's centre (the
profile's [focus] table), shallower than any of its marks, so the objective clears the sample
at least as far as while writing and the focus is never inside the glass.
"""

from __future__ import annotations

import numpy as np

from lasergen import LasergenError
from lasergen.toolpath import LINE, RAPID, Toolpath

FRAME_PASS = {0: {"name": "frame", "recipe": "", "mode": "travel", "depth_um": 0.0}}  # depth: Z stated


def beam_bounds_mm(path: Toolpath) -> tuple[float, float, float, float]:
    """(x min, y min, x max, y max) of the rows that run with the beam switched on: marks, and
    the blank LINE rows (raster lead-ins at S0) beside them. LasergenError if there are none."""
    rows = path.kind != RAPID
    if not rows.any():
        raise LasergenError("the job has no marks: there is nothing to frame")
    x = np.concatenate([path.x0[rows], path.x1[rows]])
    y = np.concatenate([path.y0[rows], path.y1[rows]])
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def safe_height_mm(machine, path: Toolpath, bounds_mm, z_safe_mm: float | None) -> float | None:
    """The Z to trace at; None: Z is not moved (a flat job, which never moves Z either, framed
    without --z-safe-mm, or a stage without a Z axis)."""
    z_range = getattr(machine, "z_range_mm", None)
    if z_range is None:
        if z_safe_mm is not None:
            raise LasergenError(f"machine {machine.name!r} has no Z axis ([travel] z_mm): --z-safe-mm cannot apply")
        return None
    if z_safe_mm is None:
        if not path.has_z:
            return None
        if not getattr(machine, "focus", None):
            raise LasergenError(f"the job moves Z but machine {machine.name!r} has no [focus] table to find the "
                                f"glass surface: give the safe height with --z-safe-mm")
        from lasergen.focus import focus_of

        cx, cy = (bounds_mm[0] + bounds_mm[2]) / 2, (bounds_mm[1] + bounds_mm[3]) / 2
        z_safe_mm = float(np.asarray(focus_of(machine).z_surface_mm(cx, cy)))
    low, high = z_range
    if not low - 1e-9 <= z_safe_mm <= high + 1e-9:
        raise LasergenError(f"frame: safe height Z {z_safe_mm:g} mm is outside the Z travel {low:g}..{high:g} mm "
                            f"of machine {machine.name!r}")
    return float(z_safe_mm)


def frame_toolpath(bounds_mm, machine, speed_mm_s: float, loops: int = 1, z_safe_mm: float | None = None) -> Toolpath:
    """The travel-only toolpath that traces `bounds_mm` `loops` times (see the module docstring)."""
    from lasergen.planner import check_limits

    if loops < 1:
        raise LasergenError(f"frame: loops must be at least 1, not {loops}")
    top = min(machine.max_rate_mm_s)
    if not 0 < speed_mm_s <= top:
        raise LasergenError(f"frame: speed {speed_mm_s:g} mm/s is outside 0..{top:g} mm/s (the machine's max rate)")
    x0, y0, x1, y1 = bounds_mm
    corners = [(x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    kind, xs, ys, speeds = [RAPID, RAPID], [x0, x0], [y0, y0], [top, top]
    for _ in range(loops):
        for x, y in corners:
            kind.append(LINE)
            xs.append(x)
            ys.append(y)
            speeds.append(speed_mm_s)
    z = 0.0 if z_safe_mm is None else z_safe_mm
    path = Toolpath.from_columns(kind=np.array(kind), x1=np.array(xs), y1=np.array(ys), speed_mm_s=np.array(speeds),
                                 z1=np.full(len(kind), z))
    z_start = z
    if z_safe_mm is not None:  # the estimate's worst case: Z starts at the far end of its travel
        low, high = machine.z_range_mm
        z_start = low if abs(z - low) > abs(z - high) else high
    path.chain((x0, y0, z_start))
    if z_safe_mm is None:
        path = path.take(np.arange(1, len(path)))  # no Z axis: no retract row
    try:
        check_limits(path, machine, {})
    except LasergenError as exc:
        raise LasergenError(f"frame: {exc}") from None
    return path


def frame_job_text(job, speed_mm_s: float, loops: int = 1, z_safe_mm: float | None = None) -> tuple[str, dict]:
    """(the frame as a job file in `job`'s controller language, its summary) for a parsed Job."""
    from lasergen.backends import language_for
    from lasergen.job import FORMAT, FORMAT_VERSION, BodyDigest, header_text
    from lasergen import __version__

    machine = job.machine
    bounds = beam_bounds_mm(job.toolpath)
    z = safe_height_mm(machine, job.toolpath, bounds, z_safe_mm)
    path = frame_toolpath(bounds, machine, speed_mm_s, loops, z)
    lang = language_for(machine)
    digest = BodyDigest()
    pass_info = FRAME_PASS if z is not None else {0: {k: v for k, v in FRAME_PASS[0].items() if k != "depth_um"}}
    body = b"".join(digest.update(chunk) for chunk in lang.emit_body(path, machine, pass_info))
    est = lang.estimate(path, machine)
    summary = {"bounds_mm": [round(v, 4) for v in bounds], "z_safe_mm": z, "speed_mm_s": speed_mm_s, "loops": loops,
               "estimated_s": round(float(est.get("total_s", est.get("time_s", 0.0))), 3)}
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "generator": f"lasergen {__version__}",
                "assumes": lang.manifest_assumes(machine), "machine": machine.to_manifest(), "material": None,
                "recipes": {}, "layers": [{"index": 0, "name": "frame", "recipe": "", "mode": "travel"}],
                "bounds_mm": list(path.bounds_mm()), "mark_bounds_mm": [0.0, 0.0, 0.0, 0.0],
                "counts": {"body_lines": digest.lines, "marks": 0, "dots": 0, "line_marks": 0, "passes": 1},
                "estimate": {k: round(v, 3) for k, v in est.items() if isinstance(v, float)},
                "frame": summary, "body_sha256": digest.sha.hexdigest()}
    return header_text(manifest, lang.JOB_TAG) + body.decode(), summary


__all__ = ["beam_bounds_mm", "frame_job_text", "frame_toolpath", "safe_height_mm"]
