"""Sending the outbox: one sender at a time, at least once, at most one duplicate.

Each copy is recorded right after the relay accepts it; a crash between the two sends that
copy again on the next run, with the same Message-ID. Nothing else can send it twice.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.outgoing.catalogue import template as template_spec
from archive.record.cases import case_ref_of, get_case
from archive.record.db import installation_id, unsynced_commits, write_transaction
from archive.record.fulltext import index_sent_copies
from archive.record.leases import acquire_lease, release_lease
from archive.record.outbox import OutboxItem, due_mail, retry_delay, sent_copies
from archive.record.send_results import (
    fail_item,
    finish_item,
    postpone_item,
    record_copy,
    resend_what_was_folded_in,
    withhold_item,
)
from archive.record.settings import Settings
from archive.record.timestamps import from_text, utc_now
from mailer.compose import (
    NeedsSmtputf8,
    Outgoing,
    ascii_address,
    ascii_outgoing,
    compose_message,
    needs_smtputf8,
    sign_message,
    tagged_subject,
)
from mailer.recipients import Copy, Undeliverable, on_page_only, resolve_copies
from mailer.render import (
    Rendered,
    TemplateProblem,
    forget_absent,
    make_environment,
    render_template,
)
from mailer.transport import PermanentFailure, RelaySession, RelayUnreachable, TemporaryFailure

log = logging.getLogger(__name__)
LEASE = "mailer"
LEASE_TTL = timedelta(minutes=2)
# The lease is renewed (and checked to be still ours) when this much wall time has passed; a
# stall long enough for it to expire is always longer than this, so it is always noticed.
LEASE_RENEW = timedelta(seconds=15)
# An item that raised something unexpected this many times is failed: a bug that hits one
# item every time must not have it retried first forever.
CRASH_ATTEMPTS = 3


@dataclass
class SendReport:
    sent: int = 0
    postponed: int = 0
    failed: int = 0
    busy: bool = False  # another sender holds the lease


def sender_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def holder_is_dead(holder: str) -> bool:
    """True for a holder that was a process on this host which no longer exists."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def send_due(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    holder: str | None = None,
    wall_clock: Callable[[], datetime] = utc_now,
    limit: int = 200,
) -> SendReport:
    """Send every queued item due at `now`, if this process can take the sender's lease."""
    holder = holder or sender_identity()
    report = SendReport()
    if not acquire_lease(db, LEASE, holder, wall_clock(), LEASE_TTL, holder_is_dead):
        report.busy = True
        return report
    renewed = wall_clock()
    try:
        env = environment(settings.templates_override)
        loop_id = installation_id(db)
        # Each copy's record is its own commit, right after the relay's 250, written to the WAL
        # but not fsynced: kill -9 loses none (at most the copy in flight goes again), and
        # the chunk's commits are fsynced once, when it ends (a power cut:
        # docs/operators/nothing-lost.md).
        with RelaySession(settings.relay) as relay, unsynced_commits(db):
            sweep = Sweep(db, settings, env, relay, now, loop_id, report)
            unreachable = None
            for item in due_mail(db, now, limit):
                if unreachable:
                    # The relay is down: postpone the rest without waiting on it once each.
                    _postpone_or_fail(db, settings, item, unreachable, now, report)
                    continue
                if wall_clock() - renewed >= LEASE_RENEW:
                    renewed = wall_clock()
                    if not acquire_lease(db, LEASE, holder, renewed, LEASE_TTL, holder_is_dead):
                        report.busy = True
                        break
                unreachable = sweep.send(item)
            if unreachable:
                _log_outage(settings, unreachable, report)
            index_sent_copies(db)  # searchable from here on: once per chunk, not per copy
    finally:
        release_lease(db, LEASE, holder)
    return report


_ENVIRONMENTS: dict = {}
UNREAD = object()  # an argument the caller did not pass: read it from the archive


