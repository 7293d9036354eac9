"""`casebook stats`: counts of messages, cases, outbox, deadlines and the spool."""

from __future__ import annotations

from casebook.commands.invocation import open_existing_archive, print_json, settings_for


def add_parser(commands) -> None:
    stats = commands.add_parser("stats", help="counts of messages, cases, outbox, deadlines")
    stats.add_argument("--json", action="store_true", help="JSON output")


def run(args) -> int:
    from archive.queries import archive_stats
    from intake.spool import count_spooled, open_spool, spool_path

    settings = settings_for(args)
    stats = archive_stats(open_existing_archive(args, settings, read_only=True))
    stats["spooled"] = count_spooled(open_spool(spool_path(settings)))
    if args.json:
        return print_json(stats)
    for key, value in stats.items():
        if isinstance(value, dict):
            shown = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        else:
            shown = str(value)
        print(f"{key:<14} {shown}")
    return 0
