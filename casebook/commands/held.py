"""`casebook held`: mail archived but not acted on, oldest first, each with its reason."""

from __future__ import annotations

from casebook.commands.invocation import open_existing_archive, print_json, print_rows


def add_parser(commands) -> None:
    held = commands.add_parser("held", help="mail archived but held or quarantined")
    held.add_argument("--json", action="store_true", help="JSON output")


def run(args) -> int:
    from archive.held import list_held

    rows = list_held(open_existing_archive(args))
    return print_json(rows) if args.json else print_rows(rows, held_line, empty="no held mail")


def held_line(row: dict) -> str:
    return (
        f"{row['id']:>5} {row['archived_at'][:16]} {row['case'] or '-':<15}"
        f" {row['kind']:<12} {row['message_id']}\n    {row['reason']}"
    )
