"""`casebook search QUERY`: full-text search over every archived message, best first."""

from __future__ import annotations

from casebook.commands.invocation import open_existing_archive, print_json, print_rows
from casebook.errors import EX_USAGE, UserError


def add_parser(commands) -> None:
    search = commands.add_parser("search", help="full-text search over the archive")
    search.add_argument("query", help="words that must all appear")
    search.add_argument("--limit", type=int, default=50, help="show at most N (default 50)")
    search.add_argument("--json", action="store_true", help="JSON output")


def run(args) -> int:
    from archive.search import search_messages

    if args.limit < 1:
        raise UserError("search: --limit must be 1 or more", EX_USAGE)
    db = open_existing_archive(args, read_only=True)
    try:
        hits, total = search_messages(db, args.query, args.limit)
    except ValueError as exc:
        raise UserError(str(exc), EX_USAGE) from None
    if args.json:
        return print_json(hits)
    print_rows(hits, hit_line, empty="no messages match")
    if hits:
        print(f"{shown_of(len(hits), total)} (dated by each message's own Date header, UTC)")
    return 0


def hit_line(hit: dict) -> str:
    return (
        f"{hit['at'][:16]} {hit['case'] or '-':<15} {hit['direction']:>3} {hit['kind']:<14}"
        f" {hit['from'] or '-'}  {hit['subject']}\n    {hit['snippet']}"
    )


def shown_of(shown: int, total: int) -> str:
    """How many hits are shown, of how many, and when only the newest matches were ranked."""
    from archive.search import RANK_POOL

    if total > RANK_POOL:
        return (
            f"showing the best {shown} among the {RANK_POOL:,} most recently"
            f" archived of {total:,} matches (add words to narrow it)"
        )
    return f"showing {shown} of {total}" if total > shown else f"{total} found"
