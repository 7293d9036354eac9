"""Opening the archive: pragmas for durability, named migrations, write transactions."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from archive.record.private_files import prepare_private_database, side_files, tighten
from archive.record.schema import migrations

if TYPE_CHECKING:
    from sqlite_utils import Database

BUSY_TIMEOUT_MS = 30_000
FULL_BELOW = 1 << 20  # bytes free (for this user) under which a failed write is a full disk


class ArchiveUnavailable(Exception):
    """The archive cannot be opened or written; callers answer with a temporary failure."""


class ArchiveOutdated(ArchiveUnavailable):
    """The archive lacks migrations this code expects; only a writer may apply them."""


def open_archive(path: Path | str) -> Database:
    """Open (creating and migrating if needed) the archive at `path`.

    Every connection runs in WAL mode with `synchronous=FULL`: a commit is on disk before the
    call returns, which is what lets the SMTP edge answer 250 right after its commit.
    """
    import secrets

    from sqlite_utils import Database  # here: the read-only commands never load it (~65 ms)

    path = Path(path)
    try:
        conn = connect_durable(path)
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        with write_transaction(db):
            migrations.apply(db)
            if db.execute("SELECT 1 FROM meta WHERE key = 'installation_id'").fetchone() is None:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('installation_id', ?)",
                    [secrets.token_hex(8)],
                )
    except (sqlite3.Error, OSError) as exc:
        why = f"disk full ({exc})" if disk_full(path) else str(exc)
        raise ArchiveUnavailable(f"cannot open the archive {path}: {why}") from exc
    return db


def disk_full(path: Path | str) -> bool:
    """Whether the file system holding `path` has no room left: SQLite reports a write that
    ran out of space while creating its side files as a plain "disk I/O error"."""
    try:
        return shutil.disk_usage(Path(path).parent).free < FULL_BELOW
    except OSError:
        return False


class ArchiveReader:
    """The archive opened read-only with plain sqlite3: what `cases`, `show`, `search` and
    `stats` need (`execute`, `conn`), without sqlite-utils' start-up cost. Nothing is written:
    no migration, no pragma that changes the file (a file left open to others is made private,
    as every opening does)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def execute(self, sql: str, parameters=()) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters)


def open_reader(path: Path | str) -> ArchiveReader:
    """Open an existing archive to read it. An archive missing a migration this code knows is
    refused (`ArchiveOutdated`): reading it with newer queries could fail or mislead, and the
    writers (`serve`, `tick`, `ingest`) bring it up to date when they next open it."""
    path = Path(path)
    try:
        for each in (path, *side_files(path)):  # what an older casebook left readable
            tighten(each)
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_MS / 1000,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        applied = {
            row[0]
            for row in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [migrations.name]
            )
        }
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise ArchiveUnavailable(f"cannot open the archive {path}: {exc}") from exc
        applied = set()
    except (sqlite3.Error, OSError) as exc:
        raise ArchiveUnavailable(f"cannot open the archive {path}: {exc}") from exc
    missing = [name for name in migrations.names() if name not in applied]
    if missing and not applied:
        conn.close()
        raise ArchiveUnavailable(f"cannot open the archive {path}: it has no casebook tables")
    if missing:
        conn.close()
        raise ArchiveOutdated(
            f"the archive {path} is older than this casebook (it lacks {len(missing)}"
            f" migration(s), the first {missing[0]}); run `casebook tick` (or `serve`) once to"
            " bring it up to date, then try again"
        )
    return ArchiveReader(conn)


def connect_durable(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with synchronous=FULL: a commit is on disk when it returns.

    Autocommit mode (transactions are explicit), shared between threads one call at a time.
    The file (and so its -wal and -shm) is private: 0600 in folders casebook makes 0700.
    """
    prepare_private_database(path)
    conn = sqlite3.connect(
        str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    use_wal(conn)
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def use_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch to WAL once; the switch can answer "locked" without waiting, so retry a while."""
    for attempt in range(attempts):
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


@contextlib.contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """One IMMEDIATE transaction: takes the write lock up front so it never deadlocks upgrading."""
    conn = db.conn
    if conn.in_transaction:
        with _savepoint(conn):
            yield db
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error:
        # A COMMIT that fails for a full disk leaves the transaction open: undone here, so the
        # next try begins afresh instead of failing to begin inside this one.
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    """A nested write: undone alone if it fails. Savepoints of one name nest (RELEASE takes
    the innermost), and one name keeps the statements in the connection's cache."""
    conn.execute("SAVEPOINT casebook")
    try:
        yield
    except BaseException:
        # An error that ended the whole transaction (a RAISE(ROLLBACK) trigger) took the
        # savepoint with it: undoing it again would hide the error.
        if conn.in_transaction:
            conn.execute("ROLLBACK TO SAVEPOINT casebook")
            conn.execute("RELEASE SAVEPOINT casebook")
        raise
    else:
        conn.execute("RELEASE SAVEPOINT casebook")


@contextlib.contextmanager
def unsynced_commits(db: Database) -> Iterator[Database]:
    """Commits reach the WAL file at once but are fsynced only at the end (`synchronous=NORMAL`).

    For a burst of small commits whose loss on a power cut is harmless but whose loss on a
    process crash is not (the outbox's "sent" records): a commit is in the operating system's
    hands when it returns, so `kill -9` loses none of them; a power cut can lose those since the
    last fsync. On leaving, the WAL file is fsynced (every commit made in between is on disk)
    and the connection is `synchronous=FULL` again.
    """
    conn = db.conn
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        yield db
    finally:
        conn.execute("PRAGMA synchronous = FULL")
        sync_wal(conn)


def sync_wal(conn: sqlite3.Connection) -> None:
    """fsync the connection's WAL file: what a FULL commit would have done."""
    name = conn.execute("PRAGMA database_list").fetchone()[2]
    if not name:
        return  # an in-memory database
    try:
        fd = os.open(name + "-wal", os.O_RDONLY)
    except FileNotFoundError:
        return  # checkpointed and removed: everything is in the database file, synced
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_meta(db: Database, key: str) -> str | None:
    """One value of the `meta` table (installation id, import offsets, fingerprints…)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def write_meta(db: Database, key: str, value: str, *, keep: bool = False) -> None:
    """Set one value of `meta`; `keep` leaves a value already there."""
    if keep:
        db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", [key, value])
        return
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def installation_id(db: Database) -> str:
    """A value unique to this installation, used in casebook's loop header."""
    return db.execute("SELECT value FROM meta WHERE key = 'installation_id'").fetchone()[0]
