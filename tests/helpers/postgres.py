"""A throwaway PostgreSQL server for the tests: its own data directory, a Unix socket, no TCP.

Debian's ``postgresql`` package provides the binaries (``.ci/run`` installs it when missing);
the server is started here because a session's servers do not outlive it. PostgreSQL refuses to
run as root, so under root it runs as the ``postgres`` user the package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb`` and ``postgres``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server in a new temporary directory; yield a SQLAlchemy URL of a fresh database
    ``tuning`` on it; stop it and delete everything at the end.

    The directory is made here, not in pytest's ``tmp_path``: that one sits under a root-only
    directory the ``postgres`` user cannot enter.
    """
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql (.ci/run does)")
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server will not start as root
        as_user = ["runuser", "-u", "postgres", "--"]
        account = pwd.getpwnam("postgres")
    root = Path(tempfile.mkdtemp(prefix="tuning-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir(exist_ok=True)
    if as_user:
        for path in (root, sock):
            os.chown(path, account.pw_uid, account.pw_gid)
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--locale=C"], **run)
    log = root / "server.log"
    if as_user:
        log.touch()
        os.chown(log, account.pw_uid, account.pw_gid)
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                    "-o", f"-p {port} -k {sock} -c listen_addresses='' -c fsync=off", "start"], **run)
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([str(bin_dir / "pg_isready"), "-h", str(sock), "-p", str(port)],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        subprocess.run([str(bin_dir / "createdb"), "-h", str(sock), "-p", str(port), "-U", "postgres", "tuning"], **run)
        yield f"postgresql://postgres@/tuning?host={sock}&port={port}"  # no driver named, as the docs write it
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
