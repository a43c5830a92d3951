"""CLI commands that reach a device: `lasergen stream` and `lasergen sim serve`.

`stream` is a thin call of the public API (`lasergen.connect(port, machine).stream(job)`, whose
port seam makes the in-process emulator `sim://` just another port); with a `sim://` port it
also saves what the emulated laser did (the exposure ledger) for `lasergen simulate`, and a
completed run's journal on a device made for the run is removed (nothing can resume there). On a terminal, keys p / r / a pause (feed hold), resume
(cycle start) and abort; Ctrl-C aborts safely (feed hold, soft reset, laser off). `sim serve`
runs an emulated controller that outlives its clients, for any sender.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import urllib.parse
from pathlib import Path

import click

from lasergen import LasergenError
from lasergen_cli.common import Number, emit, job_file, job_machine_option, json_option, machine_option, main, warn
from lasergen_cli.registry_hooks import after_stream, before_stream, registry_options


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
@click.option("--resume", "resume_journal", is_flag=False, flag_value="", default=None,
              help="Continue the interrupted run of JOB on this device (its own journal); or give a journal file "
                   "as --resume=FILE (default: a new run).")
@click.option("--resume-on", default=None, metavar="DEVICE",
              help="With --resume: continue here a run recorded on DEVICE (the key the refusal names); the marks "
                   "in flight when it stopped are skipped and listed.")
@click.option("--journal", default=None,
              help="Journal file (default: JOB.<device>.journal beside the job, one per device).")
@click.option("--ledger", default=None, help="sim:// only: where to save the exposure ledger (default JOB.ledger.npz).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@job_machine_option
@registry_options
@json_option
def stream(job, port, resume_journal, resume_on, journal, ledger, progress, machine, as_json, registry_opt,
           registry_station):
    """Stream JOB to its controller (GRBL 1.1, PI C-884, ...), with journal, progress, pause and safe resume.

    \b
    On a terminal, keys:
      p  pause (feed hold, beam off)
      r  resume (cycle start)
      a  abort (the safe stop: beam off, controller reset, journal closed)
    Ctrl-C stops the same safe way; a second Ctrl-C only shortens the waits. Exit 0 when the
    job is complete, 2 when it stopped (one line says why and how to resume)."""
    from lasergen import connect

    on_sim = port.startswith("sim:")
    if on_sim:
        _warn_unknown_material(port)
    if not Path(job).is_file():
        raise LasergenError(f"job file not found: {job}")
    if resume_on and resume_journal is None:
        raise LasergenError("--resume-on needs --resume")
    if resume_journal and not Path(resume_journal).is_file():
        # a named journal that is not there is a typo or a wrong folder, not "nothing was sent":
        # starting over would write again every mark the interrupted run wrote
        raise LasergenError(f"--resume={resume_journal}: journal not found; name the journal the interrupted run "
                            f"wrote (its --journal), or pass --resume alone to use this device's own")
    if not Path(job).stat().st_size:
        raise LasergenError(f"{job} is empty: nothing to stream")
    interactive = sys.stderr.isatty() and sys.stdin.isatty()
    with connect(port, _job_machine(job, machine)) as rig:
        record = before_stream(job, registry_opt, registry_station)
        stop = threading.Event()
        if interactive:
            threading.Thread(target=_keyboard, args=(rig, stop), daemon=True).start()
        quiet = {}  # once the run is over (journal closed), a Ctrl-C must not cut its report short
        try:
            try:
                run = rig.stream(job, journal=resume_journal or journal, resume=resume_journal is not None,
                                 resume_on=resume_on, progress_bar=interactive if progress is None else progress)
                if threading.current_thread() is threading.main_thread():
                    quiet = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
            except BaseException as exc:
                after_stream(record, rig, error=exc)
                raise
            finally:
                stop.set()
                if on_sim:  # what the emulated laser did, for `lasergen simulate`; a resume on a device
                    # made for this run adds to the file what the interrupted run left there
                    result_ledger = rig.save_ledger(ledger or f"{job}.ledger.npz",
                                                    append=resume_journal is not None and rig.transient) or ""
            _report(run.figures, rig, job, result_ledger if on_sim else None, as_json, record)
        finally:
            if not _as_program():  # the lasergen program keeps ignoring them until it exits (a signal
                for sig, previous in quiet.items():  # during interpreter teardown would kill it, exit -2)
                    signal.signal(sig, previous)


def _as_program() -> bool:
    """Whether this process is the `lasergen` program (console script or python -m lasergen)."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    return (spec is not None and spec.name == "lasergen.__main__") or \
        Path(getattr(main_module, "__file__", "") or "").name == "lasergen"


def _job_machine(job: str, machine: str | None):
    """The profile to stream with: the one given (of the job's controller), else the job's own.
    Only the header is read: a big job's body is the runner's to read, lazily."""
    from lasergen.job import job_language, machine_for, parse_header

    with open(job, "rb") as f:
        head = f.read(200_000).decode("utf-8", errors="replace").split("\n")[:-1]
    manifest, _ = parse_header(head) if head and head[0].startswith(";@lasergen ") else (None, 0)
    return machine_for(job_language(head[0] if head else ""), manifest, machine)


