"""The README documents every command keyword and every CLI command (like sqlite-utils)."""

from __future__ import annotations

from archive.catalogue import CATALOGUE
from archive.commands import COMMANDS
from casebook.cli import COMMANDS as CLI_COMMANDS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_every_keyword_is_documented_with_an_example():
    for name in COMMANDS:
        assert f"`#{name}" in README, f"#{name} is not in the README"


def test_every_cli_command_is_documented():
    for name in CLI_COMMANDS:
        assert f"| `{name}" in README, f"casebook {name} is not in the README"


def test_every_template_is_listed():
    """The README's table of mail names every template of the catalogue."""
    for name in CATALOGUE:
        folder, short = name.split("/", 1)
        assert f"`{name}`" in README or f"`{folder}/" in README and f"`{short}`" in README, name
