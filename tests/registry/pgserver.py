"""A throw-away PostgreSQL server for tests and benchmarks: initdb in a temporary folder,
listening on loopback (and a Unix socket inside that folder), trust authentication, fsync off.

    python tests/registry/pgserver.py start       # prints "URL FOLDER"; the server runs until `stop`
    python tests/registry/pgserver.py stop FOLDER
The folder is a fresh one in the system temporary directory (the server's user must reach it).
As root (CI), the server runs as the `postgres` system user, since PostgreSQL refuses root.
Binaries are taken from PATH, else from the newest /usr/lib/postgresql/*/bin (Debian).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]))
    return candidates[-1] if candidates else None


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start() -> tuple[str, Path]:
    """Start a server in a new temporary folder; returns (URL, folder). RuntimeError when it cannot."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found")
    folder = Path(tempfile.mkdtemp(prefix="lasergen-pg-"))
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no postgres user to run the server as") from None
        os.chown(folder, user.pw_uid, user.pw_gid)
    data, port = folder / "data", _free_port()
    run = lambda cmd: subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120)
    done = run([initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
    if done.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr.strip()[-300:]}")
    options = f"-h 127.0.0.1 -p {port} -k {folder} -F -c max_connections=50"
    done = run([pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "-t", "60", "start"])
    if done.returncode:
        log = (folder / "server.log").read_text()[-300:] if (folder / "server.log").exists() else ""
        stop(folder)
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {log}")
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    return url, folder


def stop(folder: str | Path) -> None:
    folder = Path(folder)
    pg_ctl = find_binary("pg_ctl")
    if pg_ctl and (folder / "data" / "postmaster.pid").exists():
        subprocess.run(_as_server_user([pg_ctl, "-D", str(folder / "data"), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=60)
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1] == "start":
        url, where = start()
        print(url, where)
    else:
        stop(sys.argv[2])
