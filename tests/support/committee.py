"""A conversation-style helper (like Salmon's): members reply in a case's list thread."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime

from archive.record.db import open_archive
from casebook.config import load_settings
from tests.support.base import T0, write_config
from tests.support.helpers import deliver, outbox
from tests.support.mailbuild import build, pinned_keys_toml, sign, via_list

LIST = "conduct-committee@lists.example.org"
ALICE = "Alice Chair <alice@example.org>"
BOB = "Bob Member <bob@example.org>"
CAROL = "Carol Member <carol@example.org>"
_counter = itertools.count(1)


def dkim_settings(tmp_path, relay_port: int = 1, **values):
    extra = values.pop("extra", "")
    config = write_config(
        tmp_path, relay_port=relay_port, extra=extra + "\n" + pinned_keys_toml(), **values
    )
    return load_settings(config)


def reported(tmp_path, **values) -> Iterator[Committee]:
    """A committee over a fresh archive holding Rita's report, CoC-2026-001 (the common
    fixture: `yield from reported(tmp_path, ...)`); the archive is closed afterwards."""
    settings = dkim_settings(tmp_path, **values)
    db = open_archive(settings.database)
    c = Committee(db, settings)
    c.report()
    try:
        yield c
    finally:
        db.close()


class Committee:
    def __init__(self, db, settings):
        self.db = db
        self.settings = settings

    def report(self, fixture: str = "plain_report.eml", sender: str = "rita@example.net") -> str:
        return deliver(self.db, self.settings, fixture, now=T0, sender=sender).case_ref

    def notice_id(self, ref: str) -> str:
        rows = self.db.execute(
            "SELECT o.message_id FROM outbox o JOIN cases c ON c.id = o.case_pk"
            " WHERE c.ref = ? AND o.template = 'committee/new_case'",
            [ref],
        ).fetchone()
        return rows[0]

    def message(
        self,
        text: str,
        *,
        sender: str = ALICE,
        case: str = "CoC-2026-001",
        signed: bool = True,
        message_id: str | None = None,
        subject: str | None = None,
        extra_headers: tuple[str, ...] = (),
    ) -> bytes:
        notice = self.notice_id(case)
        raw = build(
            sender=sender,
            to=LIST,
            subject=subject or f"Re: [{case}] New report",
            body=text,
            message_id=message_id or f"<m{next(_counter)}@example.org>",
            in_reply_to=notice,
            references=(notice,),
            extra_headers=extra_headers,
        )
        return sign(raw) if signed else raw

    def say(self, text: str, *, now: datetime = T0, to: str = LIST, envelope=None, **options):
        raw = options.pop("raw", None) or self.message(text, **options)
        if to == LIST:  # the list host signs what it distributes
            raw = via_list(raw)
        sender = options.get("sender", ALICE)
        address = sender.split("<")[-1].rstrip(">")
        self.answers()  # what was answered before this mail
        return deliver(self.db, self.settings, raw, now=now, sender=envelope or address, to=(to,))

    def transcript(self) -> dict:
        """What the newest command mail did: its transcript, or (a command-only mail to a reply
        address, issue 20 §17) its entry in the case's outcome mail or in a notice it rode."""
        return self.answers()[-1][1]

    def answers(self) -> list[tuple[tuple, dict]]:
        """Every answer to a command mail so far, oldest first: (where it is, its results)."""
        found = []
        for row in outbox(self.db):
            context = row["context"]
            if row["template"] == "committee/command_result":
                found.append(((row["id"], "result"), context))
            entries = context.get("items", []) if row["template"].endswith("outcome") else []
            for n, entry in enumerate([*entries, *context.get("folded", [])]):
                found.append(((row["id"], n), entry))
        # An outcome mail takes entries after it was queued: order by when each was answered.
        seen = getattr(self, "seen_answers", [])
        self.seen_answers = [*seen, *[key for key, _ in found if key not in seen]]
        return sorted(found, key=lambda pair: self.seen_answers.index(pair[0]))

    def lines(self) -> list[tuple[str, str]]:
        return [(r["status"], r["detail"]) for r in self.transcript()["results"]]