def environment(override):
    """One Jinja2 environment per template folder for the process: compiled templates are
    kept (and reloaded when a file changes), not compiled again for every chunk; an optional
    template found missing is looked for again once per chunk."""
    if override not in _ENVIRONMENTS:
        _ENVIRONMENTS[override] = make_environment(override)
    env = _ENVIRONMENTS[override]
    forget_absent(env)
    return env


def _log_outage(settings: Settings, error: str, report: SendReport) -> None:
    relay = f"{settings.relay.host}:{settings.relay.port}"
    log.warning(
        "relay %s unreachable (%s): %d mail(s) postponed, retried by themselves"
        " (check the relay and [mailer.smtp]; `casebook outbox` lists what waits)",
        relay,
        error.removeprefix("relay unreachable: "),
        report.postponed,
        extra={"outcome": "relay-unreachable"},
    )


def log_item(
    db: Database, item: OutboxItem, level: int, outcome: str, note: str = "", *, case_ref=UNREAD
) -> None:
    """One line per mail out: case, template, outcome, outbox item; never a recipient."""
    if case_ref is UNREAD:
        case_ref = case_ref_of(db, item.case_pk)
    case = case_ref
    log.log(
        level,
        "out %s %s: %s outbox %d%s",
        case or "-",
        item.template,
        outcome,
        item.pk,
        f" ({note})" if note else "",
        extra={
            "case": case,
            "template": item.template,
            "outcome": outcome,
            "outbox_id": item.pk,
            "attempts": item.attempts + 1,
        },
    )


@dataclass
class Composed:
    """One copy ready for the relay: its bytes, and what its record keeps."""

    copy: Copy
    rendered: Rendered
    outgoing: Outgoing
    envelope_from: str
    raw: bytes


@dataclass
class Sweep:
    """One chunk's sending, an item at a time: its recipients decided and every copy composed
    at its turn (never earlier: a conflict or a no-contact wish recorded a moment before must
    hold), then each copy handed to the relay and recorded before the next one."""

    db: Database
    settings: Settings
    env: object
    relay: RelaySession
    now: datetime
    loop_id: str
    report: SendReport

    def send(self, item: OutboxItem) -> str | None:
        """`_send`, with anything unexpected kept to this item so the sweep goes on; the error
        if the relay could not be reached at all."""
        try:
            return self._send(item)
        except sqlite3.OperationalError:
            raise  # the archive's trouble (a full disk), not this item's: the sweep stops here
        except Exception as exc:
            fields = {"outbox_id": item.pk, "template": item.template}
            log.exception("outbox %d (%s): unexpected error", item.pk, item.template, extra=fields)
            error = f"unexpected {type(exc).__name__}: {exc}"
            if item.attempts + 1 >= CRASH_ATTEMPTS:
                error = f"gave up after {CRASH_ATTEMPTS} attempts: {error}"
                _fail(self.db, self.settings, item, error, self.now, self.report)
            else:
                _postpone_or_fail(self.db, self.settings, item, error, self.now, self.report)
            return None

    def _send(self, item: OutboxItem) -> str | None:
        db, settings, now, report = self.db, self.settings, self.now, self.report
        case = get_case(db, item.case_pk) if item.case_pk else None
        try:
            copies = resolve_copies(db, item, settings, now, case=case)
            if not copies and on_page_only(db, item):
                finish_item(db, item, now)
                log_item(db, item, logging.INFO, "sent", "to the reporter's follow-up page")
                report.sent += 1
                return None
            if not copies:
                withhold_item(db, item, "the recipient asked for no further contact", now)
                log_item(db, item, logging.INFO, "withheld", "no further contact")
                return None
            pending = self._compose_pending(item, copies, case)
            for n, composed in enumerate(pending, 1):
                out = composed.outgoing
                self.relay.send(composed.envelope_from, out.to, composed.raw, smtputf8=out.utf8)
                _record_copy(db, settings, item, composed, now, last=n == len(pending))
            if not pending:  # every copy went before a crash; only the item's record is left
                finish_item(db, item, now)
        except RelayUnreachable as exc:
            _postpone_or_fail(db, settings, item, str(exc), now, report)
            return str(exc)
        except TemporaryFailure as exc:
            _postpone_or_fail(db, settings, item, str(exc), now, report)
            return None
        except (PermanentFailure, Undeliverable, TemplateProblem, NeedsSmtputf8) as exc:
            _fail(db, settings, item, str(exc), now, report)
            return None
        log_item(db, item, logging.INFO, "sent", case_ref=case.ref if case else None)
        report.sent += 1
        return None

    def _compose_pending(self, item: OutboxItem, copies: list[Copy], case) -> list[Composed]:
        """Each copy not yet sent, composed; all of them before the first goes, so a copy that
        cannot be made (a broken template) fails the item before any copy is sent."""
        done = sent_copies(self.db, item)
        return [
            Composed(
                copy,
                *compose_copy(
                    self.db,
                    self.settings,
                    self.env,
                    item,
                    copy,
                    self.now,
                    self.loop_id,
                    smtputf8=self.relay.offers_smtputf8,
                    case=case,
                ),
            )
            for copy in copies
            if copy.key not in done
        ]


