"""Exit codes as the command line page (docs/operators/cli.md) documents them, and every
command it documents as the installed `casebook` runs it (stdin, stdout and stderr pipes, never
a terminal)."""

from __future__ import annotations

import re

import pytest

import casebook.errors as errors
from tests.support.base import ROOT, T0, fixture_bytes, write_config
from tests.support.helpers import deliver, run_casebook

CLI_PAGE = (ROOT / "docs" / "operators" / "cli.md").read_text()  # the command line page


def readme_table(after: str) -> list[list[str]]:
    """The rows of the first Markdown table after the line starting with `after`."""
    text = CLI_PAGE[CLI_PAGE.index(after) :]
    rows = re.findall(r"^\|(.+)\|$", text[text.index("\n|") :].split("\n\n", 1)[0], re.M)
    cells = [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)] for row in rows]
    return [row for row in cells[1:] if not set(row[0]) <= {"-", " "}]


def test_the_readme_exit_code_table_matches_the_code():
    documented = {int(row[0]) for row in readme_table("**Exit codes**")}
    defined = {value for name, value in vars(errors).items() if name.startswith("EX_")}
    assert documented == defined


@pytest.fixture
def archive(tmp_path, config_path, db, settings):
    """An archive with one case, and files for the bad inputs to point at."""
    deliver(db, settings, "plain_report.eml", now=T0)
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("not a database\n" * 50)
    (tmp_path / "taken.db").write_text("")
    broken = tmp_path / "broken" / "casebook.toml"
    broken.parent.mkdir()
    write_config(broken.parent).write_text("[casebook\n")
    dir_db = tmp_path / "dirdb"
    write_config(dir_db.mkdir() or dir_db)
    (dir_db / "casebook.db").mkdir(mode=0o700)
    return tmp_path


ERC = ("--for", "erin@example.org", "--reason", "appeal")
# (arguments after -c CONFIG, stdin, exit code, what stderr says); {t} is the test's folder.
BAD_INPUTS = [
    (["show", "CoC-2026-999"], b"", 65, "no case"),
    (["export", "CoC-2026-999", *ERC], b"", 65, "no case"),
    (["outbox", "retry", "999"], b"", 65, "no outbox item 999"),
    (["ingest"], b"", 65, "no message on standard input"),
    # A typo in the MTA's pipe command defers the mail (75) instead of bouncing the report.
    (["ingest", "--recipent", "conduct@example.org"], b"Subject: x\r\n\r\nx\r\n", 75,
     "unrecognized arguments"),  # fmt: skip
    (["import", "{t}/folder"], b"", 65, "not a maildir"),
    (["restore", "{t}/notes.txt"], b"", 65, "not a casebook archive"),
    (["import", "{t}/missing.mbox"], b"", 66, "no such file"),
    (["restore", "{t}/missing.db"], b"", 66, "no such file"),
    (["backup", "{t}/taken.db"], b"", 73, "exists"),
    (["export", "CoC-2026-001", *ERC, "--out", "{t}/no/such/x.mbox"], b"", 73, "cannot write"),
    (["export", "CoC-2026-001", *ERC, "--out", "{t}/taken.db"], b"", 73, "exists"),
    (["export", "CoC-2026-001", "--for", "bob@example.org", "--reason", "x"], b"", 77,
     "not a member of the Executive Council"),
    (["tick", "--now", "next tuesday"], b"", 64, "--now"),
    (["digest", "--now", "2026-13-45"], b"", 64, "--now"),
    (["report", "--quarter", "2026Q9"], b"", 64, "2026Q9"),
    (["cases", "--state", "sleeping"], b"", 64, "unknown state"),
    (["search", "!!!"], b"", 64, "no words"),
    (["search", "x", "--limit", "none"], b"", 64, "--limit"),
    (["outbox", "retry"], b"", 64, "one ID or --all-failed"),
    (["outbox", "retry", "1", "--all-failed"], b"", 64, "one ID or --all-failed"),
    (["frobnicate"], b"", 64, "invalid choice"),
    (["show"], b"", 64, "required"),
    (["-c", "{t}/missing.toml", "cases"], b"", 78, "no such configuration file"),
    (["-c", "{t}/broken/casebook.toml", "stats"], b"", 78, "not valid TOML"),
    (["-c", "{t}/dirdb/casebook.toml", "cases"], b"", 74, "cannot open the archive"),
]  # fmt: skip


@pytest.mark.parametrize("args, stdin, code, says", BAD_INPUTS, ids=lambda v: str(v)[:40])
def test_bad_input_is_one_line_and_its_exit_code(archive, config_path, args, stdin, code, says):
    args = [a.replace("{t}", str(archive)) for a in args]
    if args[0] != "-c":
        args = ["-c", str(config_path), *args]
    result = run_casebook(*args, stdin=stdin)
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert says in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "internal error" not in stderr and "Traceback" not in stderr


def documented_commands() -> set[str]:
    return {re.match(r"`([\w-]+)", row[0]).group(1) for row in readme_table("| command | does")}


# Every command docs/operators/cli.md documents, run once as an operator would (serve:
# tests/service/test_logs.py runs the installed `casebook serve` and reads its log). Arguments
# after -c CONFIG; stdout.
SMOKE = {
    "ingest": (["ingest", "--sender", "chris@example.net"], "checklist_report.eml", ""),
    "import": (["import", "{t}/list.mbox"], None, "1 messages read: 1 new"),
    "tick": (["-v", "tick"], None, "processed 0 message(s)"),
    "cases": (["cases"], None, "CoC-2026-001"),
    "show": (["show", "CoC-2026-001"], None, "timeline:"),
    "stats": (["stats"], None, "messages"),
    "search": (["search", "stupid"], None, " found (dated by"),
    "export": (["export", "CoC-2026-001", *ERC, "--out", "{t}/x.mbox"], None, "written to"),
    "backup": (["backup", "{t}/copy.db"], None, "archive copied"),
    "restore": (["restore", "{t}/copy.db"], None, "archive restored"),
    "report": (["report", "--year", "2026"], None, "Annual transparency summary"),
    "bans": (["bans"], None, "no bans"),
    "digest": (["digest", "--now", "2026-03-09T10:00"], None, "Subject:"),
    "held": (["held", "--json"], None, "[]"),
    "outbox": (["outbox", "--failed"], None, "no failed mail"),
    "check-config": (["check-config"], None, "valid"),
}


def test_every_readme_command_has_a_run():
    assert documented_commands() - {"serve"} == set(SMOKE)


def test_every_readme_command_runs_from_the_installed_script(archive, config_path, relay):
    mbox = archive / "list.mbox"
    mbox.write_bytes(b"From list@example.org Mon Mar  2 10:00:00 2026\n"
                     + fixture_bytes("latin1_subject.eml").replace(b"\r\n", b"\n"))  # fmt: skip
    for name, (args, stdin, says) in SMOKE.items():
        args = [a.replace("{t}", str(archive)) for a in args]
        result = run_casebook("-c", str(config_path), *args,
                              stdin=fixture_bytes(stdin) if stdin else b"")  # fmt: skip
        assert result.returncode == 0, (name, result.stderr.decode())
        assert says in result.stdout.decode(), (name, result.stdout.decode())
        assert b"Traceback" not in result.stderr, name
    assert run_casebook("--version").stdout.startswith(b"casebook ")
