"""One source per fact (issue 19): the address grammar and the ladder of resolutions live in
one module each, every other module asks it."""

from __future__ import annotations

import re

import pytest

from archive.commands.propose import COMMAND as PROPOSE
from archive.outgoing.catalogue import CATALOGUE
from archive.record.address_grammar import (
    bracketed_address,
    ends_with_address,
    find_addresses,
    hide_addresses,
    is_address,
    is_plain_address,
    split_address,
)
from archive.workflow.ladder import LADDER, VENUE
from archive.workflow.resolutions import check_resolution
from tests.support.base import ROOT

RUNNING_A_CASE = ROOT / "docs" / "committee" / "running-a-case.md"  # where members read the ladder
FOLDERS = ("archive", "intake", "mailer", "casebook", "webform")
# A pattern source that puts a local part's class or group right before `@` and a domain's
# after it: `[\w.+-]@[\w-]`, `]+@[^@`, `{_DOT_ATOM}@[A-Za-z0-9-]` (a Message-ID's `}@{` is no
# address, nor a handle's `(?<![\w.])@[A-Za-z]`).
ADDRESS_PATTERN = re.compile(r"[\]+*}]@[\[\\]")


def sources():
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_no_module_but_the_grammar_writes_an_address_pattern():
    found = [
        f"{name}:{number}"
        for name, text in sources()
        if name != "archive/record/address_grammar.py"
        for number, line in enumerate(text.splitlines(), 1)
        if ADDRESS_PATTERN.search(line)
    ]
    assert found == []


def test_the_grammar_is_read_by_every_place_that_reads_an_address():
    readers = {name for name, text in sources() if "archive.record.address_grammar import" in text}
    assert readers >= {
        "intake/addresses.py", "intake/quotemarks.py", "casebook/config.py", "casebook/logs.py",
        "mailer/compose.py", "webform/app.py", "archive/arrivals/dsn.py",
        "archive/workflow/resolutions.py", "archive/commands/ban.py", "archive/commands/consult.py",
        "archive/commands/mediation.py", "archive/commands/responsible.py",
        "archive/commands/to_party.py",
    }  # fmt: skip


@pytest.mark.parametrize(
    "text, strict",
    [("alice@example.org", True), ("rité@exämple.net", True), ("root@localhost", True),
     ("Alice <alice@example.org>", False), ("alice@example.org, bob@example.org", False),
     ("friends: alice@example.org;", False), ("alice(x)@example.org", False),
     ("alice@example.org (bob@example.org)", False), ("", False), ("@example.org", False)],
)  # fmt: skip
def test_the_strict_form_is_one_bare_mailbox(text, strict):
    assert is_address(text) is strict


def test_the_strict_form_asks_what_its_reader_needs():
    assert not is_address("rité@example.net", ascii_only=True)
    assert not is_address("root@localhost", dotted=True)
    assert is_plain_address("alice@example.org") and not is_plain_address("alice.@example.org")
    assert bracketed_address("<Dave@Example.com>") == "Dave@Example.com"
    assert bracketed_address("Dave") is None


def test_the_lenient_form_finds_addresses_in_free_text():
    assert split_address('"Dave Jones" <dave@example.com>') == ("dave@example.com", "Dave Jones")
    assert split_address("Dave Jones") == (None, "Dave Jones")
    assert find_addresses("wendy@example.net and <Walt@example.com>.") == [
        "wendy@example.net", "Walt@example.com",
    ]  # fmt: skip
    assert hide_addresses("from rita@example.net <id@host>", "[a]") == "from [a] <[a]>"
    assert ends_with_address("On Monday, Rita <rita@example.net")
    assert not ends_with_address("rita@example.net wrote")


# -- the ladder: one row per resolution, every consumer reads the rows ---------------------

# `mediation` is a feature's name too (its clocks, its command): the other rows are only rows.
RESOLUTION_LITERAL = re.compile(
    r"[\"'](" + "|".join(re.escape(row.name) for row in LADDER if row.enacted) + r")[\"']"
)


def test_no_module_but_the_ladder_restates_a_resolution():
    """The catalogue's samples may name one (as a field's value); nobody else may branch on one."""
    found = [
        f"{name}:{number}"
        for name, text in sources()
        if name not in ("archive/workflow/ladder.py", "archive/outgoing/catalogue.py")
        for number, line in enumerate(text.splitlines(), 1)
        if RESOLUTION_LITERAL.search(line)
    ]
    assert found == []


@pytest.mark.parametrize("row", LADDER, ids=lambda row: row.name)
def test_every_row_is_read_by_every_consumer(row):
    args = {"": "", VENUE: "users@lists.example.org", "[DURATION]": "14d",
            "DURATION SPACES": "30d chat", "SPACES": "all"}[row.args]  # fmt: skip
    assert check_resolution(row.name, args) is None
    assert row.usage in PROPOSE.help  # #help
    page = " ".join(RUNNING_A_CASE.read_text(encoding="utf-8").split())
    assert f"`{row.usage}`" in page
    for name in (row.to_responsible, row.to_venue):
        assert name is None or name in CATALOGUE
    assert row.consult and (row.done or not row.enacted)


def test_the_ladder_is_listed_in_its_order_where_people_read_it():
    names = [row.name for row in LADDER]
    assert check_resolution("scolding", "").endswith(", ".join(names))
    page = " ".join(RUNNING_A_CASE.read_text(encoding="utf-8").split())
    positions = [
        page.index(f"`{row.usage}`", page.index("Resolutions (`#propose")) for row in LADDER
    ]
    assert positions == sorted(positions)
