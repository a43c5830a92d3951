"""One Ctrl-C, one line, exit 2: never a process killed by SIGINT (returncode -2).

CPython run as `python -m` kills itself with SIGINT at exit when a KeyboardInterrupt ever
escaped an exec()/eval() of source text, even one caught later (dataclasses and namedtuple
build methods that way, so a Ctrl-C landing during a lazy import leaves that mark). The first
test leaves the mark on purpose as the command exits (a sitecustomize; any later exec of
source text would clear it, which is why real runs fail only now and then), so it fails
without the fix every time; the second signals a real `lasergen stream` at many moments of its
start-up (imports, job preparation, connect, first lines), as the fault campaign does."""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from lasergen_cli import main

from .blackbox import SENDER, Rig

STALE_MARK = """\
import os, signal, sys

_exit = sys.exit


def exit_with_the_mark(code=None):  # the command's last step (fail() exits through sys.exit)
    try:  # a KeyboardInterrupt escapes an exec of source text, and is handled
        exec("os.kill(os.getpid(), signal.SIGINT)\\nfor _ in range(100): pass")
    except KeyboardInterrupt:
        pass
    _exit(code)


sys.exit = exit_with_the_mark
"""

def test_a_handled_ctrl_c_inside_exec_source_still_exits_2(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(STALE_MARK)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([SENDER, "-m", "lasergen", "stream", str(tmp_path / "missing.gcode"), "--port", "sim://"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lasergen: error:") and "not found" in lines[0], lines


# A Ctrl-C that lands while a class is being created (a descriptor's __set_name__: dataclasses,
# cached_property, enum) reaches the caller wrapped, as RuntimeError "Error calling __set_name__"
# (Python 3.11). The hook makes it land there on the first import of MODULE, at a moment of the
# stream command's start-up: during the command line's own import, or during a lazy import
# once the command runs.
WRAPPED_CTRL_C = """\
import importlib.abc, os, signal, sys

MODULE = os.environ["CTRL_C_AT_IMPORT_OF"]


class CtrlCInClassSetUp(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == MODULE:
            sys.meta_path.remove(self)

            class LandsHere:
                def __set_name__(self, owner, attr):
                    os.kill(os.getpid(), signal.SIGINT)
                    for _ in range(10_000_000):  # the signal handler runs in here
                        pass

            class Host:
                slot = LandsHere()
        return None


sys.meta_path.insert(0, CtrlCInClassSetUp())
"""


@pytest.mark.parametrize("module", ["lasergen_cli.common", "drivers.runner"])
def test_a_ctrl_c_wrapped_by_class_set_up_still_exits_2_with_one_line(tmp_path, module):
    job = tmp_path / "dot.gcode"
    assert CliRunner().invoke(main, ["qr", "A", "--micro", "yes", "--mode", "dots", "--dwell-s", "0.02",
                                     "-o", str(job)]).exit_code == 0
    (tmp_path / "sitecustomize.py").write_text(WRAPPED_CTRL_C)
    env = {**os.environ, "CTRL_C_AT_IMPORT_OF": module,
           "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([SENDER, "-m", "lasergen", "stream", str(job), "--port", "sim://"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lasergen: error:") and "nterrupt" in lines[0], lines
    assert not list(tmp_path.glob("*.journal*")), "nothing was sent, so no journal may demand --resume"


def _past_interpreter_start(pid: int, limit_s: float = 20.0) -> None:
    """Wait until the stream command imports numpy (the runner's first import): from then on
    lasergen's own Ctrl-C handling is in place (before it, the interpreter is still booting)."""
    t_end = time.monotonic() + limit_s
    while time.monotonic() < t_end:
        try:
            if "_multiarray_umath" in open(f"/proc/{pid}/maps").read():
                return
        except OSError:
            return
        time.sleep(0.002)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_one_sigint_at_any_start_up_moment_exits_2_with_one_line(tmp_path, machine):
    job = tmp_path / "dots.gcode"
    assert CliRunner().invoke(main, ["qr", "A", "--micro", "yes", "--mode", "dots", "--dwell-s", "0.02",
                                     "-o", str(job)]).exit_code == 0
    rig = Rig(machine, speed=50.0)
    outcomes = []
    try:
        for k, delay_s in enumerate([0.0, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.8]):
            run = tmp_path / f"moment{k}"
            run.mkdir()
            shutil.copy(job, run / job.name)
            t0 = time.monotonic()
            proc = rig.start(run / job.name)
            _past_interpreter_start(proc.pid)
            time.sleep(delay_s)
            proc.send_signal(signal.SIGINT)
            done = rig.finish(proc, t0)
            outcomes.append((delay_s, done.code, done.stderr.strip().splitlines()))
    finally:
        rig.close()
    for delay_s, code, lines in outcomes:
        assert code in (0, 2), (delay_s, code, lines)  # 0: the job was already complete
        if code == 2:
            assert len(lines) == 1 and lines[0].startswith("lasergen: error:") and "nterrupt" in lines[0], lines
