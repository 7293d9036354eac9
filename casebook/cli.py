"""The `casebook` command line. Every user error is one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from pathlib import Path

from archive.cases import UnknownCaseError, find_case
from archive.clock import parse_now, utc_now
from archive.db import ArchiveOutdated, ArchiveUnavailable, open_archive, open_reader
from archive.private_files import open_to_others
from archive.settings import Settings
from casebook.config import ConfigError, load_settings
from casebook.errors import (
    EX_CANTCREAT,
    EX_CONFIG,
    EX_DATAERR,
    EX_IOERR,
    EX_NOINPUT,
    EX_NOPERM,
    EX_SOFTWARE,
    EX_TEMPFAIL,
    EX_UNAVAILABLE,
    EX_USAGE,
    UserError,
)
from casebook.outbox import add_outbox_parser, cmd_outbox

# Imports a command needs only for itself are made inside it: `casebook cases` and `show` must
# answer fast, so they load neither asyncio nor the mailer, the templates nor the parser.

DEFAULT_CONFIG = "config/casebook.toml"
# `cases`, `show`, `search` and `stats` open the archive read-only with plain sqlite3; the first
# three log nothing unless they find the archive open to others (see `open_existing_archive`),
# so they load `logging` only then or with -v: ~6 ms of each start (README, "Scale").
QUIET = frozenset({"cases", "show", "search"})


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit 64 (EX_USAGE), as sysexits asks.

    For `ingest` it is 75: an MTA bounces the report on any other code, and a typo in its
    pipe command is the operator's to fix while the mail waits in the queue.
    """

    def error(self, message: str):
        code = EX_TEMPFAIL if "ingest" in sys.argv[1:] else EX_USAGE
        self.exit(code, f"{self.prog}: {message} (see {self.prog} --help)\n")


class _NotThisWay(Exception):
    """The quick parse (one command's parser) could not parse it: parse again in full."""


class QuickParser(Parser):
    def error(self, message: str):
        raise _NotThisWay(message)


class _Unbuilt:
    """Stands in for the parser of a command that is not being run (see `parse_args`)."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: self


class _OnlyOne:
    """`add_subparsers()`' action, but building the parser of the command `only` alone."""

    def __init__(self, action, only: str | None):
        self.action, self.only = action, only

    def add_parser(self, name: str, **kwargs):
        if self.only is None or name == self.only:
            return self.action.add_parser(name, **kwargs)
        return _Unbuilt()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line, parsed with the parser of its command alone when that can be told
    from the leading options: building all twenty (argparse asks gettext for every help
    text) costs 5 to 15 ms of each start. Help, errors and anything unusual take the full
    parser, so what the user sees is the same."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command_in(argv)
    if command is not None:
        try:
            return build_parser(only=command).parse_args(argv)
        except _NotThisWay:
            pass
    return build_parser().parse_args(argv)


def _command_in(argv: list[str]) -> str | None:
    """The command word after the usual global options; None when anything else comes first."""
    tokens = iter(argv)
    for token in tokens:
        if token in ("-c", "--config", "--log-format"):
            next(tokens, None)
        elif token.startswith(("--config=", "--log-format=")) or token in ("-v", "--verbose"):
            continue
        elif token.startswith("-"):
            return None
        else:
            return token
    return None


