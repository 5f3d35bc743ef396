"""Run one command with a PostgreSQL: ``python -m tools.with_db CMD [ARGS...]``.

Uses ``DATABASE_URL`` when it is set; otherwise starts (or reuses) the embedded PostgreSQL of
the checkout and passes its URL to the command in ``DATABASE_URL``. Exits with the command's
exit code and stops the embedded server afterwards unless another process still uses it.

Like a shell running a foreground job, it leaves Ctrl-C to the command (which shares the
terminal's process group) and forwards SIGTERM and SIGHUP to it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from tools import embedded_db


def run(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    executable = shutil.which(argv[0])
    if executable is None:
        print(f"with_db: command not found: {argv[0]}", file=sys.stderr)
        return 127

    env = dict(os.environ)
    env["DATABASE_URL"] = embedded_db.ensure_database_url()
    if os.environ.get("PFS_DATA_DIR", "").strip():
        env["PFS_DATA_DIR"] = str(embedded_db.data_dir())

    child: subprocess.Popen | None = None

    def forward(signum: int, _frame: object) -> None:
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    previous = {
        # A Python-level no-op (not SIG_IGN, which the command would inherit): the command
        # gets Ctrl-C from the terminal itself.
        signal.SIGINT: signal.signal(signal.SIGINT, lambda *_: None),
        signal.SIGTERM: signal.signal(signal.SIGTERM, forward),
        signal.SIGHUP: signal.signal(signal.SIGHUP, forward),
    }
    try:
        child = subprocess.Popen([executable, *argv[1:]], env=env)
        returncode = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        embedded_db.stop_embedded()
    if returncode < 0:  # killed by a signal: report it the way a shell does
        return 128 - returncode
    return returncode


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
