"""The generic package names (intake, archive, mailer) must come from this repository."""

from pathlib import Path

import archive
import casebook
import intake
import mailer

ROOT = Path(__file__).resolve().parents[2]


def test_packages_are_imported_from_this_repository():
    for package in (archive, casebook, intake, mailer):
        assert Path(package.__file__).resolve().parent.parent == ROOT, package.__file__


def test_archive_imports_nothing_of_ours_and_intake_never_imports_mailer():
    def imports(package: str) -> set[str]:
        found = set()
        for path in (ROOT / package).glob("*.py"):
            for line in path.read_text().splitlines():
                words = line.split()
                if words[:1] in (["import"], ["from"]) and len(words) > 1:
                    found.add(words[1].split(".")[0])
        return found

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
