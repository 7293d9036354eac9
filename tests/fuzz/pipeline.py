"""One fuzz input through parse → classify → commands → ingest → render → compose, crashes kept.

The archive is a real SQLite file that lives for the whole run, so later inputs meet the cases,
parties and outbox rows earlier ones made (a reply token drawn as `("party", 3)` is a real one).
Nothing here raises for what it finds: every escaped exception becomes a `Crash`.
"""

from __future__ import annotations

import hashlib
import re
import sys
import traceback
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from archive.arrivals.held import quarantine
from archive.arrivals.ingest import ingest_message
from archive.record.db import installation_id, open_archive, write_transaction
from archive.record.outbox import due_mail, mark_sent
from archive.record.store import record_delivery
from casebook.config import load_settings
from intake.commands import find_commands
from intake.parse import fallback_message, parse_message
from mailer.compose import NeedsSmtputf8
from mailer.recipients import Undeliverable, resolve_copies
from mailer.render import make_environment
from mailer.send import compose_copy
from tests.fuzz.strategies import FuzzInput, split_message
from tests.support.base import T0, write_config

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = {"intake", "archive", "mailer", "casebook"}
CASEBOOK_RECURSION_LIMIT = 1000  # Python's default; casebook does not change it
CASEBOOK_REF = re.compile(rb"<casebook-ref-(\d+)>")


@dataclass
class Crash:
    stage: str  # parse, commands, ingest, quarantine, archived, render
    error: str  # "KeyError: 'x'"
    where: str  # the innermost frame in casebook's own code: "archive/arrivals/ingest.py:42 in f"
    raw: bytes
    envelope_from: str
    envelope_to: tuple[str, ...]
    origin: str
    trace: str = field(repr=False, default="")

    @property
    def signature(self) -> str:
        return f"{self.stage} {self.error.split(':')[0]} at {self.where}"


def _where(exc: BaseException) -> str:
    """The innermost traceback frame in the project's packages (not tests, not libraries)."""
    found = "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        ours = path.is_relative_to(ROOT) and path.relative_to(ROOT).parts[0] in PACKAGES
        if ours:
            found = f"{path.relative_to(ROOT)}:{frame.lineno} in {frame.name}"
    return found


