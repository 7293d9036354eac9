"""The distribution as an operator installs it: a wheel in a fresh venv outside the checkout.

The venv is the `installed` fixture of tests/support/base.py (shared with the Postfix tests).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tomllib
from pathlib import Path

from archive.record.schema import migrations
from tests.support.base import NOT_SHIPPED, ROOT, free_port, listening_on
from tests.support.waiting import wait_until

GENERIC_NAMES = ("intake", "archive", "mailer", "casebook")


def run(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CASEBOOK"))}
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def template_files(folder: Path) -> list[Path]:
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.suffix in (".txt", ".html"))


def test_the_wheel_ships_templates_and_example_config_and_every_package(installed, tmp_path):
    probe = """
import importlib, json, sys
from importlib.metadata import packages_distributions
from importlib.resources import files
import archive.commands, casebook.cli, intake.process, mailer.render
names = sys.argv[1:]
dists = packages_distributions()
print(json.dumps({
    "files": {n: importlib.import_module(n).__file__ for n in names},
    "templates": str(mailer.render.DEFAULT_TEMPLATES),
    "example": str(files("casebook.examples") / "casebook.example.toml"),
    "dists": {n: sorted(set(dists.get(n, []))) for n in names},
}))
"""
    python = installed / "bin" / "python"
    found = json.loads(run([str(python), "-c", probe, *GENERIC_NAMES], tmp_path).stdout)
    for name in GENERIC_NAMES:
        assert Path(found["files"][name]).is_relative_to(installed), found["files"][name]
        # the names are generic: no other installed distribution may provide them
        assert found["dists"][name] == ["casebook-coc"], (name, found["dists"][name])
    templates = Path(found["templates"])
    assert templates.is_relative_to(installed)
    assert template_files(templates) == template_files(ROOT / "templates")
    example = Path(found["example"])
    assert example.read_text() == (ROOT / "config" / "casebook.example.toml").read_text()


def test_installed_casebook_checks_the_example_config_serves_and_acknowledges(
    installed, tmp_path, relay
):
    casebook = str(installed / "bin" / "casebook")
    version = run([casebook, "--version"], tmp_path).stdout.strip()
    with open(ROOT / "pyproject.toml", "rb") as handle:
        release = tomllib.load(handle)["project"]["version"]
    assert version == f"casebook {release} (archive schema {migrations.names()[-1]})"
    example = run(
        [str(installed / "bin" / "python"), "-c",
         "from importlib.resources import files;"
         "print(files('casebook.examples') / 'casebook.example.toml')"],
        tmp_path,
    ).stdout.strip()  # fmt: skip
    checked = run([casebook, "-c", example, "check-config"], tmp_path)
    assert "configuration and templates are valid" in checked.stdout

    # The example as it is, but on ports of this test's own (parallel runs share the machine).
    port = free_port()
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "casebook.toml"  # its `../var` paths: tmp_path/var
    text = Path(example).read_text()
    assert text.count("port = 8025") == 1 and text.count("port = 2525") == 1
    text = text.replace("port = 8025", f"port = {port}").replace(
        "port = 2525", f"port = {relay.port}"
    )
    config.write_text(text)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [casebook, "-c", str(config), "serve"], cwd=tmp_path, stdout=out, stderr=out
        )
    try:

        def listening() -> bool:
            assert proc.poll() is None, log.read_text()
            return listening_on(port)

        wait_until(listening, "serve to listen", 20, detail=log.read_text)
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.sendmail(
                "rita@example.net",
                ["conduct@example.org"],
                b"From: Rita <rita@example.net>\r\nTo: conduct@example.org\r\n"
                b"Subject: Rude replies\r\nMessage-ID: <pkg-1@example.net>\r\n\r\n"
                b"Someone was rude to me on the users list yesterday.\r\n",
            )
        (ack,) = wait_until(lambda: relay.to("rita@example.net"), "the acknowledgement", 20,
                            detail=log.read_text)  # fmt: skip
        assert "We received your report" in ack["Subject"]
        assert (tmp_path / "var" / "casebook.db").exists()  # relative paths: from the config
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_wheel_builds_without_warnings_from_bounded_build_requirements(tmp_path):
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)
    [setuptools] = project["build-system"]["requires"]
    assert re.fullmatch(r"setuptools>=\d+,<\d+", setuptools), setuptools
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel", "--no-deps",
         "-v", "-w", tmp_path / "dist", source],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warned = [line for line in (done.stdout + done.stderr).splitlines()
              if "DeprecationWarning" in line or "_Warning:" in line]  # fmt: skip
    assert warned == [], "\n".join(warned)
