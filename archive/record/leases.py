"""Leases: one holder at a time for a named job (the sender), expiring if the holder dies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.record.db import write_transaction
from archive.record.timestamps import to_text


def acquire_lease(
    db: Database,
    name: str,
    holder: str,
    now: datetime,
    ttl: timedelta,
    holder_is_dead: Callable[[str], bool] = lambda holder: False,
) -> bool:
    """Take or renew the lease; False while another live holder has it.

    A holder known to be dead (a crashed process on this host) loses the lease at once, so a
    restart after kill -9 sends immediately instead of waiting for the lease to expire.
    """
    with write_transaction(db):
        row = db.execute("SELECT holder, expires_at FROM leases WHERE name = ?", [name]).fetchone()
        if row and row[0] != holder and row[1] > to_text(now) and not holder_is_dead(row[0]):
            return False
        db.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " expires_at = excluded.expires_at",
            [name, holder, to_text(now + ttl)],
        )
        return True


def clear_leases(db: Database) -> None:
    """No lease at all: a restored backup's leases name processes that are gone."""
    db.execute("DELETE FROM leases")


def release_lease(db: Database, name: str, holder: str) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder])
