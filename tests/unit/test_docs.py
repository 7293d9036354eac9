"""The docs hold to the code (like sqlite-utils): every command keyword and every CLI command
documented, the mail table and the generated references current, and the README a map that
names every module and reaches each topic a newcomer looks for in one link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archive.commands import COMMANDS
from archive.outgoing.catalogue import CATALOGUE
from casebook import docsgen
from casebook.cli import COMMANDS as CLI_COMMANDS
from tests.support.base import ROOT

DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
RUNNING = (DOCS / "committee" / "running-a-case.md").read_text()
CLI = (DOCS / "operators" / "cli.md").read_text()
MAIL = (DOCS / "committee" / "mail.md").read_text().split(docsgen.BEGIN)[0]  # the hand table

# The ten topics a newcomer must find one link away from the README (issue 19).
TOPICS = (
    "what `#ban` does",
    "the leak guard",
    "what a member's reply does",
    "why a message was held",
    "quote stripping",
    "party authentication",
    "the web form",
    "backup",
    "the ban register",
    "an appeal decision",
)
PACKAGES = ("intake", "archive", "mailer", "webform", "casebook")


def test_every_keyword_is_documented_with_an_example():
    for name in COMMANDS:
        assert f"`#{name}" in RUNNING, f"#{name} is not in docs/committee/running-a-case.md"


def test_every_cli_command_is_documented():
    for name in CLI_COMMANDS:
        assert f"| `{name}" in CLI, f"casebook {name} is not in docs/operators/cli.md"


def test_every_template_is_listed():
    """The table of mail (docs/committee/mail.md) names every template of the catalogue."""
    for name in CATALOGUE:
        folder, short = name.split("/", 1)
        assert f"`{name}`" in MAIL or f"`{folder}/" in MAIL and f"`{short}`" in MAIL, name


@pytest.mark.parametrize("page", sorted(docsgen.PAGES))
def test_generated_pages_match_the_code(page):
    text = (ROOT / page).read_text()
    expected = docsgen.regenerate(text, docsgen.PAGES[page]())
    assert text == expected, f"{page} is stale: run `make docs` (python -m casebook.docsgen)"


def module_files(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if p.name != "__init__.py")


def map_entry(package: str) -> str:
    """The README's map bullet of one package (`**archive/**`, `**archive/commands/**`…)."""
    match = re.search(rf"^- \*\*{re.escape(package)}/?\*\*.*?(?=^- |^#|\Z)", README, re.M | re.S)
    assert match, f"the README's architecture map has no entry for {package}/"
    return match.group(0)


def test_the_readme_map_names_every_module():
    for package in PACKAGES:
        for path in module_files(package):
            folder = path.parent.relative_to(ROOT).as_posix()
            assert f"`{path.stem}`" in map_entry(folder), f"the README's map lacks {path}"


def test_developers_architecture_names_every_module():
    text = (DOCS / "developers" / "architecture.md").read_text()
    for package in PACKAGES:
        for path in module_files(package):
            assert f"`{path.stem}`" in text, f"docs/developers/architecture.md lacks {path}"


def test_every_table_is_named_in_the_readme_and_the_architecture():
    schema = (ROOT / "archive" / "record" / "schema.py").read_text() + (
        ROOT / "intake" / "spool.py"
    ).read_text()
    tables = set(re.findall(r"CREATE (?:VIRTUAL )?TABLE (?:IF NOT EXISTS )?(\w+)", schema))
    architecture = (DOCS / "developers" / "architecture.md").read_text()
    assert len(tables) > 20
    for table in tables:
        assert f"`{table}`" in map_entry("Tables"), f"the README's map lacks the table {table}"
        assert f"`{table}`" in architecture, f"docs/developers/architecture.md lacks {table}"


def test_the_readme_is_one_screen_with_the_two_commands():
    assert len(README.splitlines()) <= 80
    assert "make run" in README and "make test" in README


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a Markdown page's headings (fenced blocks skipped)."""
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S)
    found = set()
    for title in re.findall(r"^#{1,6} (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def check_link(source: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    page = (source.parent / path).resolve() if path else source
    assert page.exists(), f"{source.name} links to {target}, which does not exist"
    if anchor:
        assert anchor in anchors(page), f"{source.name} links to {target}: no such heading"


def test_each_topic_is_one_link_from_the_readme():
    rows = dict(re.findall(r"^\| (.+?) \| (.+?) \|$", README, re.M))
    for topic in TOPICS:
        assert topic in rows, f"the README does not list {topic!r}"
        links = re.findall(r"\]\(([^)]+)\)", rows[topic])
        assert links, f"the README gives no link for {topic!r}"
        check_link(ROOT / "README.md", links[0])


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))], ids=str)
def test_every_relative_link_in_the_docs_leads_somewhere(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if not re.match(r"[a-z]+:", target):
            check_link(page, target)