class VersionAction(argparse.Action):
    """`--version`, asking the installed package's metadata only when it is asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from archive.schema import migrations

        # The last migration names the archive this casebook reads and writes: a backup made
        # by another version restores only if it has no migration this one lacks.
        print(f"casebook {installed_version()} (archive schema {migrations.names()[-1]})")
        parser.exit()


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("casebook-coc")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, the parser of that command alone (see `parse_args`)."""
    parser = (Parser if only is None else QuickParser)(
        prog="casebook",
        description="A Code of Conduct committee's casework over plain email.",
    )
    parser.add_argument("--version", action=VersionAction, help="show the version and exit")
    parser.add_argument(
        "-c",
        "--config",
        help=f"configuration file (default: $CASEBOOK_CONFIG, else {DEFAULT_CONFIG})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text (default) or one JSON object per line (journald, log stacks)",
    )
    # prog given: argparse would otherwise format a usage line (importing shutil) to learn it.
    commands = _OnlyOne(
        parser.add_subparsers(dest="command", metavar="COMMAND", required=True, prog="casebook",
                              parser_class=Parser if only is None else QuickParser),
        only,
    )  # fmt: skip

    serve = commands.add_parser("serve", help="run intake, the mailer and the scheduler")
    serve.add_argument(
        "--with-sink",
        action="store_true",
        help="also run a local relay that keeps outgoing mail in var/sink (for trying it out)",
    )

    ingest = commands.add_parser("ingest", help="read one message on stdin and process it")
    ingest.add_argument(
        "--sender",
        default=None,
        help="envelope sender (default: $SENDER, else the message's Return-Path, else From)",
    )
    ingest.add_argument(
        "--recipient",
        action="extend",
        nargs="+",
        default=None,
        help="envelope recipients: one or more, repeatable, as Postfix's pipe ${recipient}"
        " expands them (default: $RECIPIENT, else the reports address)",
    )

    importer = commands.add_parser("import", help="import an mbox or maildir of past list mail")
    importer.add_argument("paths", nargs="+", help="mbox files or maildir folders")

    tick = commands.add_parser("tick", help="process everything due now, then exit")
    tick.add_argument("--now", help="ISO 8601 time to act at (default: the real clock)")

    cases = commands.add_parser("cases", help="list cases")
    cases.add_argument("--state", help="only cases in this state")
    cases.add_argument("--json", action="store_true", help="JSON output")

    show = commands.add_parser("show", help="one case in full")
    show.add_argument("case", help="case reference, e.g. CoC-2026-001")
    show.add_argument("--json", action="store_true", help="JSON output")

    stats = commands.add_parser("stats", help="counts of messages, cases, outbox, deadlines")
    stats.add_argument("--json", action="store_true", help="JSON output")

    search = commands.add_parser("search", help="full-text search over the archive")
    search.add_argument("query", help="words that must all appear")
    search.add_argument("--limit", type=int, default=50, help="show at most N (default 50)")
    search.add_argument("--json", action="store_true", help="JSON output")

    export = commands.add_parser("export", help="a case thread as mbox for the council")
    export.add_argument("case", help="case reference")
    export.add_argument("--for", dest="requester", required=True, help="the EC member asking")
    export.add_argument("--reason", required=True, help="why (written to the audit log)")
    export.add_argument("--out", help="mbox file to write (default: CASE.mbox)")

    backup = commands.add_parser("backup", help="an online, consistent copy of the archive")
    backup.add_argument("path", help="a new file to write")

    restore = commands.add_parser("restore", help="put a backup back in place of the archive")
    restore.add_argument("path", help="a file written by casebook backup")

    report = commands.add_parser("report", help="the quarterly report or annual summary")
    period = report.add_mutually_exclusive_group(required=True)
    period.add_argument("--quarter", help="e.g. 2026Q4")
    period.add_argument("--year", help="e.g. 2026")
    report.add_argument("--send", action="store_true", help="also send it to the council")

    bans = commands.add_parser("bans", help="the ban register")
    bans.add_argument("--json", action="store_true", help="JSON output")

    digest = commands.add_parser("digest", help="print (or send) the council's weekly digest")
    digest.add_argument("--send", action="store_true", help="queue and send this week's digest")
    digest.add_argument("--now", help="ISO 8601 time (default: the real clock)")
    digest.add_argument("--html", action="store_true", help="print the HTML part, not the text")

    held = commands.add_parser("held", help="mail archived but held or quarantined")
    held.add_argument("--json", action="store_true", help="JSON output")

    add_outbox_parser(commands)

    check = commands.add_parser("check-config", help="validate the configuration and templates")
    check.add_argument(
        "--connect",
        action="store_true",
        help="also log in to the relay and the IMAP server (exit 69 if one fails)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        code = run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not as noise at exit
        return code
    except BrokenPipeError:  # `casebook cases | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def run(argv: list[str] | None) -> int:
    args = parse_args(argv)
    # A belt: anything casebook writes is for its own user only, whatever umask it was started
    # with (each archive, spool, backup, export and sink file is also created 0600 itself).
    os.umask(0o077)
    if args.command not in QUIET or args.verbose:
        start_logging(args)
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:
        print(f"casebook: {exc}", file=sys.stderr)
        return exc.code
    except ConfigError as exc:
        for line in config_lines(exc.problems, for_a_pipe=args.command == "ingest"):
            print(line, file=sys.stderr)
        # An MTA bounces the report on anything but 75: it must keep it until this is fixed.
        return EX_TEMPFAIL if args.command == "ingest" else EX_CONFIG
    except ArchiveUnavailable as exc:
        print(f"casebook: {exc}", file=sys.stderr)
        busy = args.command == "ingest" or "locked" in str(exc) or "disk full" in str(exc)
        return EX_TEMPFAIL if busy else EX_IOERR
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            print(
                "casebook: archive write failed: disk full; nothing is lost (spooled mail waits"
                " in the spool); try again once there is space",
                file=sys.stderr,
            )
            return EX_TEMPFAIL
        if "locked" not in str(exc) and "busy" not in str(exc):
            return internal_error(args, exc)
        print(f"casebook: the archive is busy ({exc}); try again", file=sys.stderr)
        return EX_TEMPFAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise  # main's to handle, not an internal error
    except Exception as exc:
        return internal_error(args, exc)


PIPE_PROBLEMS = 3  # an MTA's pipe keeps ~4 KB of a command's output for its log and bounce
PIPE_LINE = 300


def config_lines(problems: list[str], *, for_a_pipe: bool = False) -> list[str]:
    """One line per problem; for `ingest` (Postfix's pipe log) the first few, each short,
    and how many more `check-config` would list."""
    if not for_a_pipe:
        return [f"casebook: config: {problem}" for problem in problems]
    lines = [f"casebook: config: {short(problem)}" for problem in problems[:PIPE_PROBLEMS]]
    if len(problems) > PIPE_PROBLEMS:
        lines.append(f"casebook: config: {len(problems) - PIPE_PROBLEMS} more problem(s):"
                     " `casebook check-config` lists them all")  # fmt: skip
    return lines


def short(text: str, limit: int = PIPE_LINE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def start_logging(args) -> None:
    from casebook.logs import configure_logging

    configure_logging(json_lines=args.log_format == "json", level=log_level(args),
                      verbose=args.verbose)  # fmt: skip


def internal_error(args, exc: Exception) -> int:
    """A bug: one line (never a traceback for the user; -v logs the details), exit 70."""
    import logging

    logging.getLogger("casebook").debug("internal error", exc_info=True)
    print(f"casebook: internal error: {type(exc).__name__}: {short(str(exc))}", file=sys.stderr)
    return EX_TEMPFAIL if args.command == "ingest" else EX_SOFTWARE


def log_level(args) -> int:
    """serve logs a line per message and per mail; the one-shot commands only what needs an
    operator (cron mails whatever they print), unless -v."""
    import logging

    if args.verbose:
        return logging.DEBUG
    return logging.INFO if args.command == "serve" else logging.WARNING


def config_path(args) -> Path:
    return Path(args.config or os.environ.get("CASEBOOK_CONFIG") or DEFAULT_CONFIG)


def settings_for(args, *, check_files: bool = False) -> Settings:
    return load_settings(config_path(args), check_files=check_files)


def open_existing_archive(args, settings: Settings | None = None, *, read_only: bool = False):
    """The archive for a command that only reads it: refused, never created, when missing.

    `read_only`: opened with plain sqlite3 (`open_reader`: no migrations, no sqlite-utils,
    which alone costs ~65 ms of start-up) for the commands that never write (`cases`, `show`,
    `search`, `stats`)."""
    settings = settings or settings_for(args)
    database = Path(settings.database)
    if not database.exists():  # a folder there is an archive that cannot be opened (74)
        raise UserError(
            f"no archive at {database} (run `casebook serve` or `casebook ingest` first,"
            f" or check `database` in {config_path(args)})",
            EX_NOINPUT,
        )
    if read_only:
        if args.command in QUIET and not args.verbose and open_to_others(database):
            start_logging(args)  # opening it makes it private, and says so
        try:
            return open_reader(database)
        except ArchiveOutdated as exc:
            raise UserError(str(exc), EX_TEMPFAIL) from None
    return open_archive(database)


def cmd_serve(args) -> int:
    from casebook.restore import ArchiveInUse
    from casebook.serve import CannotListen, run_service

    try:
        return run_service(
            settings_for(args, check_files=True),
            with_sink=args.with_sink,
            reload=lambda: settings_for(args, check_files=True),
        )
    except (CannotListen, ArchiveInUse) as exc:
        raise UserError(str(exc), EX_TEMPFAIL) from None


def cmd_ingest(args) -> int:
    from casebook.ingest import ingest_stdin

    return ingest_stdin(settings_for(args), args.sender, args.recipient)


def cmd_import(args) -> int:
    from tqdm import tqdm

    from intake.importer import import_paths, mail_file_problem

    settings = settings_for(args)
    paths = [Path(p) for p in args.paths]
    for path in paths:
        if not path.exists():
            raise UserError(f"{path}: no such file or folder", EX_NOINPUT)
        if not os.access(path, os.R_OK):
            raise UserError(f"{path}: not readable", EX_NOINPUT)
        if path.is_dir() and not (path / "cur").is_dir():
            raise UserError(f"{path}: a folder, but not a maildir (no cur/)", EX_DATAERR)
        if path.is_file() and (problem := mail_file_problem(path)):
            raise UserError(f"{path}: {problem}; nothing imported", EX_DATAERR)
    db = open_archive(settings.database)
    with tqdm(unit="B", unit_scale=True, disable=None, desc="importing") as progress:
        try:
            report = import_paths(db, settings, paths, utc_now(), progress)
        except OSError as exc:
            raise UserError(f"cannot read: {exc}", EX_IOERR) from None
    resumed = f" (resumed after {report.skipped_bytes} bytes)" if report.skipped_bytes else ""
    quarantined = f", {report.quarantined} quarantined" if report.quarantined else ""
    print(f"{report.read} messages read: {report.new} new,"
          f" {report.duplicates} already archived{quarantined}{resumed}")  # fmt: skip
    return 0


def cmd_tick(args) -> int:
    from casebook.tick import run_tick

    settings = settings_for(args)
    now = _now(args.now, settings)
    summary, noteworthy = run_tick(settings, now)
    if noteworthy or args.verbose:  # cron mails whatever is printed: nothing when all is well
        print(summary)
    return 0


def _now(text: str | None, settings: Settings):
    if text is None:
        return utc_now()
    try:
        return parse_now(text, settings.zone)
    except ValueError as exc:
        raise UserError(f"--now: {exc}", EX_USAGE) from None


def cmd_cases(args) -> int:
    if args.state:
        from archive.models import CaseState

        if args.state not in {s.value for s in CaseState}:
            states = ", ".join(s.value for s in CaseState)
            raise UserError(f"unknown state {args.state!r}; states are: {states}", EX_USAGE)
    from archive.queries import case_rows, case_summaries

    db = open_existing_archive(args, read_only=True)
    if args.json:
        print(json.dumps(case_summaries(db, args.state), indent=2))
        return 0
    red = ("\033[31m", "\033[0m") if sys.stdout.isatty() else ("", "")
    lines = []  # from the rows as they come, and one write: 10k cases are 10k lines
    for ref, state, urgent, opened_at, _, reporter in case_rows(db, args.state):
        flag, mark = ("URGENT ", red) if urgent else ("", ("", ""))
        lines.append(f"{mark[0]}{ref:<16} {flag}{state:<20} opened {opened_at[:16]}"
                     f"  reporter {reporter or 'anonymous'}{mark[1]}\n")  # fmt: skip
    sys.stdout.write("".join(lines) or "no cases\n")
    return 0


def cmd_show(args) -> int:
    from archive.queries import case_detail

    db = open_existing_archive(args, read_only=True)
    try:
        case = find_case(db, args.case)
    except UnknownCaseError as exc:
        raise UserError(str(exc), EX_DATAERR) from None
    detail = case_detail(db, case)
    if args.json:
        print(json.dumps(detail, indent=2))
        return 0
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
    for mediation in detail.get("mediations", []):
        lines.append(f"\nmediation with {mediation['mediator']} ({mediation['status']}):")
        if mediation["report"]:
            lines += [f"  report: {line}" for line in mediation["report"].splitlines()]
        for vetting in mediation["vettings"]:
            lines.append(f"  vetted by the {vetting['role']}: {vetting['verdict']}")
            if vetting["verdict"] != "confirmed":
                lines += [f"    {line}" for line in (vetting["text"] or "").splitlines()]
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


def cmd_stats(args) -> int:
    from archive.queries import archive_stats
    from intake.spool import count_spooled, open_spool, spool_path

    settings = settings_for(args)
    stats = archive_stats(open_existing_archive(args, settings, read_only=True))
    stats["spooled"] = count_spooled(open_spool(spool_path(settings)))
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    for key, value in stats.items():
        if isinstance(value, dict):
            shown = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        else:
            shown = str(value)
        print(f"{key:<14} {shown}")
    return 0


def cmd_search(args) -> int:
    from archive.search import RANK_POOL, search_messages

    if args.limit < 1:
        raise UserError("search: --limit must be 1 or more", EX_USAGE)
    db = open_existing_archive(args, read_only=True)
    try:
        hits, total = search_messages(db, args.query, args.limit)
    except ValueError as exc:
        raise UserError(str(exc), EX_USAGE) from None
    if args.json:
        print(json.dumps(hits, indent=2))
        return 0
    if not hits:
        print("no messages match")
    for hit in hits:
        print(f"{hit['at'][:16]} {hit['case'] or '-':<15} {hit['direction']:>3} {hit['kind']:<14}"
              f" {hit['from'] or '-'}  {hit['subject']}\n    {hit['snippet']}")  # fmt: skip
    if hits:
        shown = f"showing {len(hits)} of {total}" if total > len(hits) else f"{total} found"
        if total > RANK_POOL:
            shown = (f"showing the best {len(hits)} among the {RANK_POOL:,} most recently"
                     f" archived of {total:,} matches (add words to narrow it)")  # fmt: skip
        print(f"{shown} (dated by each message's own Date header, UTC)")
    return 0


def cmd_export(args) -> int:
    from archive.export import ExportRefused, export_case

    db = open_existing_archive(args)
    try:
        case = find_case(db, args.case)
    except UnknownCaseError as exc:
        raise UserError(str(exc), EX_DATAERR) from None
    target = Path(args.out or f"{case.ref}.mbox")
    if target.exists():
        raise UserError(f"cannot write {target}: it exists; choose a new file", EX_CANTCREAT)
    try:
        count = export_case(db, case, settings_for(args), requester=args.requester,
                            reason=args.reason, target=target, now=utc_now())  # fmt: skip
    except ExportRefused as exc:
        raise UserError(f"export refused: {exc}", EX_NOPERM) from None
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}", EX_CANTCREAT) from None
    print(f"{count} messages of {case.ref} written to {target} (logged in the case)")
    return 0


def cmd_backup(args) -> int:
    from archive.search import backup_archive

    db = open_existing_archive(args)
    try:
        size = backup_archive(db, Path(args.path))
    except FileExistsError as exc:
        raise UserError(str(exc), EX_CANTCREAT) from None
    except OSError as exc:
        raise UserError(f"cannot write {args.path}: {exc.strerror or exc}", EX_CANTCREAT) from None
    print(f"archive copied to {args.path} ({size} bytes)")
    return 0


def cmd_restore(args) -> int:
    from casebook.restore import ArchiveInUse, NotABackup, restore_archive
    from intake.spool import count_spooled, open_spool, spool_path

    settings = settings_for(args)
    if not Path(args.path).is_file():
        raise UserError(f"restore: {args.path}: no such file", EX_NOINPUT)
    try:
        aside = restore_archive(Path(settings.database), Path(args.path), utc_now())
    except ArchiveInUse as exc:
        raise UserError(f"restore: {exc}", EX_TEMPFAIL) from None
    except NotABackup as exc:
        raise UserError(f"restore: {exc}", EX_DATAERR) from None
    except OSError as exc:
        missing = exc.filename is not None and Path(exc.filename) == Path(args.path)
        raise UserError(f"restore: {exc.strerror or exc}: {exc.filename or ''}",
                        EX_NOINPUT if missing else EX_IOERR) from None  # fmt: skip
    kept = f"; the previous archive is kept as {aside}" if aside else ""
    waiting = count_spooled(open_spool(spool_path(settings)))
    print(f"archive restored from {args.path}{kept}; {waiting} spooled message(s) are"
          " checked against it at the next tick or serve")  # fmt: skip
    return 0


def cmd_report(args) -> int:
    from archive.outbox import Audience, queue_mail
    from archive.reporting import quarter_period, render_markdown, report_data, year_period
    from mailer.send import send_due

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
        from archive.db import write_transaction

        now = utc_now()
        with write_transaction(db):
            queue_mail(db, now=now, settings=settings, template="council/report",
                       audience=Audience.COUNCIL, context={"title": f"{title}: {period.label}",
                                                           "text": text})  # fmt: skip
        sent = send_due(db, settings, now)
        print(f"sent to the council: {sent.sent} sent, {sent.postponed} postponed", file=sys.stderr)
    return 0


def cmd_bans(args) -> int:
    from archive.banlist import list_bans

    rows = list_bans(open_existing_archive(args))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no bans")
    for ban in rows:
        until = "permanent" if ban["permanent"] else f"until {ban['end_at'][:10]}"
        review = f", review {ban['review_at'][:10]}" if ban["review_at"] else ""
        flag = " (unilateral)" if ban["unilateral"] else ""
        print(f"{ban['case']:<16} {ban['status']:<8} {ban['who']} from {ban['spaces']},"
              f" since {ban['start_at'][:10]} {until}{review}{flag}")  # fmt: skip
    return 0


def cmd_digest(args) -> int:
    from archive.digest import digest_data, digest_slot, queue_digest
    from mailer.render import make_environment, render_template
    from mailer.send import send_due

    settings = settings_for(args)
    now = _now(args.now, settings)
    db = open_existing_archive(args, settings)
    if args.send:
        copies = queue_digest(db, settings, now, digest_slot(settings, now))
        if not copies:
            print("this week's digest was already sent")
            return 0
        report = send_due(db, settings, now)
        print(f"digest queued ({copies} copies); mail: {report.sent} sent, {report.postponed}"
              f" postponed, {report.failed} failed")  # fmt: skip
        return 0
    context = {**digest_data(db, settings, now), "committee_name": settings.committee_name}
    rendered = render_template(make_environment(settings.templates_override), "council/digest",
                               context)  # fmt: skip
    if args.html:
        print(rendered.html, end="")
    else:
        print(f"Subject: {rendered.subject}\n\n{rendered.text}")
    return 0


def cmd_held(args) -> int:
    from archive.held import list_held

    rows = list_held(open_existing_archive(args))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no held mail")
    for row in rows:
        print(f"{row['id']:>5} {row['archived_at'][:16]} {row['case'] or '-':<15}"
              f" {row['kind']:<12} {row['message_id']}\n    {row['reason']}")  # fmt: skip
    return 0


def cmd_check_config(args) -> int:
    from casebook.checks import check_everything

    path = config_path(args)
    problems = check_everything(path)
    if problems:
        for problem in problems:
            print(f"casebook: config: {problem}", file=sys.stderr)
        return EX_CONFIG
    print(f"{path}: configuration and templates are valid")
    if not args.connect:
        return 0
    from casebook.connect import check_imap, check_relay

    settings = settings_for(args)
    outcomes = [check_relay(settings.relay)]
    if settings.imap is not None:
        outcomes.append(check_imap(settings.imap))
    for outcome in outcomes:
        if outcome.ok:
            print(outcome.line)
        else:
            print(f"casebook: connect: {outcome.line}", file=sys.stderr)
    return 0 if all(o.ok for o in outcomes) else EX_UNAVAILABLE


COMMANDS = {
    "serve": cmd_serve,
    "ingest": cmd_ingest,
    "import": cmd_import,
    "tick": cmd_tick,
    "cases": cmd_cases,
    "show": cmd_show,
    "stats": cmd_stats,
    "search": cmd_search,
    "export": cmd_export,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "report": cmd_report,
    "bans": cmd_bans,
    "digest": cmd_digest,
    "held": cmd_held,
    "outbox": lambda args: cmd_outbox(args, open_existing_archive(args), utc_now()),
    "check-config": cmd_check_config,
}

if __name__ == "__main__":
    sys.exit(main())
