"""`casebook report`: the anonymised quarterly report or annual transparency summary, printed
as Markdown and, with `--send`, mailed to the council."""

from __future__ import annotations

import sys

from casebook.commands.invocation import open_existing_archive, settings_for
from casebook.errors import EX_USAGE, UserError


def add_parser(commands) -> None:
    report = commands.add_parser("report", help="the quarterly report or annual summary")
    period = report.add_mutually_exclusive_group(required=True)
    period.add_argument("--quarter", help="e.g. 2026Q4")
    period.add_argument("--year", help="e.g. 2026")
    report.add_argument("--send", action="store_true", help="also send it to the council")


def run(args) -> int:
    from archive.reporting import quarter_period, render_markdown, report_data, year_period

    settings = settings_for(args)
    try:
        if args.quarter:
            period, title = quarter_period(args.quarter, settings), "Quarterly report"
        else:
            period, title = year_period(args.year, settings), "Annual transparency summary"
    except ValueError as exc:
        raise UserError(str(exc), EX_USAGE) from None
    db = open_existing_archive(args, settings)
    text = render_markdown(report_data(db, period), title)
    print(text, end="")
    if args.send:
        send_to_council(db, settings, f"{title}: {period.label}", text)
    return 0


def send_to_council(db, settings, title: str, text: str) -> None:
    """Queue the report for the council and send it now; how that went, on stderr."""
    from archive.clock import utc_now
    from archive.db import write_transaction
    from archive.outbox import Audience, queue_mail
    from mailer.send import send_due

    now = utc_now()
    with write_transaction(db):
        queue_mail(
            db,
            now=now,
            settings=settings,
            template="council/report",
            audience=Audience.COUNCIL,
            context={"title": title, "text": text},
        )
    sent = send_due(db, settings, now)
    print(f"sent to the council: {sent.sent} sent, {sent.postponed} postponed", file=sys.stderr)
