"""`casebook bans`: the ban register, one line a ban."""

from __future__ import annotations

from casebook.commands.invocation import open_existing_archive, print_json, print_rows


def add_parser(commands) -> None:
    bans = commands.add_parser("bans", help="the ban register")
    bans.add_argument("--json", action="store_true", help="JSON output")


def run(args) -> int:
    from archive.banlist import list_bans

    rows = list_bans(open_existing_archive(args))
    return print_json(rows) if args.json else print_rows(rows, ban_line, empty="no bans")


def ban_line(ban: dict) -> str:
    until = "permanent" if ban["permanent"] else f"until {ban['end_at'][:10]}"
    review = f", review {ban['review_at'][:10]}" if ban["review_at"] else ""
    flag = " (unilateral)" if ban["unilateral"] else ""
    return (
        f"{ban['case']:<16} {ban['status']:<8} {ban['who']} from {ban['spaces']},"
        f" since {ban['start_at'][:10]} {until}{review}{flag}"
    )
