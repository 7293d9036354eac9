"""The IMAP poller against a real Dovecot on loopback (installed by `make test`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from imapclient import IMAPClient

from archive.record.db import open_archive
from archive.record.queries import archive_stats
from casebook.config import load_settings
from casebook.tick import run_tick
from tests.support.base import T0, fixture_bytes, free_port, listening_on, write_config
from tests.support.waiting import wait_until

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists()
                                      else None)  # fmt: skip
needs_dovecot = pytest.mark.skipif(
    DOVECOT is None or os.geteuid() != 0,
    reason="needs Dovecot and root (make test installs dovecot-imapd with apt-get as root)",
)
CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture
def dovecot():
    root = Path(tempfile.mkdtemp(prefix="casebook-dovecot-"))
    root.chmod(0o755)
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir()
    (root / "mail").chmod(0o777)
    (root / "home").chmod(0o777)
    (root / "passwd").write_text("casebook:{PLAIN}imap-secret\n")
    port = free_port()
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, port=port))
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until(lambda: listening_on(port), "Dovecot to listen", 15,
                   detail=lambda: (root / "dovecot.log").read_text(errors="replace"))  # fmt: skip
    except AssertionError:
        proc.kill()
        raise
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def imap_settings(tmp_path, port, recipient="conduct@example.org"):
    secret = tmp_path / "imap-password"
    secret.write_text("imap-secret\n")
    config = write_config(tmp_path)
    config.write_text(
        config.read_text()
        + f'\n[intake.imap]\nhost = "127.0.0.1"\nport = {port}\nssl = false\n'
        + f'username = "casebook"\npassword_file = "{secret}"\nrecipient = "{recipient}"\n'
    )
    return load_settings(config)


def append(port, *raws):
    client = IMAPClient("127.0.0.1", port=port, ssl=False)
    client.login("casebook", "imap-secret")
    for raw in raws:
        client.append("INBOX", raw)
    client.logout()


@needs_dovecot
def test_new_mail_is_polled_once_into_cases(tmp_path, dovecot):
    settings = imap_settings(tmp_path, dovecot)
    append(dovecot, b"Return-Path: <rita@example.net>\r\n" + fixture_bytes("plain_report.eml"),
           fixture_bytes("checklist_report.eml"))  # fmt: skip
    summary, _ = run_tick(settings, T0)
    assert summary.startswith("2 fetched by IMAP; processed 2 message(s)")
    db = open_archive(settings.database)
    assert archive_stats(db)["cases"] == {"received": 2}
    reporters = {row[0] for row in db.execute("SELECT envelope_from FROM deliveries")}
    assert reporters == {"rita@example.net", "chris@example.net"}  # Return-Path, else From
    assert run_tick(settings, T0)[0].startswith("0 fetched by IMAP")
    append(dovecot, fixture_bytes("followup_subject_tag.eml"))
    assert run_tick(settings, T0)[0].startswith("1 fetched by IMAP")
    assert archive_stats(db)["messages"] >= 3
    client = IMAPClient("127.0.0.1", port=dovecot, ssl=False)
    client.login("casebook", "imap-secret")
    client.select_folder("INBOX")
    assert client.search(["UNSEEN"]) == []  # flagged only after the spool commit
    client.logout()


def test_unreachable_imap_is_reported_not_raised(tmp_path):
    settings = imap_settings(tmp_path, free_port())
    assert "IMAP not read (cannot connect" in run_tick(settings, T0)[0]


@needs_dovecot
def test_wrong_password_is_reported(tmp_path, dovecot):
    settings = imap_settings(tmp_path, dovecot)
    (tmp_path / "imap-password").write_text("wrong\n")
    assert "IMAP not read" in run_tick(settings, T0)[0]