def _fail(db, settings: Settings, item: OutboxItem, error: str, now, report) -> None:
    fail_item(db, item, error, settings, now)
    hint = f"{error}; `casebook outbox retry {item.pk}` sends it again once that is fixed"
    log_item(db, item, logging.WARNING, "failed", hint)
    report.failed += 1


def _postpone_or_fail(db, settings: Settings, item: OutboxItem, error: str, now, report) -> None:
    if now - from_text(item.queued_at) >= settings.give_up_after:
        _fail(db, settings, item, f"gave up after {settings.give_up_after}: {error}", now, report)
        return
    retry_at = now + retry_delay(settings.retry_schedule, item.attempts)
    log_item(db, item, logging.INFO, "postponed", f"next try {retry_at.isoformat()}: {error}")
    postpone_item(db, item, error, retry_at)
    report.postponed += 1


def _record_copy(db, settings, item: OutboxItem, composed: Composed, now, *, last: bool) -> None:
    """The relay took the copy: its record; the item's own record ("sent", its event, the case
    moved on, a new mail for anything folded into it since it was read) joins the last copy's
    commit, in a savepoint of its own: should it fail, the copy's record still commits, so the
    copy is never sent again."""
    outgoing, rendered = composed.outgoing, composed.rendered
    unfinished = None
    with write_transaction(db):
        record_copy(
            db,
            item,
            recipient=composed.copy.key,
            message_id=composed.copy.message_id,
            raw=composed.raw,
            to_addrs=list(outgoing.to),
            subject=rendered.subject,
            from_addr=outgoing.from_addr,
            text=rendered.text,
            now=now,
        )
        if last:
            try:
                with write_transaction(db):  # a savepoint, inside this transaction
                    finish_item(db, item, now)
                    resend_what_was_folded_in(db, item, settings, now)
            except Exception as exc:
                unfinished = exc
    if unfinished is not None:
        raise unfinished


def compose_copy(
    db,
    settings: Settings,
    env,
    item: OutboxItem,
    copy: Copy,
    now: datetime,
    loop_id: str,
    *,
    smtputf8: Callable[[], bool] = lambda: False,
    case=UNREAD,
) -> tuple[Rendered, Outgoing, str, bytes]:
    """One copy rendered, composed (and DKIM-signed when configured), with its envelope
    sender: the relay's bytes. `smtputf8` says whether the relay offers SMTPUTF8; `case` is
    the item's case when the caller has read it already."""
    if case is UNREAD:
        case = get_case(db, item.case_pk) if item.case_pk else None
    context = with_outcome_previews(
        env, settings, with_previews(env, settings, template_context(settings, item, copy))
    )
    rendered: Rendered = render_template(env, item.template, context)
    tag = case.ref if case and template_spec(item.template).tagged else None
    outgoing = _outgoing(settings, item, copy, rendered, now, loop_id, tag)
    outgoing, envelope_from = fit_for_relay(smtputf8, outgoing, bounce_address(settings, item))
    raw = compose_message(outgoing)
    signing = settings.dkim_signing
    if signing is not None:
        raw = sign_message(raw, signing.domain, signing.selector, signing.key_file.read_bytes())
    return rendered, outgoing, envelope_from, raw


