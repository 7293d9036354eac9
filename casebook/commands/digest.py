"""`casebook digest`: the council's weekly digest printed as the council address gets it,
or queued and sent (once a week)."""

from __future__ import annotations

from casebook.commands.invocation import now_from, open_existing_archive, settings_for


def add_parser(commands) -> None:
    digest = commands.add_parser("digest", help="print (or send) the council's weekly digest")
    digest.add_argument("--send", action="store_true", help="queue and send this week's digest")
    digest.add_argument("--now", help="ISO 8601 time (default: the real clock)")
    digest.add_argument("--html", action="store_true", help="print the HTML part, not the text")


def run(args) -> int:
    from archive.digest import digest_data
    from mailer.render import make_environment, render_template

    settings = settings_for(args)
    now = now_from(args.now, settings)
    db = open_existing_archive(args, settings)
    if args.send:
        return send_digest(db, settings, now)
    context = {**digest_data(db, settings, now), "committee_name": settings.committee_name}
    environment = make_environment(settings.templates_override)
    rendered = render_template(environment, "council/digest", context)
    if args.html:
        print(rendered.html, end="")
    else:
        print(f"Subject: {rendered.subject}\n\n{rendered.text}")
    return 0


def send_digest(db, settings, now) -> int:
    """This week's digest queued (unless it already was) and sent."""
    from archive.digest import digest_slot, queue_digest
    from mailer.send import send_due

    copies = queue_digest(db, settings, now, digest_slot(settings, now))
    if not copies:
        print("this week's digest was already sent")
        return 0
    report = send_due(db, settings, now)
    print(
        f"digest queued ({copies} copies); mail: {report.sent} sent, {report.postponed}"
        f" postponed, {report.failed} failed"
    )
    return 0
