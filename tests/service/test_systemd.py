"""The systemd units verify and keep their hardening (docs/operators/deploy.md, systemd/)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.base import ROOT

ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (Debian package: systemd)"
)
UNITS = (
    "casebook.service",
    "casebook-tick.service",
    "casebook-tick.timer",
    "casebook-failed@.service",
)
SERVICES = ("casebook.service", "casebook-tick.service")
INSTALL_PATH = "/opt/casebook/venv/bin/casebook"


@pytest.fixture
def unit_dir(tmp_path, installed) -> Path:
    """The units as shipped, with the install path pointing at a real installed casebook."""
    for name in UNITS:
        text = (ROOT / "systemd" / name).read_text()
        assert INSTALL_PATH in text or not name.startswith(SERVICES), name
        (tmp_path / name).write_text(text.replace(INSTALL_PATH, str(installed / "bin/casebook")))
    return tmp_path


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ANALYZE, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def exposure(unit: str, cwd: Path) -> float:
    done = analyze("security", "--offline=yes", f"./{unit}", cwd=cwd)
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout + done.stderr)
    assert found, done.stdout + done.stderr
    return float(found.group(1))


@pytest.mark.parametrize("drop_ins", [(), ("fixed-user.conf", "credentials.conf")])
def test_units_verify_and_score_2_or_better(unit_dir, drop_ins):
    for service in SERVICES:
        for conf in drop_ins:  # the drop-ins, installed as docs/operators/deploy.md says
            folder = unit_dir / f"{service}.d"
            folder.mkdir(exist_ok=True)
            shutil.copy(ROOT / "systemd" / conf, folder / conf)
    for unit in UNITS:
        done = analyze("verify", f"./{unit}", cwd=unit_dir)
        assert done.returncode == 0 and not done.stderr.strip(), (unit, done.stderr)
    for service in SERVICES:
        assert exposure(service, unit_dir) <= 2.0, service


def test_the_service_runs_serve_from_the_documented_install_path():
    unit = (ROOT / "systemd" / "casebook.service").read_text()
    assert f"ExecStart={INSTALL_PATH} -c /etc/casebook/casebook.toml serve" in unit
    assert "LoadCredential" not in unit  # only with a secret: the credentials.conf drop-in
    drop_in = (ROOT / "systemd" / "fixed-user.conf").read_text()
    assert "DynamicUser=no" in drop_in and "User=casebook" in drop_in


def test_the_service_reloads_on_hup_and_is_not_restarted_into_a_broken_configuration():
    unit = (ROOT / "systemd" / "casebook.service").read_text()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert "RestartPreventExitStatus=78" in unit  # EX_CONFIG, casebook/errors.py
    for service in SERVICES:
        text = (ROOT / "systemd" / service).read_text()
        assert "OnFailure=casebook-failed@%n.service" in text, service


def test_the_failure_unit_mails_the_status_of_the_unit_that_failed(unit_dir):
    text = (ROOT / "systemd" / "casebook-failed@.service").read_text()
    assert "systemctl status" in text and "sendmail root" in text
    done = analyze("verify", "./casebook-failed@casebook.service", cwd=unit_dir)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_the_install_path_drop_in_replaces_every_command(tmp_path, installed):
    """The unit as shipped (its /opt path absent here) verifies only with the drop-in."""
    shutil.copy(ROOT / "systemd" / "casebook.service", tmp_path)
    shutil.copy(ROOT / "systemd" / "casebook-failed@.service", tmp_path)
    bare = analyze("verify", "./casebook.service", cwd=tmp_path)
    assert INSTALL_PATH in bare.stderr  # the check can fail: the path is really looked at
    drop_in = (ROOT / "systemd" / "install-path.conf").read_text()
    elsewhere = drop_in.replace("/srv/casebook/venv", str(installed))
    assert elsewhere != drop_in
    (tmp_path / "casebook.service.d").mkdir()
    (tmp_path / "casebook.service.d" / "install-path.conf").write_text(elsewhere)
    done = analyze("verify", "./casebook.service", cwd=tmp_path)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
