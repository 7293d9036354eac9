"""`casebook outbox`: what waits to be sent or failed, and sending failed mail again."""

from __future__ import annotations

from casebook.commands.invocation import open_existing_archive, print_json, print_rows
from casebook.errors import EX_DATAERR, EX_USAGE, UserError


def add_parser(commands) -> None:
    outbox = commands.add_parser("outbox", help="mail waiting to be sent or failed; retry it")
    outbox.add_argument("--failed", action="store_true", help="only mail that failed")
    outbox.add_argument("--json", action="store_true", help="JSON output")
    actions = outbox.add_subparsers(dest="action", metavar="retry", required=False)
    retry = actions.add_parser("retry", help="queue failed mail again (same Message-ID)")
    retry.add_argument("id", nargs="?", type=int, help="the outbox item (see casebook outbox)")
    retry.add_argument("--all-failed", action="store_true", help="every failed item")


def run(args) -> int:
    from archive.clock import utc_now

    db = open_existing_archive(args)
    if args.action == "retry":
        return retry_failed(args, db, utc_now())
    from archive.outbox import list_outbox

    rows = list_outbox(db, failed_only=args.failed)
    if args.json:
        return print_json(rows)
    return print_rows(
        rows, item_line, empty="no failed mail" if args.failed else "nothing waiting or failed"
    )


def item_line(row: dict) -> str:
    """One outbox item, and the relay's last answer under it."""
    when = f"next {row['next_attempt_at'][:16]}" if row["next_attempt_at"] else "stopped"
    line = (
        f"{row['id']:>5} {row['case'] or '-':<15} {row['template']:<28} {row['audience']:<9}"
        f" {row['state']:<6} {row['attempts']} attempt(s), {when}"
    )
    return f"{line}\n      {row['last_error'][:200]}" if row["last_error"] else line


def retry_failed(args, db, now) -> int:
    """`outbox retry`: one failed item, or every one, queued again with its Message-ID."""
    from archive.outbox import NotRetryable, requeue_failed

    if (args.id is None) == (not args.all_failed):
        raise UserError("outbox retry: give one ID or --all-failed", EX_USAGE)
    try:
        done = requeue_failed(db, None if args.all_failed else [args.id], now)
    except NotRetryable as exc:
        raise UserError(f"outbox retry: {exc}", EX_DATAERR) from None
    if not done:
        print("no failed mail")
    for item in done:
        print(
            f"{item['id']} {item['case'] or '-'} {item['template']}: queued again"
            " (same Message-ID; logged in the case)"
        )
    if done:
        print("casebook serve sends it at its next sweep, or run casebook tick")
    return 0
