"""CLI commands that reach a device: `lasergen stream` and `lasergen sim serve`.

`stream` is a thin call of the public API (`lasergen.connect(...).stream(job)`), which reaches
the driver and the `sim://` scheme through their entry points, so the in-process emulator is
just another port; with a `sim://` port it also saves what the emulated laser did (the exposure
ledger) for `lasergen simulate`. On a terminal, keys p / r / a pause (feed hold), resume
(cycle start) and abort; Ctrl-C aborts safely (feed hold, soft reset, laser off).
"""

from __future__ import annotations

import os
import sys
import threading
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import click

from lasergen import LasergenError
from lasergen_cli.common import Number, emit, job_file, json_option, machine_option, main, warn
from lasergen_cli.registry_hooks import after_stream, before_stream, registry_options


def _named_sim_url(url: str) -> tuple[str, str | None]:
    """A sim:// URL with a device name, so the ledger can be read after the port closes."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    if "device" in query:
        return url, query["device"][-1]
    name = f"cli-{os.getpid()}"
    sep = "&" if parts.query else ""
    return f"sim://?{parts.query}{sep}device={name}", name


def _warn_unknown_material(url: str) -> None:
    """A sanity warning (stderr): sim://?material=XYZ names no material the simulator knows."""
    from hardware_sim.glass.material import Material

    for name in urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("material", []):
        if name not in Material.builtin() and not Path(name).is_file():
            warn(f"sim://: material {name!r} is unknown (built-in: {', '.join(Material.builtin())}, or a TOML file); "
                 f"the glass model cannot predict this sample")


def _keyboard(rig, stop: threading.Event):
    """p: pause, r: resume, a: abort — read in cbreak mode until the run ends."""
    import select
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    actions = {"p": rig.pause, "r": rig.resume_motion, "a": rig.abort}
    try:
        tty.setcbreak(fd)
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready and (action := actions.get(os.read(fd, 1).decode(errors="ignore").lower())):
                action()
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@main.command()
@click.argument("job", type=click.Path(dir_okay=False), callback=job_file)
@click.option("--port", required=True, help="Serial port or pyserial URL: /dev/ttyUSB0, socket://127.0.0.1:PORT, sim://")
@click.option("--resume", "resume_journal", default=None,
              help="Continue the run recorded in this journal (default: a new run).")