class Harness:
    """A real archive in `directory` and the counters of one fuzz run."""

    def __init__(self, directory: Path, *, command_auth: str = "token"):
        config = write_config(directory, command_auth=command_auth)
        self.settings = load_settings(config)
        self.db = open_archive(self.settings.database)
        self.env = make_environment(self.settings.templates_override)
        self.loop_id = installation_id(self.db)
        self.tried = 0
        self.rendered = 0
        self.outcomes: dict[str, int] = {}
        self.crashes: list[Crash] = []
        self._sender: str | None = None  # set by resolve() for a member writing as themselves

    def close(self) -> None:
        self.db.close()

    def archive_counts(self) -> dict[str, int]:
        """How far the inputs got: cases opened, command blocks run (by outcome), mail queued."""
        counts = {
            "cases": self.db.execute("SELECT count(*) FROM cases").fetchone()[0],
            "outbox items": self.db.execute("SELECT count(*) FROM outbox").fetchone()[0],
        }
        for outcome, count in self.db.execute(
            "SELECT outcome, count(*) FROM command_runs GROUP BY outcome"
        ):
            counts[f"command runs {outcome}"] = count
        return counts

    def now(self) -> datetime:
        # Each input a little later, every 50th a few days later, so rate limits and folds vary.
        return T0 + timedelta(minutes=7 * self.tried, days=3 * (self.tried // 50))

    def resolve(self, symbol: tuple) -> str:
        """A drawn recipient symbol as an address, looked up in the archive as it is now."""
        kind, *args = symbol
        s = self.settings
        fixed = {"reports": s.reports, "appeals": s.appeals, "list": s.committee_list}
        if kind in fixed:
            return fixed[kind]
        local, domain = s.reports.rsplit("@", 1)
        if kind in ("party", "member-token", "member-as-self"):
            where = "" if kind == "party" else " WHERE role IN ('member', 'council')"
            rows = self.db.execute(f"SELECT token, email FROM parties{where} ORDER BY id")
            tokens = rows.fetchall() or [("a" * 24, None)]
            token, email = tokens[args[0] % len(tokens)]
            if kind == "member-as-self" and email:
                self._sender = email  # From the member the token is for: their commands run
            return f"{local}+{token}@{domain}"
        if kind == "stale-token":
            return f"{local}+{args[0]}@{domain}"
        if kind == "bounce":
            ids = [r[0] for r in self.db.execute("SELECT message_id FROM outbox ORDER BY id")]
            key = ids[args[0] % len(ids)].strip("<>").split("@")[0] if ids else "cb-" + "a" * 24
            bounce_local, bounce_domain = s.bounces.rsplit("@", 1)
            return f"{bounce_local}+{key}@{bounce_domain}"
        if kind == "raw":
            return args[0]
        return f"nobody@{domain}"

    def run(self, case: FuzzInput) -> list[Crash]:
        """The whole pipeline for one input; the crashes it caused (also kept in `crashes`)."""
        # Hypothesis doubles the recursion limit inside a test; casebook runs with Python's
        # default, and how deep the email parser may recurse decides how long a nested MIME
        # bomb takes (quadratic in depth: a second or so at 1000, over 30 s at 2000).
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(CASEBOOK_RECURSION_LIMIT)
        try:
            return self._run(case)
        finally:
            sys.setrecursionlimit(limit)

    def _run(self, case: FuzzInput) -> list[Crash]:
        now = self.now()
        self.tried += 1
        self._sender = None
        to = tuple(self.resolve(symbol) for symbol in case.recipients)
        case = replace(case, raw=self._fill_in(case.raw))
        found: list[Crash] = []

        def crash(stage: str, exc: BaseException) -> None:
            error = f"{type(exc).__name__}: {exc}"[:300]
            trace = "".join(traceback.format_exception(exc))
            found.append(
                Crash(
                    stage, error, _where(exc), case.raw, case.envelope_from, to, case.origin, trace
                )  # fmt: skip
            )

        try:
            msg = parse_message(
                case.raw,
                envelope_from=case.envelope_from,
                envelope_to=to,
                settings=self.settings,
                loop_id=self.loop_id,
            )
        except Exception as exc:
            crash("parse", exc)
            self._count("parse-raised")
            return self._keep(found)
        try:
            find_commands(msg.text)
            find_commands(msg.authored)
        except Exception as exc:
            crash("commands", exc)
        try:
            result = ingest_message(self.db, msg, self.settings, now)
        except Exception as exc:
            crash("ingest", exc)
            self._count("ingest-raised")
            self._quarantine(case, to, exc, now, crash)
        else:
            self._count(f"archived {result.kind}" + (" (held)" if result.held_reason else ""))
            row = self.db.execute(
                "SELECT 1 FROM messages WHERE message_id = ?", [msg.message_id]
            ).fetchone()
            if row is None:
                crash("archived", AssertionError(f"no messages row for {msg.message_id}"))
        self._render_new(now, crash)
        return self._keep(found)

    def _fill_in(self, raw: bytes) -> bytes:
        """Placeholders the strategies cannot know: our Message-IDs, a new one, a member's From."""
        if CASEBOOK_REF.search(raw):
            ids = [r[0] for r in self.db.execute("SELECT message_id FROM outbox ORDER BY id")]
            ids = [i.encode() for i in ids] or [b"<none@casebook.invalid>"]
            raw = CASEBOOK_REF.sub(lambda m: ids[int(m.group(1)) % len(ids)], raw)
        raw = raw.replace(b"<casebook-fresh>", b"<fuzz-%d@example.net>" % self.tried)
        if self._sender:
            blocks, sep, body = split_message(raw)
            eol = b"\r\n" if b"\r\n" in raw[:2000] else b"\n"
            blocks = [b for b in blocks if not b.lower().startswith(b"from:")]
            blocks.insert(0, b"From: " + self._sender.encode() + eol)
            raw = b"".join(blocks) + (sep or eol) + body
        return raw

    def _quarantine(self, case: FuzzInput, to, exc, now, crash) -> None:
        """What intake/process.py does with a message ingest keeps refusing: quarantine it."""
        error = f"{type(exc).__name__}: {exc}"
        try:
            plain = fallback_message(case.raw, problem=error, envelope_from=case.envelope_from,
                                     envelope_to=to, settings=self.settings,
                                     loop_id=self.loop_id, transport="smtp",
                                     historical=False)  # fmt: skip
            with write_transaction(self.db):
                result = quarantine(self.db, plain, self.settings, now, error)
                record_delivery(self.db, plain, now, None, now, message_pk=result.message_pk,
                                error=error)  # fmt: skip
        except Exception as again:
            crash("quarantine", again)

    def _render_new(self, now: datetime, crash) -> None:
        """Render and compose every outbox item queued since the last input, as send.py would."""
        # Far in the future, so mail scheduled for later (`#send … on DATE`) is rendered too.
        for item in due_mail(self.db, now + timedelta(days=3650), limit=10_000):
            try:
                copies = resolve_copies(self.db, item, self.settings, now)
                for copy in copies:
                    compose_copy(self.db, self.settings, self.env, item, copy, now, self.loop_id)
                    self.rendered += 1
            except (Undeliverable, NeedsSmtputf8):
                pass  # nobody may or can get it: send.py records that, it is no crash
            except Exception as exc:
                crash("render", exc)
            with write_transaction(self.db):
                mark_sent(self.db, item, now)

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def _keep(self, found: list[Crash]) -> list[Crash]:
        self.crashes.extend(found)
        return found


def distinct(crashes: list[Crash]) -> dict[str, list[Crash]]:
    """Crashes grouped by signature, the smallest input of each first."""
    groups: dict[str, list[Crash]] = {}
    for item in crashes:
        groups.setdefault(item.signature, []).append(item)
    for items in groups.values():
        items.sort(key=lambda c: len(c.raw))
    return groups


def crash_file_name(item: Crash) -> str:
    digest = hashlib.sha256(item.signature.encode()).hexdigest()[:10]
    return f"{item.stage}-{digest}"
