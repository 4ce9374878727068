"""A throwaway PostgreSQL cluster on a loopback port, for the shared-journal tests and
benchmarks: ``initdb`` in a temporary folder, ``postgres`` started as a non-root user
(``initdb`` refuses root), stopped and removed at the end.

It uses the server binaries of the system's packages (``/usr/lib/postgresql/*/bin``, as
``apt-get install postgresql`` lays them out, or ``initdb`` on ``PATH``). Where they, or a
user to run them as, cannot be found, :func:`unavailable` says why and the tests skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "runway"
#: Settings for a cluster whose data nobody keeps: no syncs, so tests and CREATE DATABASE are
#: fast. Benchmarks pass ``durable=True`` and keep PostgreSQL's defaults.
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def server_bin() -> Path | None:
    """The folder of ``initdb`` and ``postgres``, newest version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
                   reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _run_as() -> str | None:
    """The user the server runs as: ourselves unless we are root (then ``postgres``)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    return None


def unavailable() -> str | None:
    """Why a cluster cannot be started here, or ``None`` when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'runway-dynamic[postgres]')"
    if server_bin() is None:
        return "PostgreSQL's server is not installed (apt-get install postgresql)"
    if os.geteuid() == 0 and _run_as() is None:
        return "running as root and no 'postgres' user to run the server as"
    return None


def _die_with_parent() -> None:
    """In the server's process: stop (fast shutdown) if the test process dies unannounced,
    so a killed test run leaves no server behind."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGINT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    """A running throwaway server; :meth:`database` makes a fresh database and its URL."""

    port: int
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def database(self, name: str) -> str:
        """Create database ``name`` (dropping one of that name) and return its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def cluster(*, durable: bool = False, max_connections: int = 200) -> Iterator[Cluster]:
    """Start a cluster, yield it, stop it and remove its files."""
    why = unavailable()
    if why is not None:
        raise RuntimeError(why)
    binaries = server_bin()
    assert binaries is not None
    user = _run_as()
    folder = Path(tempfile.mkdtemp(prefix="runway-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    as_user = {"user": user} if user is not None else {}
    data = folder / "data"
    subprocess.run([str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER,
                    "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"],
                   check=True, capture_output=True, **as_user)  # type: ignore[call-overload]
    port = _free_port()
    settings = ["listen_addresses=127.0.0.1", f"port={port}",
                f"unix_socket_directories={folder}", f"max_connections={max_connections}",
                "log_min_messages=fatal", *(() if durable else FAST)]
    argv = [str(binaries / "postgres"), "-D", str(data)]
    for setting in settings:
        argv += ["-c", setting]
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                               preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                               **as_user)  # type: ignore[call-overload]
    running = Cluster(port, folder, process)
    try:
        _wait_ready(running)
        yield running
    finally:
        process.send_signal(signal.SIGINT)  # "fast" shutdown: ends sessions, then stops
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(running: Cluster, timeout: float = 60.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        if running.process.poll() is not None:
            log = (running.folder / "server.log").read_text(errors="replace")
            raise RuntimeError(f"postgres exited at start:\n{log[-2000:]}")
        try:
            with psycopg.connect(running.url, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