def _report(figures: dict, rig, job: str, result_ledger, as_json: bool, record=None):
    journal = rig.journal_path
    if rig.transient and journal is not None and figures["status"] == "complete":
        Path(journal).unlink(missing_ok=True)  # that emulator goes with the rig: nothing can be resumed on it
    result = {k: v for k, v in figures.items() if k != "journal"}
    result.update(job=job, journal=str(journal))
    if result_ledger is not None:
        result["ledger"] = result_ledger
    after_stream(record, rig, result)
    extra = ""
    if result["uncertain"] or result["partial"]:
        extra = (f"; {len(result['uncertain'])} mark(s) uncertain, {len(result['partial'])} cut by a stop: treated "
                 f"as exposed, not rewritten (numbers in --json)")
    emit(result, as_json, f"streamed {job}: {result['lines_sent']} lines, {result['exposed_now']} of "
                          f"{result['marks']} marks exposed in this run, {result['skipped']} skipped as already "
                          f"exposed ({result['lines_per_s']:.0f} lines/s){extra}")


@main.group()
def sim():
    """The simulated device."""


@sim.command()
@click.option("--pty", "use_pty", is_flag=True, help="Listen on a pseudo-terminal (prints its /dev/pts path).")
@click.option("--tcp", "tcp_port", type=Number("tcp_port"), default=None,
              help="Listen on TCP 127.0.0.1:PORT, one client at a time (0: any free port); else give --pty.")
@click.option("--baud", type=Number("baud"), default=None,
              help="Emulate the byte time of this baud rate (default: no link pacing).")
@click.option("--clock", type=click.Choice(["real", "ff"]), default="real", show_default=True,
              help="real: motion takes its time (x --speed), as on a controller; ff: fast-forward.")
@click.option("--speed", type=Number("speed_factor"), default=1.0, show_default=True,
              help="Simulated seconds per wall-clock second with --clock real (tests run faster).")
@click.option("--ledger", "ledger_path", default=None,
              help="Save the exposure ledger (what the beam did, all clients) here on 'save' and on exit (.npz); "
                   "default: none, 'save FILE' still works.")
@click.option("--drop-after", type=Number("lines"), default=None, help="Fault: drop the link after N lines (default: never).")
@click.option("--error-on", default=None, help="Fault: answer line K with error:C, as K or K:C (C default 20).")
@click.option("--alarm-on", default=None, help="Fault: raise ALARM:A on line K, as K or K:A (A default 1).")
@click.option("--alarm-at", default=None, help="Fault: ALARM:A once line K's motion has run D um, as K:D or K:D:A (default: never).")
@click.option("--corrupt", type=Number("probability"), default=None, help="Fault: corrupt sent bytes with probability P, 0..1 (default: none).")
@click.option("--stall-after", type=Number("lines"), default=None, help="Fault: hang after N lines until a soft reset (default: never).")
@click.option("--reset-after", type=Number("lines"), default=None, help="Fault: soft-reset the controller after N lines (default: never).")
@click.option("--power-after", type=Number("lines"), default=None, help="Fault: power-cycle the controller after N lines (default: never).")
@click.option("--seed", type=Number("seed"), default=None, help="Random seed of --corrupt (default 0).")
@machine_option
@json_option
def serve(use_pty, tcp_port, baud, clock, speed, ledger_path, machine, as_json, **faults):
    """Run the machine's controller emulator (GRBL 1.1, PI C-884, ...) for any sender, until
    Ctrl-C or 'quit'; prints where it listens (and where the rig's attenuator listens).

    The emulated controller outlives its clients: position, queue and exposure record stay
    across connections. Faults apply to each client's connection, lines counted from 1.
    Commands on standard input, one a line: 'save [FILE]' (the ledger), 'reset' (soft reset,
    as 0x18), 'power' (power loss and boot), 'status', 'quit'. SIGUSR1 saves the ledger."""
    import signal

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
    device = devices[0]  # the stage controller: what the commands below act on
    servers, places = [], {}
    try:
        for dev in devices:
            if use_pty:
                server = PtyServer(dev, baud=baud, faults=plan if dev.port == "stage" else None)
                places[dev.port] = server.name
            else:
                server = TcpServer(dev, port=tcp_port if dev.port == "stage" else 0, baud=baud,
                                   faults=plan if dev.port == "stage" else None)
                places[dev.port] = f"socket://127.0.0.1:{server.port}"
            servers.append(server)
    except OSError as exc:
        for dev in devices:
            dev.stop()
        raise LasergenError(f"cannot listen on 127.0.0.1:{tcp_port}: {exc.strerror}") from None
    where = places["stage"]
    text = f"listening on {where}" + (f" (attenuator on {places['attenuator']})" if "attenuator" in places else "")
    emit({"listening": where, "controller": profile.controller, **({"attenuator": places["attenuator"]}
                                                                    if "attenuator" in places else {})}, as_json, text)
    sys.stdout.flush()
    done = threading.Event()

    def save(path=None):
        target = path or ledger_path
        if not target:
            return "no ledger file: give 'save FILE' or --ledger FILE"
        device.ledger().save(target)
        return f"saved {target}"

    commands = {"save": save, "reset": lambda: device.call(lambda e: e.soft_reset()) or "reset",
                "power": lambda: device.call(lambda e: e.power_cycle()) or "power cycled",
                "status": lambda: device.call(lambda e: e.status_report()), "quit": lambda: done.set() or "bye"}

    def control():
        for line in sys.stdin:
            word, *args = line.split() or [""]
            if word in commands:
                try:
                    click.echo(commands[word](*args[:1]))
                except (TypeError, AttributeError, OSError, LasergenError) as exc:
                    click.echo(f"error: {exc}")
            elif word:
                click.echo(f"unknown command {word!r} (known: {', '.join(commands)})")
            sys.stdout.flush()

    threading.Thread(target=control, name="serve-control", daemon=True).start()
    signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=save, daemon=True).start())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.close()
        if ledger_path:
            save()
        for dev in devices:
            dev.stop()
