"""Sending the outbox: one sender at a time, at least once, at most one duplicate.

Each copy is recorded right after the relay accepts it; a crash between the two sends that
copy again on the next run, with the same Message-ID. Nothing else can send it twice.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from archive.cases import get_case
from archive.clock import from_text, utc_now
from archive.db import installation_id
from archive.leases import acquire_lease, release_lease
from archive.outbox import OutboxItem, due_mail, retry_delay, sent_copies
from archive.sending import fail_item, finish_item, postpone_item, record_copy, withhold_item
from archive.settings import Settings
from mailer.compose import Outgoing, compose_message, sign_message
from mailer.recipients import Copy, Undeliverable, resolve_copies
from mailer.render import Rendered, TemplateProblem, make_environment, render_template
from mailer.transport import PermanentFailure, RelaySession, RelayUnreachable, TemporaryFailure

log = logging.getLogger(__name__)
LEASE = "mailer"
LEASE_TTL = timedelta(minutes=2)


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
    try:
        env = make_environment(settings.templates_override)
        loop_id = installation_id(db)
        with RelaySession(settings.relay) as relay:
            unreachable = None
            for item in due_mail(db, now, limit):
                if unreachable:
                    # The relay is down: postpone the rest without waiting on it once each.
                    _postpone_or_fail(db, settings, item, unreachable, now, report)
                    continue
                if not acquire_lease(db, LEASE, holder, wall_clock(), LEASE_TTL, holder_is_dead):
                    report.busy = True
                    break
                unreachable = _send_item(db, settings, env, relay, item, now, loop_id, report)
    finally:
        release_lease(db, LEASE, holder)
    return report


def _send_item(db, settings, env, relay, item: OutboxItem, now, loop_id, report) -> str | None:
    """Send one item's copies; the error if the relay could not be reached at all."""
    try:
        copies = resolve_copies(db, item, settings, now)
        if not copies:
            withhold_item(db, item, "the recipient asked for no further contact", now)
            return None
        done = sent_copies(db, item)
        for copy in copies:
            if copy.key in done:
                continue
            _send_copy(db, settings, env, relay, item, copy, now, loop_id)
    except RelayUnreachable as exc:
        _postpone_or_fail(db, settings, item, str(exc), now, report)
        return str(exc)
    except TemporaryFailure as exc:
        _postpone_or_fail(db, settings, item, str(exc), now, report)
        return None
    except (PermanentFailure, Undeliverable, TemplateProblem) as exc:
        log.warning("outbox %s (%s) failed: %s", item.message_id, item.template, exc)
        fail_item(db, item, str(exc), settings, now)
        report.failed += 1
        return None
    finish_item(db, item, now)
    report.sent += 1
    return None


def _postpone_or_fail(db, settings: Settings, item: OutboxItem, error: str, now, report) -> None:
    if now - from_text(item.created_at) >= settings.give_up_after:
        fail_item(db, item, f"gave up after {settings.give_up_after}: {error}", settings, now)
        report.failed += 1
        return
    retry_at = now + retry_delay(settings.retry_schedule, item.attempts)
    log.info("outbox %s postponed to %s: %s", item.message_id, retry_at.isoformat(), error)
    postpone_item(db, item, error, retry_at)
    report.postponed += 1


def _send_copy(db, settings, env, relay, item: OutboxItem, copy: Copy, now, loop_id) -> None:
    rendered, raw = compose_copy(db, settings, env, item, copy, now, loop_id)
    relay.send(bounce_address(settings, item), copy.to, raw)
    record_copy(
        db,
        item,
        recipient=copy.key,
        message_id=copy.message_id,
        raw=raw,
        to_addrs=list(copy.to),
        subject=rendered.subject,
        from_addr=settings.reports,
        text=rendered.text,
        now=now,
    )


def compose_copy(
    db, settings: Settings, env, item: OutboxItem, copy: Copy, now: datetime, loop_id: str
) -> tuple[Rendered, bytes]:
    """One copy rendered and composed (and DKIM-signed when configured): the relay's bytes."""
    case = get_case(db, item.case_pk) if item.case_pk else None
    context = template_context(settings, item, copy)
    rendered: Rendered = render_template(env, item.template, context)
    outgoing = Outgoing(
        from_name=str(item.context.get("from_name") or settings.committee_name),
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
        case_ref=case.ref if case else None,
    )
    raw = compose_message(outgoing)
    signing = settings.dkim_signing
    if signing is not None:
        raw = sign_message(raw, signing.domain, signing.selector, signing.key_file.read_bytes())
    return rendered, raw


def template_context(settings: Settings, item: OutboxItem, copy: Copy) -> dict:
    """The item's own fields plus the committee's public facts; nothing else reaches a template."""
    return {
        **item.context,
        **copy.extra,
        "committee_name": settings.committee_name,
        "reports_address": settings.reports,
        "appeals_address": settings.appeals,
        "reply_address": copy.reply_to,
    }


def bounce_address(settings: Settings, item: OutboxItem) -> str:
    """casebook's own envelope sender, tagged so a bounce names the mail it is about."""
    local, domain = settings.bounces.rsplit("@", 1)
    return f"{local}+{item.key}@{domain}"
