"""`casebook outbox`: what waits to be sent or failed, and sending failed mail again."""

from __future__ import annotations

import json

from casebook.errors import EX_DATAERR, EX_USAGE, UserError


def add_outbox_parser(commands) -> None:
    outbox = commands.add_parser("outbox", help="mail waiting to be sent or failed; retry it")
    outbox.add_argument("--failed", action="store_true", help="only mail that failed")
    outbox.add_argument("--json", action="store_true", help="JSON output")
    actions = outbox.add_subparsers(dest="action", metavar="retry", required=False)
    retry = actions.add_parser("retry", help="queue failed mail again (same Message-ID)")
    retry.add_argument("id", nargs="?", type=int, help="the outbox item (see casebook outbox)")
    retry.add_argument("--all-failed", action="store_true", help="every failed item")


def cmd_outbox(args, db, now) -> int:
    from archive.outbox import NotRetryable, list_outbox, requeue_failed

    if args.action == "retry":
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
    rows = list_outbox(db, failed_only=args.failed)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no failed mail" if args.failed else "nothing waiting or failed")
    for row in rows:
        when = f"next {row['next_attempt_at'][:16]}" if row["next_attempt_at"] else "stopped"
        print(
            f"{row['id']:>5} {row['case'] or '-':<15} {row['template']:<28} {row['audience']:<9}"
            f" {row['state']:<6} {row['attempts']} attempt(s), {when}"
        )
        if row["last_error"]:
            print(f"      {row['last_error'][:200]}")
    return 0