@click.option("--journal", default=None, help="Journal file for a new run (default: JOB.journal).")
@click.option("--ledger", default=None, help="sim:// only: where to save the exposure ledger (default JOB.ledger.npz).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@machine_option
@registry_options
@json_option
def stream(job, port, resume_journal, journal, ledger, progress, machine, as_json, registry_opt, registry_station):
    """Stream JOB to a GRBL 1.1 controller, with journal, progress, pause and safe resume.

    \b
    On a terminal: p pause (feed hold), r resume (cycle start), a abort (hold, reset, laser off);
    Ctrl-C aborts the same way."""
    import lasergen

    sim_name = None
    if port.startswith("sim:"):
        port, sim_name = _named_sim_url(port)
        _warn_unknown_material(port)
    if not Path(job).is_file():
        raise LasergenError(f"job file not found: {job}")
    from lasergen.job import read_job

    if read_job(Path(job), machine if machine != "default" else None, check_sum=False).controller != "grbl":
        raise LasergenError("this runner streams GRBL jobs only; the Session runner streams other controllers")
    interactive = sys.stderr.isatty() and sys.stdin.isatty()
    journal_path = Path(resume_journal or journal or f"{job}.journal")
    runner = SimpleNamespace(port=port, journal_path=journal_path)  # what the registry hooks record
    record = before_stream(job, registry_opt, registry_station)
    stop = threading.Event()
    with lasergen.connect(port, machine) as rig:
        if interactive:
            threading.Thread(target=_keyboard, args=(rig, stop), daemon=True).start()
        try:
            result = dict(rig.stream(job, journal=journal_path, resume=resume_journal is not None,
                                     progress_bar=interactive if progress is None else progress).figures)
        except BaseException as exc:
            after_stream(record, runner, error=exc)
            raise
        finally:
            stop.set()
            if sim_name is not None:
                result_ledger = _save_ledger(sim_name, ledger or f"{job}.ledger.npz", resume_journal is not None)
    result.update(job=job, journal=str(journal_path))
    if sim_name is not None:
        result["ledger"] = result_ledger
    after_stream(record, runner, result)
    extra = ""
    if result["uncertain"] or result["partial"]:
        extra = f"; {len(result['uncertain'])} mark(s) uncertain, {len(result['partial'])} cut by a stop (not rewritten)"
    emit(result, as_json, f"streamed {job}: {result['lines_sent']} lines, {result['exposed_now']} of "
                          f"{result['marks']} marks exposed in this run, {result['blanked']} skipped as already "
                          f"exposed ({result['lines_per_s']:.0f} lines/s){extra}")


def _save_ledger(name: str, path: str, append: bool) -> str:
    from hardware_sim.device import forget_device, get_device

    try:
        device = get_device(name)
    except KeyError:
        return ""
    ledger = device.ledger()
    forget_device(name)
    if hasattr(ledger, "save"):
        if append and Path(path).is_file():
            from hardware_sim.ledger import ExposureLedger

            ledger = ExposureLedger.concat([ExposureLedger.load(path), ledger])
        ledger.save(path)
    return path


@main.group()
def sim():
    """The simulated device."""


@sim.command()
@click.option("--pty", "use_pty", is_flag=True, help="Listen on a pseudo-terminal.")
@click.option("--tcp", "tcp_port", type=Number("tcp_port"), default=None, help="Listen on TCP 127.0.0.1:PORT (0: any free port); "
              "else give --pty.")
@click.option("--baud", type=Number("baud"), default=None, help="Emulate the byte time of this baud rate (default: no pacing).")
@click.option("--clock", type=click.Choice(["ff", "real"]), default="ff", show_default=True,
              help="Fast-forward simulated time, or run it at --speed x real time.")
@click.option("--speed", type=Number("speed_factor"), default=1.0, show_default=True, help="Time scale for --clock real (2: twice as fast).")
@click.option("--drop-after", type=Number("lines"), default=None, help="Fault: drop the link after N lines (default: never).")
@click.option("--error-on", default=None, help="Fault: answer line K with error:C, as K or K:C (C default 20).")
@click.option("--alarm-on", default=None, help="Fault: raise ALARM:A on line K, as K or K:A (A default 1).")
@click.option("--corrupt", type=Number("probability"), default=None, help="Fault: corrupt sent bytes with probability P (default: none).")
@click.option("--stall-after", type=Number("lines"), default=None, help="Fault: hang after N lines until a soft reset (default: never).")
@click.option("--seed", type=Number("seed"), default=None, help="Random seed of --corrupt (default 0).")
@machine_option
@json_option
def serve(use_pty, tcp_port, baud, clock, speed, machine, as_json, **faults):
    """Run the machine's controller emulator (GRBL 1.1, PI C-884, ...) for any client; prints where it
    listens (and where the rig's attenuator listens), runs until Ctrl-C."""
    from hardware_sim.device import Device
    from hardware_sim.faults import FaultPlan
    from hardware_sim.transport import PtyServer, TcpServer
    from lasergen.machine import MachineProfile

    if use_pty == (tcp_port is not None):
        raise LasergenError("give exactly one of --pty or --tcp PORT")
    plan = FaultPlan.from_options(faults)
    profile = MachineProfile.load(machine)
    rig = f"serve-{os.getpid()}"
    devices = [Device(profile, clock=clock, speed=speed, name=rig)]
    if profile.energy_mode == "attenuator":  # the whole rig: the attenuator on a port of its own
        devices.append(Device(profile, clock=clock, speed=speed, name=rig, port="attenuator"))
    servers, places = [], {}
    for device in devices:
        if use_pty:
            server = PtyServer(device, baud=baud, faults=plan if device.port == "stage" else None)
            places[device.port] = server.name
        else:
            server = TcpServer(device, port=tcp_port if device.port == "stage" else 0, baud=baud,
                               faults=plan if device.port == "stage" else None)
            places[device.port] = f"socket://127.0.0.1:{server.port}"
        servers.append(server)
    where = places["stage"]
    text = f"listening on {where}" + (f" (attenuator on {places['attenuator']})" if "attenuator" in places else "")
    emit({"listening": where, "controller": profile.controller, **({"attenuator": places["attenuator"]}
                                                                    if "attenuator" in places else {})}, as_json, text)
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.close()
        for device in devices:
            device.stop()
