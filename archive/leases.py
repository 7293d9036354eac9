"""Leases: one holder at a time for a named job (the sender), expiring if the holder dies."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from archive.clock import to_text
from archive.db import write_transaction


def acquire_lease(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; False while another live holder has it."""
    with write_transaction(db):
        row = db.execute("SELECT holder, expires_at FROM leases WHERE name = ?", [name]).fetchone()
        if row and row[0] != holder and row[1] > to_text(now):
            return False
        db.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " expires_at = excluded.expires_at",
            [name, holder, to_text(now + ttl)],
        )
        return True


def release_lease(db: Database, name: str, holder: str) -> None:
    with write_transaction(db):
        db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder])
