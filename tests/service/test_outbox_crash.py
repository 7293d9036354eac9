"""kill -9 of a real sender mid-drain: every mail still arrives, and only the one in flight
arrives twice (the "sent" records are committed unsynced, so a crash must not lose them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta

from archive.record.db import open_archive
from casebook.config import load_settings
from tests.support.base import T0, RelaySink, write_config
from tests.support.helpers import deliver

KILL_AT = 25  # the relay kills the sender while it waits for the 250 of this mail


class KillingRelay(RelaySink):
    victim: int | None = None

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == KILL_AT and self.victim:
            os.kill(self.victim, signal.SIGKILL)
        return reply


def tick(config, now):
    return subprocess.Popen(
        [sys.executable, "-m", "casebook.cli", "-c", str(config), "tick", "--now", now.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_kill_9_mid_drain_resends_only_the_mail_in_flight(tmp_path):
    relay = KillingRelay()
    config_path = write_config(tmp_path, relay_port=relay.port)
    settings = load_settings(config_path)
    db = open_archive(settings.database)
    for n in range(20):
        raw = (
            f"From: r{n}@example.net\nTo: conduct@example.org\nSubject: r{n}\n"
            f"Message-ID: <drain-{n}@example.net>\n\nSomeone was rude on the forum.\n"
        ).encode()
        deliver(db, settings, raw, now=T0, sender=f"r{n}@example.net")
    queued = db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'queued'").fetchone()[0]
    assert queued == 40
    relay.controller.start()
    try:
        now = T0 + timedelta(minutes=1)
        first = tick(config_path, now)
        relay.victim = first.pid
        first.communicate(timeout=60)
        assert first.returncode == -signal.SIGKILL
        assert len(relay.messages) == KILL_AT
        second = tick(config_path, now)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 0, err.decode()
    finally:
        relay.controller.stop()
    ids = Counter(m["Message-ID"] for m in relay.parsed())
    assert len(ids) == 40  # every mail arrived
    assert sorted(ids.values())[-2:] == [1, 2]  # one of them twice: the one in flight
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'queued'").fetchone()[0] == 0
    db.close()
