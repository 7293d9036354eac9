"""`casebook show CASE`: one case in full, as text or JSON."""

from __future__ import annotations

from casebook.commands.invocation import case_named, open_existing_archive, print_json


def add_parser(commands) -> None:
    show = commands.add_parser("show", help="one case in full")
    show.add_argument("case", help="case reference, e.g. CoC-2026-001")
    show.add_argument("--json", action="store_true", help="JSON output")


def run(args) -> int:
    from archive.queries import case_detail

    db = open_existing_archive(args, read_only=True)
    detail = case_detail(db, case_named(db, args.case))
    if args.json:
        return print_json(detail)
    print(render_case_text(detail))
    return 0


def render_case_text(detail: dict) -> str:
    lines = [
        f"{detail['id']}  {detail['state']}{'  URGENT' if detail['urgent'] else ''}",
        f"opened {detail['opened_at']}, reporter {detail['reporter'] or 'anonymous'}",
    ]
    if detail["conflicted"]:
        lines.append(f"conflicted: {', '.join(detail['conflicted'])}")
    lines.append("\nfields:")
    for name, value in detail["fields"].items():
        if value:
            shown = ", ".join(value) if isinstance(value, list) else str(value)
            lines.append(f"  {name}: {shown[:200]}")
    lines.append("\nparties:")
    lines += [
        f"  {p['role']}: {p['name'] or ''} <{p['email'] or '-'}>"
        + (" (asked for no further contact)" if p["no_contact"] else "")
        + (f" (consent: {p['consent']})" if p["consent"] else "")
        for p in detail["parties"]
    ]
    lines.append("\nmessages:")
    lines += [
        f"  {m['number']:>5} {m['at'][:19]} {m['direction']:>3} {m['kind']:<22}"
        f" {m['from'] or '-'}  {m['subject']}"
        for m in detail["messages"]
    ]
    lines.append("\ntimeline:")
    lines += [f"  {e['at'][:19]} {e['actor']}: {e['action']}" for e in detail["events"]]
    if detail["deadlines"]:
        lines.append("\ndeadlines:")
        lines += [
            f"  {d['due_at'][:19]} {d['kind']}{deadline_mark(d)}" for d in detail["deadlines"]
        ]
    return "\n".join(lines)


def deadline_mark(deadline: dict) -> str:
    """What became of a deadline: `show` lists them all, the open ones unmarked."""
    if deadline.get("fired_at"):
        return f"  (fired {deadline['fired_at'][:19]})"
    if deadline.get("cancelled_at"):
        return f"  (cancelled {deadline['cancelled_at'][:19]})"
    return ""
