"""`casebook restore BACKUP`: a backup back in place of the archive, atomically.

Who may be using the archive is told by a lock file beside it, `<db>.lock`: `serve` (both of
its processes) and `ingest` hold it shared for as long as they use the archive, `restore`
takes it exclusively. A lease would not do: the sender holds the mailer lease only while it
sends, so a running `serve` between two sends looks absent. The kernel drops a flock when its
process dies, kill -9 included, so a crash never leaves a stale lock behind.

The spool needs nothing: its rows are named by random delivery keys, so the next `tick` or
`serve` releases the rows the restored archive holds and ingests those it lacks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import IO

from archive.db import open_archive
from archive.schema import migrations


class ArchiveInUse(Exception):
    """Another casebook process has the archive open; the message says what to do."""


class NotABackup(Exception):
    """The file is not a casebook archive this version can use; the message says why."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def hold_archive(database: Path) -> IO:
    """A shared hold on the archive until the returned file is closed (or the process ends).

    Refused at once while a restore is replacing the archive.
    """
    lock = _open_lock(database)
    try:
        fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise ArchiveInUse(f"{database} is being restored; try again when that is done") from None
    return lock


def _open_lock(database: Path) -> IO:
    database.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    return os.fdopen(fd, "r+b")


def restore_archive(database: Path, backup: Path, now: datetime) -> Path | None:
    """Put a copy of `backup` in place of `database`; where the old archive was set aside."""
    with _open_lock(database) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveInUse(
                "casebook is running (serve or ingest holds the archive); stop the service first"
            ) from None
        check_backup(backup)
        owner = _owner_of(database)
        temp = database.with_name(f".{database.name}.restoring-{os.getpid()}")
        try:
            _copy_backup(backup, temp)
            _give(temp, owner)
            _give(lock_path(database), owner[:2] + (None,))
            aside = _set_aside(database, now)
            os.replace(temp, database)
            _fsync_folder(database.parent)
        finally:
            temp.unlink(missing_ok=True)
    return aside


def _owner_of(database: Path) -> tuple[int, int, int | None]:
    """(uid, gid, mode) the restored archive takes: those of the archive it replaces, so a
    restore run as root leaves one the service's user can still open; with no archive yet,
    the owner of its folder (StateDirectory's user) and mode 0600."""
    try:
        found = database.stat()
        return found.st_uid, found.st_gid, found.st_mode & 0o777
    except FileNotFoundError:
        folder = database.parent.stat()
        return folder.st_uid, folder.st_gid, None


def _give(path: Path, owner: tuple[int, int, int | None]) -> None:
    uid, gid, mode = owner
    if os.geteuid() == 0 and (path.stat().st_uid, path.stat().st_gid) != (uid, gid):
        os.chown(path, uid, gid)
    if mode is not None:
        os.chmod(path, mode)


def check_backup(backup: Path) -> None:
    """Refuse anything but an intact casebook archive whose migrations this version knows."""
    if not backup.is_file():
        raise NotABackup(f"{backup}: no such file")
    try:
        conn = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise NotABackup(f"{backup}: cannot be opened: {exc}") from None
    try:
        if conn.execute("PRAGMA integrity_check").fetchall() != [("ok",)]:
            raise NotABackup(f"{backup}: damaged (SQLite's integrity check failed)")
        rows = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [migrations.name]
        )
        applied = {name for (name,) in rows}
    except sqlite3.Error as exc:
        raise NotABackup(f"{backup}: not a casebook archive ({exc})") from None
    finally:
        conn.close()
    known = set(migrations.names())
    if "m001_initial" not in applied:
        raise NotABackup(f"{backup}: not a casebook archive (no casebook migrations)")
    if applied - known:
        raise NotABackup(
            f"{backup}: made by a newer casebook ({', '.join(sorted(applied - known))})"
        )


def _copy_backup(backup: Path, temp: Path) -> None:
    """A private, migrated, fsynced copy of the backup beside the archive, ready to rename."""
    temp.unlink(missing_ok=True)
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(temp)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    db = open_archive(temp)  # migrated now, so a backup too new or too odd fails before the swap
    # The backup's lease names the process that was sending when it was taken; that pid may
    # belong to someone else by now and would hold off sending until the lease expired.
    db.execute("DELETE FROM leases")
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()  # the last connection: the WAL is folded in and removed
    os.chmod(temp, 0o600)
    with open(temp, "rb") as copy:
        os.fsync(copy.fileno())


def _set_aside(database: Path, now: datetime) -> Path | None:
    """Keep the current archive as `<db>.before-restore-<timestamp>`, wholly in one file."""
    if not database.exists():
        return None
    conn = sqlite3.connect(database)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    if busy:
        raise ArchiveInUse(f"{database} is open in another process; stop it first")
    aside = database.with_name(f"{database.name}.before-restore-{now:%Y%m%dT%H%M%SZ}")
    os.link(database, aside)  # the archive's name never points at nothing
    # Everything is in the main file now; an old WAL left beside the restored archive would
    # be replayed into it.
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(database.with_name(database.name + suffix))
    return aside


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
