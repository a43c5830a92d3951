"""`lasergen frame`: trace a job's bounds on the machine with the beam off, at a safe height.

The frame is built by `lasergen.calib.frame` as a travel-only job in the job's own controller
language and streamed by `drivers.runner.JobRunner` through the session of the job's controller
family, like `lasergen stream` does: a refused line halts it with the beam off, and the
journal is kept (beside the temporary frame job, removed once the run has ended).
"""

from __future__ import annotations

import os
import tempfile
import urllib.parse
from pathlib import Path

import click

from lasergen_cli.common import Number, emit, job_file, job_machine_option, json_option, main

DEFAULT_SPEED_MM_S = 5.0


def _sim_port(port: str, machine) -> tuple[str, str | None]:
    """A sim:// URL for this machine's emulator, with a device name (the rig's ports meet on it)."""
    import hardware_sim.urlhandler

    url = hardware_sim.urlhandler.prepare_url(port, machine)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if "device" in query:
        return url, None
    name = f"frame-{os.getpid()}"
    return f"{url}{'&' if '?' in url else '?'}device={name}", name


@main.command()
@click.argument("job", type=click.Path(dir_okay=False), callback=job_file)
@click.option("--port", required=True, help="Serial port or pyserial URL: /dev/ttyUSB0, socket://127.0.0.1:PORT, sim://")
@job_machine_option
@click.option("--z-safe-mm", type=Number("z_mm"), default=None,
              help="Stage Z to trace at, mm (work coordinates); Z moves there first. Default: a flat job's frame "
                   "keeps Z where it is (the job never moves it either); a job in depth is framed at the Z that "
                   "focuses on the glass surface ([focus] z_surface_mm). Refused outside the Z travel, or on "
                   "a stage without a Z axis.")
@click.option("--speed-mm-s", type=Number("speed_mm_s"), default=DEFAULT_SPEED_MM_S, show_default=True,
              help="Speed along the frame's edges, mm/s (at most the machine's max rate); the approach is a rapid.")
@click.option("--loops", type=Number("count"), default=1, show_default=True,
              help="Times round the frame.")
@json_option
def frame(job, port, machine, z_safe_mm, speed_mm_s, loops, as_json):
    """Trace JOB's bounding box with the beam off, at a safe height, on its controller.

    \b
    The box holds every mark and every move the job makes with the beam switched on (raster
    lead-ins too), in the job's coordinates (an aligned job frames where it now lies). Z goes
    to the safe height first (--z-safe-mm), then a rapid to the bottom-left corner, then the four edges
    counter-clockwise at --speed-mm-s, --loops times. A frame outside the machine's travel is
    refused (exit 2); a stop mid-frame leaves the beam off (exit 2, one line says why)."""
    from drivers.runner import JobRunner, StreamStopped
    from lasergen import LasergenError
    from lasergen.calib.frame import frame_job_text
    from lasergen.job import read_job

    parsed = read_job(Path(job), machine)
    text, summary = frame_job_text(parsed, speed_mm_s, int(loops), z_safe_mm)
    sim_name = None
    if port.startswith("sim:"):
        port, sim_name = _sim_port(port, parsed.machine)
    try:
        with tempfile.TemporaryDirectory(prefix="lasergen-frame-") as tmp:
            frame_path = Path(tmp) / f"frame{Path(job).suffix or '.gcode'}"
            frame_path.write_text(text)
            runner = JobRunner(frame_path, port, parsed.machine, journal_path=Path(tmp) / "frame.journal")
            result = runner.run().to_dict()
    except StreamStopped as exc:  # nothing to resume: a frame writes nothing, it is simply run again
        raise LasergenError(f"frame {str(exc).split('; resume with')[0]}; run the frame again") from None
    finally:
        if sim_name is not None:
            from hardware_sim.device import forget_device

            forget_device(sim_name)
            forget_device(f"{sim_name}:attenuator")
    summary.update(job=job, lines_sent=result["lines_sent"], elapsed_s=round(result["elapsed_s"], 3),
                   device=result["device"])
    x0, y0, x1, y1 = summary["bounds_mm"]
    height = "" if summary["z_safe_mm"] is None else f" at Z {summary['z_safe_mm']:g} mm"
    emit(summary, as_json, f"framed {job}: X {x0:g}..{x1:g}, Y {y0:g}..{y1:g} mm{height}, {loops} loop(s) at "
                           f"{speed_mm_s:g} mm/s, beam off ({result['lines_sent']} lines)")
