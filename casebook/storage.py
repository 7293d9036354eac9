"""The archive cannot be written (a full disk, an I/O error): said once, as it is, no traceback.

`serve`'s worker retries by itself at every sweep and on every new mail; the operator needs one
line when the trouble starts (what it is, how much mail waits in the spool) and one when it
ends, not a traceback per sweep.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from pathlib import Path

from archive.record.db import ArchiveUnavailable, disk_full

log = logging.getLogger("casebook")


def storage_problem(exc: BaseException, database: Path | str | None = None) -> str | None:
    """What storage trouble `exc` is ("disk full", "disk I/O error"…); None if it is none.
    With the archive's path, an I/O error on a file system with no room left is a full disk."""
    if isinstance(exc, sqlite3.OperationalError):
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return "disk full"
        return "disk full" if database and disk_full(database) else str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "disk full"
    if isinstance(exc, ArchiveUnavailable | OSError):
        return str(exc)
    return None


class StorageWatch:
    """Remembers whether the archive is failing, so each outage is logged once."""

    def __init__(self) -> None:
        self.problem: str | None = None

    def failed(self, problem: str, waiting: int | None) -> None:
        """Archive writes fail with `problem`; `waiting`: messages in the spool, if known."""
        if problem == self.problem:  # said already: the retries are quiet (-v shows them)
            log.debug("archive write still failing: %s; retrying", problem)
            return
        self.problem = problem
        spool = f"; {waiting} message(s) wait in the spool" if waiting is not None else ""
        log.warning(
            "archive write failed: %s%s; nothing is lost, retrying by itself",
            problem,
            spool,
            extra={"outcome": "archive-unwritable"},
        )

    def succeeded(self) -> None:
        """An archive write went through: if it was failing, say it recovered."""
        if self.problem is None:
            return
        log.warning(
            "archive writes again (after: %s); the spool is processed",
            self.problem,
            extra={"outcome": "archive-writable"},
        )
        self.problem = None
