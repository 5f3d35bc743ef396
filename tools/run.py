"""``make run``: the whole application on this machine, with demo data.

1. ``DATABASE_URL``, or the embedded PostgreSQL of the checkout when it is unset;
2. ``manage.py migrate`` and ``manage.py seed_demo`` (idempotent; prints the demo logins);
3. three processes: the web server on http://127.0.0.1:$PORT/ (default 8000), a Celery worker
   and Celery beat, on Redis when ``REDIS_URL`` is set, otherwise on kombu's filesystem
   transport under ``$PFS_DATA_DIR/broker``;
4. waits until ``/health/`` reports every check ok and prints where to log in.

Ctrl-C (or SIGTERM/SIGHUP) stops the three processes (SIGTERM, then SIGKILL after 10 s) and
then the embedded PostgreSQL; the data stays in the data folder for the next run. If one of
the processes dies on its own, the others are stopped and the exit code is non-zero.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools import embedded_db

CHECKOUT_DIR = embedded_db.CHECKOUT_DIR
HOST = "127.0.0.1"
STOP_GRACE_SECONDS = 10.0
HEALTH_TIMEOUT_SECONDS = 120.0
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

_print_lock = threading.Lock()

# Linux: children get SIGTERM if this supervisor dies without stopping them (e.g. SIGKILL).
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
except (OSError, AttributeError):
    _prctl = None
_PR_SET_PDEATHSIG = 1


class Stop(Exception):
    """A stop was requested by a signal."""


def say(message: str, *, err: bool = False) -> None:
    # Never raises: a closed terminal or pipe must not stop the shutdown half-way.
    with _print_lock, contextlib.suppress(OSError, ValueError):
        print(message if err else f"run: {message}", file=sys.stderr if err else sys.stdout, flush=True)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    pump: threading.Thread | None = None
    started_at: float = field(default=0.0)

    def start(self, env: dict[str, str]) -> None:
        """Start the process; its output is read once ``start_pump()`` is called."""
        # Each child leads its own process group: Ctrl-C in the terminal reaches only this
        # supervisor, which then stops the children in order (and can kill a whole group).
        supervisor = os.getpid()
        sigterm = int(signal.SIGTERM)

        def die_with_supervisor() -> None:  # runs in the child between fork and exec
            if _prctl is not None:
                _prctl(_PR_SET_PDEATHSIG, sigterm)
                if os.getppid() != supervisor:
                    os._exit(1)

        self.proc = subprocess.Popen(
            self.argv,
            cwd=CHECKOUT_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            # preexec_fn is safe here: children are started before any pump thread exists.
            preexec_fn=die_with_supervisor,
        )
        self.started_at = time.monotonic()

    def start_pump(self) -> None:
        self.pump = threading.Thread(target=self._pump, name=f"pump-{self.name}", daemon=True)
        self.pump.start()

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        prefix = f"{self.name:<6}| "
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with _print_lock, contextlib.suppress(OSError, ValueError):
                sys.stdout.write(prefix + line + "\n")
                sys.stdout.flush()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Supervisor:
    def __init__(self) -> None:
        self.children: list[Child] = []
        self.setup_proc: subprocess.Popen | None = None
        self.stop_requested: str | None = None
        self.defer_stop = False
        self.port = _port()
        self.base_url = f"http://{HOST}:{self.port}/"
        self.data_dir = embedded_db.data_dir()
        self.pidfile = self.data_dir / "run.pid"
        self.owns_pidfile = False
        self.env = dict(os.environ)

    # --- signals ---------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, _frame: object) -> None:
        first = self.stop_requested is None
        self.stop_requested = signal.Signals(signum).name
        if self.setup_proc is not None and self.setup_proc.poll() is None and signum != signal.SIGINT:
            # Ctrl-C already reached the setup command (same process group); other signals do not.
            with contextlib.suppress(ProcessLookupError):
                self.setup_proc.send_signal(signal.SIGTERM)
        if first and not self.defer_stop:
            raise Stop

    # --- steps -----------------------------------------------------------------------------

    def prepare_environment(self) -> None:
        env = self.env
        env.setdefault("DJANGO_DEBUG", "true")
        env["PYTHONUNBUFFERED"] = "1"
        if os.environ.get("PFS_DATA_DIR", "").strip():
            env["PFS_DATA_DIR"] = str(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env["DATABASE_URL"] = embedded_db.ensure_database_url()
        if self.redis_url:
            self.broker = f"Redis ({_redact(self.redis_url)})"
        else:
            broker_dir = Path(env.get("CELERY_BROKER_DIR", "").strip() or self.data_dir / "broker")
            for sub in ("queue", "control", "processed"):
                (broker_dir / sub).mkdir(parents=True, exist_ok=True)
            self.broker = f"filesystem transport in {_display(broker_dir)} (no REDIS_URL set)"

    @property
    def redis_url(self) -> str:
        return self.env.get("REDIS_URL", "").strip()

    @property
    def debug(self) -> bool | None:
        raw = self.env.get("DJANGO_DEBUG", "").strip().lower()
        return True if raw in _TRUE else False if raw in _FALSE else None

    def manage(self, *args: str, capture: bool = False) -> str:
        """Run a management command in the foreground; stop everything if it fails."""
        argv = [sys.executable, "manage.py", *args]
        say(f"$ manage.py {' '.join(args)}")
        self.setup_proc = subprocess.Popen(
            argv,
            cwd=CHECKOUT_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else None,
        )
        out_bytes, _ = self.setup_proc.communicate()
        code = self.setup_proc.returncode
        self.setup_proc = None
        if code != 0:
            raise SystemExit(f"run: `manage.py {' '.join(args)}` failed with exit code {code}")
        return (out_bytes or b"").decode("utf-8", errors="replace")

    def stop_setup_command(self) -> None:
        proc, self.setup_proc = self.setup_proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            proc.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def check_not_running_already(self) -> None:
        """Refuse a second ``make run`` on this checkout; clean up after one that was killed."""
        import psutil

        try:
            state = json.loads(self.pidfile.read_text())
        except (OSError, ValueError):
            return
        owner = state.get("pid")
        if isinstance(owner, int) and owner != os.getpid() and psutil.pid_exists(owner):
            with contextlib.suppress(psutil.Error):
                if "tools.run" in " ".join(psutil.Process(owner).cmdline()):
                    raise SystemExit(
                        f"run: `make run` is already running for this checkout (pid {owner}); stop it first."
                    )
        leftovers = []
        for name, (pid, created) in state.get("children", {}).items():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if abs(proc.create_time() - created) < 1:
                    leftovers.append((name, pid))
        for name, pid in leftovers:
            say(f"stopping the {name} process (pid {pid}) left over by a run that was killed")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        self.pidfile.unlink(missing_ok=True)

    def write_pidfile(self) -> None:
        import psutil

        children = {}
        for child in self.children:
            if child.proc is not None:
                with contextlib.suppress(psutil.Error):
                    children[child.name] = [child.proc.pid, psutil.Process(child.proc.pid).create_time()]
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        self.pidfile.write_text(json.dumps({"pid": os.getpid(), "children": children}))
        self.owns_pidfile = True

    def check_port_free(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, self.port))
            except OSError:
                raise SystemExit(
                    f"run: port {self.port} on {HOST} is already in use; stop what uses it or set PORT=..."
                ) from None

    def start_children(self) -> None:
        py = sys.executable
        schedule = self.data_dir / "celerybeat-schedule"
        celery = [py, "-m", "celery", "-A", "config"]
        self.children = [
            Child("web", [py, "manage.py", "runserver", f"{HOST}:{self.port}", "--noreload"]),
            Child("worker", [*celery, "worker", "--loglevel=INFO", "--concurrency=2", "--pool=prefork"]),
            Child("beat", [*celery, "beat", "--loglevel=INFO", f"--schedule={schedule}"]),
        ]
        for child in self.children:
            child.start(self.env)
        for child in self.children:
            child.start_pump()
        self.write_pidfile()

    def dead_child(self) -> Child | None:
        for child in self.children:
            if not child.running():
                return child
        return None

    def wait_until_healthy(self) -> dict | None:
        """Poll /health/ until every check is ok; None if that did not happen in time."""
        deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
        last: dict | None = None
        while time.monotonic() < deadline:
            self.fail_if_a_child_died()
            status, body = _get(self.base_url + "health/")
            if status is not None:
                with contextlib.suppress(ValueError):
                    last = json.loads(body)
                if status == 200 and last and last.get("status") == "ok":
                    return last
            time.sleep(0.5)
        if last is not None:
            failing = {
                name: check.get("error", "not ok") if isinstance(check, dict) else check
                for name, check in (last.get("checks") or {}).items()
                if not _check_ok(check)
            }
            say(f"warning: /health/ still reports problems after {HEALTH_TIMEOUT_SECONDS:.0f}s: {failing}")
        else:
            say(f"warning: the web server did not answer within {HEALTH_TIMEOUT_SECONDS:.0f}s")
        return None

    def fail_if_a_child_died(self) -> None:
        dead = self.dead_child()
        if dead is not None and self.stop_requested is None:
            assert dead.proc is not None
            if dead.pump is not None:
                dead.pump.join(timeout=2)  # flush its last output lines first
            raise SystemExit(
                f"run: the {dead.name} process exited unexpectedly with code {dead.proc.returncode}; "
                "stopping the others."
            )

    def stop_children(self) -> None:
        running = [c for c in self.children if c.running()]
        if running:
            say(f"stopping {', '.join(c.name for c in running)}...")
        for child in running:
            assert child.proc is not None
            with contextlib.suppress(ProcessLookupError):
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            assert child.proc is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for child in self.children:
            if child.proc is None:
                continue
            if child.proc.poll() is None:
                say(f"{child.name} did not stop within {STOP_GRACE_SECONDS:.0f}s; killing it")
            # Kill the whole group: also catches pool processes a dead worker left behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGKILL)
            child.proc.wait()
            if child.pump is not None:
                child.pump.join(timeout=2)
        self.children = []
        if self.owns_pidfile:
            self.pidfile.unlink(missing_ok=True)
            self.owns_pidfile = False

    # --- main --------------------------------------------------------------------------------

    def run(self) -> int:
        started = time.monotonic()
        self.install_signal_handlers()
        try:
            self.check_not_running_already()
            self.write_pidfile()
            self.check_port_free()
            self.prepare_environment()
            if self.debug is False:
                self.manage("collectstatic", "--noinput", "-v", "0")
            self.manage("migrate", "--noinput")
            seed_output = ""
            if self.debug is False:
                say("DJANGO_DEBUG is off: not loading demo data (seed_demo runs only with debug on)")
            else:
                say("loading demo data if missing (the first run takes a little while)")
                seed_output = self.manage("seed_demo", capture=True)
            self.check_port_free()
            say("starting web, worker and beat...")
            self.defer_stop = True  # never leave a started child untracked
            try:
                self.start_children()
            finally:
                self.defer_stop = False
            if self.stop_requested:
                raise Stop
            health = self.wait_until_healthy()
            self.banner(seed_output, health, time.monotonic() - started)
            while True:
                self.fail_if_a_child_died()
                time.sleep(0.5)
        except Stop:
            say(f"{self.stop_requested or 'stop'} received, shutting down")
            return 0
        except SystemExit as exc:
            if isinstance(exc.code, str):
                say(exc.code, err=True)
                return 1
            return exc.code or 0
        finally:
            # Ignore further Ctrl-C while shutting down, so the database is always stopped.
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, lambda *_: None)
            stopping = time.monotonic()
            had_something = bool(self.children) or embedded_db.is_started()
            for step in (self.stop_setup_command, self.stop_children, embedded_db.stop_embedded):
                try:
                    step()
                except Exception as exc:  # keep going: the next step must still run
                    say(f"error while stopping ({step.__name__}): {exc!r}", err=True)
            if had_something:
                say(f"stopped (shutdown took {time.monotonic() - stopping:.1f}s)")

    def banner(self, seed_output: str, health: dict | None, elapsed: float) -> None:
        bar = "=" * 78
        lines = [
            "",
            bar,
            f"  Ready in {elapsed:.1f}s: open {self.base_url}"
            + ("" if health else "   (not every /health/ check is ok yet, see above)"),
            f"  Broker:   {self.broker}",
            f"  Database: {_redact(self.env['DATABASE_URL'])}",
            f"  Data:     {_display(self.data_dir)}",
        ]
        if seed_output.strip():
            lines += ["", "  Demo logins (from manage.py seed_demo):", ""]
            lines += [f"  {line}" for line in seed_output.rstrip().splitlines()]
        lines += ["", "  Press Ctrl-C to stop.", bar, ""]
        with _print_lock, contextlib.suppress(OSError, ValueError):
            print("\n".join(lines), flush=True)


def _port() -> int:
    raw = os.environ.get("PORT", "").strip() or "8000"
    try:
        port = int(raw)
    except ValueError:
        raise SystemExit(f"run: PORT={raw!r} is not a port number") from None
    if not 0 < port < 65536:
        raise SystemExit(f"run: PORT={port} is out of range")
    return port


def _check_ok(check: object) -> bool:
    if isinstance(check, dict):
        return check.get("ok") is True or check.get("status") == "ok"
    return check is True or check == "ok"


def _get(url: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (fixed http://127.0.0.1 URL)
            return resp.status, resp.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError):
        return None, ""


def _redact(url: str) -> str:
    """Hide a password in a URL before printing it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(CHECKOUT_DIR))
    except ValueError:
        return str(path)


def main() -> None:
    os.chdir(CHECKOUT_DIR)
    sys.exit(Supervisor().run())


if __name__ == "__main__":
    main()
