"""`casebook tick`: everything due at `now` (spool, outbox), once, for cron and tests."""

from __future__ import annotations

from datetime import datetime

from archive.record.db import open_archive
from archive.record.outbox import due_mail, guard_held_since, last_item
from archive.record.settings import Settings
from archive.summaries.digest import send_digest_if_due
from archive.workflow.clock_sweep import Fired, fire_due
from intake.imap import ImapUnavailable, poll_imap
from intake.process import log_guard_hold, process_spooled
from intake.recheck import recheck_conflicts
from intake.spool import count_spooled, open_spool, spool_path
from mailer.send import SendReport, send_due


def run_tick(settings: Settings, now: datetime) -> tuple[str, bool]:
    """One sweep; what it did, and whether an operator should hear of it (failures, late
    deadlines, another sender busy, IMAP unreadable)."""
    db = open_archive(settings.database)
    recheck_conflicts(db, settings, now)
    spool = open_spool(spool_path(settings))
    polled, imap_trouble = "", False
    if settings.imap:
        try:
            polled = f"{poll_imap(settings, spool, now)} fetched by IMAP; "
        except ImapUnavailable as exc:
            polled, imap_trouble = f"IMAP not read ({exc}); ", True
    processed = []
    while count_spooled(spool, now):  # everything due, not one batch: nothing waits for cron
        processed += process_spooled(db, spool, settings, lambda: now)
    fired, digests = fire_clocks(db, settings, now)
    report = drain_outbox(db, settings, now)
    busy = " (another sender holds the lease)" if report.busy else ""
    late = sum(f.late for f in fired)
    noteworthy = bool(report.failed or report.busy or late or imap_trouble)
    return (
        f"{polled}processed {len(processed)} message(s); {len(fired)} deadline(s) fired"
        f"{f' ({late} late)' if late else ''};"
        f"{' weekly digest queued;' if digests else ''}"
        f" mail: {report.sent} sent,"
        f" {report.postponed} postponed, {report.failed} failed{busy}"
    ), noteworthy


def fire_clocks(db, settings: Settings, now: datetime) -> tuple[list[Fired], bool]:
    """The deadlines and the digest due at `now` (whether a digest was queued); mail the leak
    guard held meanwhile gets its log line."""
    before = last_item(db)
    fired = fire_due(db, settings, now)
    digests = send_digest_if_due(db, settings, now)
    for item, template, case in guard_held_since(db, before):
        log_guard_hold(case, template, item)
    return fired, digests


def drain_outbox(db, settings: Settings, now: datetime) -> SendReport:
    """Send until nothing more is due (a failure's notice to the committee included)."""
    total = SendReport()
    while True:
        report = send_due(db, settings, now)
        total.sent += report.sent
        total.postponed += report.postponed
        total.failed += report.failed
        total.busy = report.busy
        if report.busy or not (report.sent or report.postponed or report.failed):
            return total
        if not due_mail(db, now, 1):
            return total