def _outgoing(
    settings, item: OutboxItem, copy: Copy, rendered: Rendered, now, loop_id, case_ref
) -> Outgoing:
    return Outgoing(
        from_name=item.from_name or settings.committee_name,
        from_addr=settings.reports,
        to=copy.to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=copy.message_id,
        date=now,
        auto_submitted=item.auto_submitted,
        loop_id=loop_id,
        reply_to=copy.reply_to,
        in_reply_to=item.in_reply_to,
        references=item.refs,
        case_ref=case_ref,
    )


def fit_for_relay(
    offers_smtputf8: Callable[[], bool], out: Outgoing, envelope_from: str
) -> tuple[Outgoing, str]:
    """UTF-8 addresses with SMTPUTF8 when one needs it and the relay offers it; otherwise
    every address in ASCII (IDNA domains), or NeedsSmtputf8 for a non-ASCII local part."""
    if not needs_smtputf8(envelope_from, out.from_addr, out.reply_to, *out.to):
        return out, envelope_from
    if offers_smtputf8():
        return replace(out, utf8=True), envelope_from
    return ascii_outgoing(out), ascii_address(envelope_from)


def committee_facts(settings: Settings) -> dict:
    """The committee's public facts, which every template may show."""
    return {
        "committee_name": settings.committee_name,
        "reports_address": settings.reports,
        "appeals_address": settings.appeals,
        **{f"{name}_url": url for name, url in vars(settings.links).items()},
    }


def template_context(settings: Settings, item: OutboxItem, copy: Copy) -> dict:
    """The item's own fields plus the committee's public facts; nothing else reaches a template."""
    return {
        **item.context,
        **copy.extra,
        **committee_facts(settings),
        "reply_address": copy.reply_to,
    }


def with_previews(env, settings: Settings, context: dict) -> dict:
    """A committee mail's `previews` (mail the resolution will send to people outside the
    committee: `{to, template, context}`), each rendered as its reader will get it, so those
    who decide read the very subject and text first."""
    previews = context.get("previews")
    if not previews:
        return context
    shown = []
    for preview in previews:
        if "text" in preview:  # already rendered (a catalogue sample)
            shown.append(preview)
            continue
        facts = {**preview["context"], **committee_facts(settings), "reply_address": None}
        rendered = render_template(env, preview["template"], facts)
        ref = facts.get("case_ref") if template_spec(preview["template"]).tagged else None
        subject = tagged_subject(rendered.subject, ref)
        shown.append({**preview, "subject": subject, "text": rendered.text.rstrip()})
    return {**context, "previews": shown}


def with_outcome_previews(env, settings: Settings, context: dict) -> dict:
    """The previews of each command outcome a committee mail carries (`items` of the outcome
    mail, `folded` below another notice: an #enact's), rendered as for `with_previews`."""
    for key in ("items", "folded"):
        entries = context.get(key)
        if isinstance(entries, list) and any(isinstance(e, dict) and e.get("previews")
                                             for e in entries):  # fmt: skip
            shown = [with_previews(env, settings, e) if isinstance(e, dict) else e
                     for e in entries]  # fmt: skip
            context = {**context, key: shown}
    return context


def bounce_address(settings: Settings, item: OutboxItem) -> str:
    """casebook's own envelope sender, tagged so a bounce names the mail it is about."""
    local, domain = settings.bounces.rsplit("@", 1)
    return f"{local}+{item.key}@{domain}"
