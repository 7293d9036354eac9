"""What another process commits while the sender works: a conflict recorded while the relay
answers holds for the next mail, and a summary half sent takes no more folds (real SMTP on
loopback, real SQLite; both found by an outside review of planning the next mail ahead)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import mailer.send
from archive.arrivals.held import SUMMARY_DELAY, _fold
from archive.record.cases import find_case, set_conflicted
from archive.record.db import open_archive, write_transaction
from mailer.send import send_due
from tests.support.base import T0, RelaySink, write_config
from tests.support.helpers import deliver

LIST = "conduct-committee@lists.example.org"


def send(db, settings, now=T0):
    return send_due(db, settings, now, holder="test", wall_clock=lambda: now)


class AnsweringLate(RelaySink):
    """A relay that, before it answers the first DATA, lets `during_first` run: what another
    process (serve's intake) commits while casebook waits for the relay's answer."""

    def __init__(self, during_first):
        super().__init__()
        self.during_first = during_first
        self.datas = 0

    async def handle_DATA(self, server, session, envelope):
        self.datas += 1
        if self.datas == 1:
            self.during_first()
        return await super().handle_DATA(server, session, envelope)


def test_a_conflict_recorded_while_the_relay_answers_keeps_the_next_mail_from_the_member(
    tmp_path, monkeypatch
):
    # A report queues the reporter's acknowledgement, then the committee's new-case notice.
    # While the relay is answering for the acknowledgement, the intake records that the case
    # conflicts Bob (a second report naming him, say) and commits. The notice is handed to the
    # relay only after that: it must not go to the list Bob reads ("decided when it is sent").
    # Before the change it did not; now its recipients were decided during the wait.
    notice_planned = threading.Event()
    real_resolve = mailer.send.resolve_copies

    def resolve(db, item, *args, **kwargs):  # observes only: when the notice is resolved
        copies = real_resolve(db, item, *args, **kwargs)
        if item.template.startswith("committee/"):
            notice_planned.set()
        return copies

    monkeypatch.setattr(mailer.send, "resolve_copies", resolve)

    def conflict_bob():
        # Give casebook every chance to be waiting for this answer only (the old code is),
        # then commit the conflict from another connection, as `serve`'s intake would.
        notice_planned.wait(timeout=3)
        other = open_archive(settings.database)
        with write_transaction(other):
            set_conflicted(other, find_case(other, "CoC-2026-001"), ["bob@example.org"], T0)
        other.close()

    relay = AnsweringLate(conflict_bob)
    relay.controller.start()
    try:
        from casebook.config import load_settings

        settings = load_settings(write_config(tmp_path, relay_port=relay.port))
        db = open_archive(settings.database)
        deliver(db, settings, "plain_report.eml", now=T0)
        assert [i.template for i in mailer.send.due_mail(db, T0, 10)][0] == "reporter/ack"
        send(db, settings)
        relay.wait_for(2)
        db.close()
        rcpts = [r for _, rs, _, _ in relay.messages for r in rs]
        assert "bob@example.org" not in rcpts
        assert LIST not in rcpts, "the notice went to the list after Bob's conflict was recorded"
    finally:
        relay.controller.stop()


def test_a_fold_into_an_item_whose_first_copies_went_in_an_earlier_chunk_reaches_them(
    tmp_path,
):
    # Token mode: the held-mail summary goes to each member as their own copy. Bob's relay
    # answers 451, so Alice's copy went and the item waits for its retry. Meanwhile one more
    # held message arrives. Alice, whose copy went with the first entry only, must still
    # learn of the second (folded into the half-sent summary, the retry sent Bob and Carol
    # the whole list and Alice nothing: a half-sent item now takes no more folds).
    relay = RelaySink()
    relay.controller.start()
    try:
        from casebook.config import load_settings

        settings = load_settings(
            write_config(tmp_path, relay_port=relay.port, command_auth="token")
        )
        # The summary waits a day before its first try: keep retrying it past that day.
        settings = dataclasses.replace(settings, give_up_after=timedelta(days=7))
        db = open_archive(settings.database)

        def hold(n, at):
            entry = {"message_id": f"<held-{n}@example.net>", "reason": "unknown reply address",
                     "at": at.isoformat()[:16]}  # fmt: skip
            with write_transaction(db):
                _fold("held-summary", "committee/held_summary", entry, settings, db, at,
                      SUMMARY_DELAY)  # fmt: skip

        hold(1, T0)
        due = T0 + SUMMARY_DELAY
        relay.refuse["bob@example.org"] = "451 4.7.1 try again later"
        report = send(db, settings, due)
        assert report.postponed == 1
        assert [rs for _, rs, _, _ in relay.messages] == [["alice@example.org"]]
        hold(2, due)  # the summary has gone to Alice: a new one starts, its own day ahead
        del relay.refuse["bob@example.org"]
        later = due + SUMMARY_DELAY
        send(db, settings, later)
        send(db, settings, later)  # anything the sender queued again for the fold
        db.close()
        for member in ("alice@example.org", "bob@example.org", "carol@example.org"):
            texts = [m.get_body(("plain",)).get_content() for m in relay.to(member)]
            assert any("<held-2@example.net>" in t for t in texts), (member, texts)
    finally:
        relay.controller.stop()
