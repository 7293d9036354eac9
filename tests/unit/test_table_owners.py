"""Every table has one writer (issue 19): the record writes the shared tables, each feature its
own, and nobody else writes them behind their back. Read from the SQL in every product file,
sub-packages included, against the one table of owners (archive/record/owners.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from archive.record.owners import OWNERS, RECORD, SPOOL_OWNERS, SPOOL_WRITERS
from tests.support.base import ROOT

PACKAGES = ("intake", "archive", "mailer", "webform", "casebook")
# The migrations change every table, before anything else opens the archive.
MIGRATIONS = "archive/record/schema.py"
SQL_WRITE = re.compile(
    r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)"
    r"\s+(?!SET\b)(\w+)"
)
# sqlite-utils' writers: db["t"].insert(…), db.table("t").upsert(…), db["t"].delete_where(…)…
UTILS_WRITE = re.compile(
    r"""(?:\[|\.table\()\s*["'](\w+)["']\s*\]?\)?\s*\.\s*"""
    r"(?:insert|insert_all|upsert|upsert_all|update|delete|delete_where|add_column|drop)\b"
)
# Writers that still break the rule, each to be routed through its owner; this list only shrinks.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def product_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def strings(tree: ast.AST) -> list[str]:
    """Every string literal, an f-string's literal parts joined around its placeholders."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            found.append(
                "".join(
                    part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
                )
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
    return found


def writes(path: Path) -> set[str]:
    """The tables a file's SQL (or sqlite-utils calls) writes."""
    text = path.read_text()
    tables = set(UTILS_WRITE.findall(text))
    for literal in strings(ast.parse(text)):
        tables.update(SQL_WRITE.findall(literal))
    return tables


def owns(owner: str, name: str) -> bool:
    return name.startswith(owner) if owner.endswith("/") else name == owner


def all_writes() -> set[tuple[str, str]]:
    return {
        (path.relative_to(ROOT).as_posix(), table)
        for path in product_files()
        for table in writes(path)
    }


def test_the_scan_sees_the_writers_it_should():
    found = all_writes()
    assert ("archive/record/cases.py", "events") in found
    assert ("archive/workflow/resolutions.py", "votes") in found
    assert ("intake/spool.py", "spooled") in found
    assert len(found) > 20


def test_each_table_is_written_by_its_owner_alone():
    wrong = set()
    for name, table in all_writes():
        if name == MIGRATIONS:
            continue
        owners = SPOOL_OWNERS if name in SPOOL_WRITERS else OWNERS
        assert table in owners, f"{name} writes {table}, a table with no stated owner"
        if not owns(owners[table], name):
            wrong.add((name, table))
    assert wrong <= KNOWN_EXCEPTIONS, sorted(wrong - KNOWN_EXCEPTIONS)
    assert not KNOWN_EXCEPTIONS - wrong, f"fixed, drop from the list: {KNOWN_EXCEPTIONS - wrong}"


def test_every_table_of_the_schema_has_an_owner():
    schema = (ROOT / "archive" / "record" / "schema.py").read_text()
    tables = set(re.findall(r"CREATE (?:VIRTUAL )?TABLE (?:IF NOT EXISTS )?(\w+)", schema))
    spool = (ROOT / "intake" / "spool.py").read_text()
    spooled = set(re.findall(r"CREATE (?:VIRTUAL )?TABLE (?:IF NOT EXISTS )?(\w+)", spool))
    assert tables == set(OWNERS), tables ^ set(OWNERS)
    assert spooled == set(SPOOL_OWNERS), spooled ^ set(SPOOL_OWNERS)


@pytest.mark.parametrize("table", sorted(OWNERS))
def test_the_architecture_page_names_each_owner(table):
    """docs/developers/architecture.md's table of owners agrees with archive/record/owners.py."""
    text = (ROOT / "docs" / "developers" / "architecture.md").read_text()
    row = re.search(rf"^\| `{table}` \| `([^`]+)`", text, re.M)
    assert row, f"docs/developers/architecture.md's table of owners lacks {table}"
    assert row.group(1) == OWNERS[table], (table, row.group(1), OWNERS[table])
    assert OWNERS[table] == RECORD or (ROOT / OWNERS[table]).is_file()


def test_nothing_outside_the_archive_touches_its_tables():
    """intake, mailer, the web form and the composition root read and write the archive's
    tables only through archive functions (spool.db's tables are intake's own)."""
    tables = "|".join(sorted(set(OWNERS) - set(SPOOL_OWNERS)))
    sql = re.compile(rf"\b(?:FROM|JOIN|INTO|UPDATE)\s+({tables})\b")
    found = []
    for package in ("intake", "mailer", "webform", "casebook"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for literal in strings(ast.parse(path.read_text())):
                found += [(path.relative_to(ROOT).as_posix(), t) for t in sql.findall(literal)]
    assert found == []
