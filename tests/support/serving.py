"""`casebook serve` as the installed console script runs it, its log (stderr) read as an
operator reads it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.base import ROOT, listening_on
from tests.support.helpers import INSTALLED_CASEBOOK
from tests.support.waiting import wait_until


class LoggedServe:
    """The installed `casebook serve`, its stderr (the log) kept apart from its stdout.

    `wrapper` runs it inside another command (`unshare … sh -c …` for a disk of its own)."""

    def __init__(self, config: Path, port: int, *global_args: str, wrapper: tuple[str, ...] = ()):
        self.port = port
        self.stderr = config.parent / "serve.stderr"
        with open(self.stderr, "wb") as err, open(config.parent / "serve.stdout", "wb") as out:
            self.proc = subprocess.Popen(
                [*wrapper, INSTALLED_CASEBOOK, "-c", str(config), *global_args, "serve"],
                cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            )  # fmt: skip
        wait_until(self.listening, "casebook serve to listen", timeout=15)

    def listening(self) -> bool:
        assert self.proc.poll() is None, self.log()
        return listening_on(self.port)

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def wait_for(self, text: str, count: int = 1, timeout: float = 20) -> str:
        """The log, once `text` is in it `count` times."""

        def logged() -> str | None:
            log = self.log()
            return log if log.count(text) >= count else None

        return wait_until(logged, f"{count} x {text!r} in the log", timeout, detail=self.log)

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.log()
