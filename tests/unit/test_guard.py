"""The generic package names (intake, archive, mailer) must come from this repository."""

import ast
from pathlib import Path

import archive
import casebook
import intake
import mailer

ROOT = Path(__file__).resolve().parents[2]


def test_packages_are_imported_from_this_repository():
    for package in (archive, casebook, intake, mailer):
        assert Path(package.__file__).resolve().parent.parent == ROOT, package.__file__


def imports(package: str) -> set[str]:
    """The top-level names a package imports, over every file of it, sub-packages included
    (imports inside functions and `if TYPE_CHECKING:` blocks too)."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_the_import_scan_reaches_sub_packages():
    """archive/record/ imports sqlite_utils only inside its files: the scan must see them."""
    assert "sqlite_utils" in imports("archive/record")
    assert "sqlite_utils" in imports("archive")


def test_archive_imports_nothing_of_ours_and_intake_never_imports_mailer():

    assert not imports("archive") & {"intake", "mailer", "casebook"}
    assert not imports("intake") & {"mailer", "casebook"}
    assert not imports("mailer") & {"intake", "casebook"}
    # The web form is an edge in front of intake: it reads the archive and spools through the
    # writer it is given; the reporter's mail is rendered by a function the composition root
    # hands it.
    assert not imports("webform") & {"mailer", "casebook"}
    assert not imports("intake") & {"webform"} and not imports("archive") & {"webform"}


def test_no_other_installed_distribution_provides_our_generic_names():
    from importlib.metadata import packages_distributions

    provided = packages_distributions()
    for name in ("intake", "archive", "mailer", "casebook"):
        assert set(provided.get(name, [])) <= {"casebook-coc"}, (name, provided[name])
