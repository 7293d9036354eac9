"""The configuration as an operator meets it: `casebook check-config` (with and without
--connect), relative paths, a missing archive, and the example file against the key table."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import sys
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult

from casebook.config import KEYS, load_settings
from casebook.configkeys import RETIRED_VALUES
from tests.conftest import MEMBERS, ROOT, RelaySink, fixture_bytes, free_port, write_config
from tests.test_imap import dovecot, needs_dovecot  # noqa: F401 (dovecot: a fixture)

EXAMPLE = ROOT / "config" / "casebook.example.toml"


def casebook(*args, cwd=ROOT, stdin: bytes | None = None):
    return subprocess.run(
        [sys.executable, "-m", "casebook.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def error_lines(result) -> list[str]:
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr, stderr
    return stderr.splitlines()


def with_text(config: Path, old: str, new: str) -> None:
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))


# -- every defect an operator met, each as the one line check-config now prints -------------


def missing_dkim_key(tmp, config):
    config.write_text(config.read_text() + "\n[mailer.dkim]\ndomain = 'example.org'\n"
                      f"selector = 'cb'\nprivate_key_file = '{tmp / 'dkim.key'}'\n")  # fmt: skip
    return [f"[mailer.dkim] private_key_file {tmp / 'dkim.key'}: no such file"]


def dkim_without_key(tmp, config):
    config.write_text(config.read_text() + "\n[mailer.dkim]\ndomain = 'example.org'\n"
                      "selector = 'cb'\n")  # fmt: skip
    return ["[mailer.dkim] private_key_file is required"]


def nobody(tmp, config):
    with_text(config, MEMBERS, "")
    return ["no [[members]] and no [[council]]: nobody would receive a report"]


def negative_quorum(tmp, config):
    config.write_text(config.read_text() + "\n[policy]\nappeal_quorum = -1\n")
    return ["[policy] appeal_quorum must be at least 1, not -1"]


def numeric_trusted_host(tmp, config):
    with_text(config, 'command_auth = "dkim"', 'command_auth = "dkim"\ntrusted_hosts = [1]')
    return ['[security] trusted_hosts must be a list of host names, e.g. ["lists.example.org"],'
            " not [1]"]  # fmt: skip


def database_is_a_folder(tmp, config):
    (tmp / "archive").mkdir()
    with_text(config, str(tmp / "casebook.db"), str(tmp / "archive"))
    return [f"[casebook] database {tmp / 'archive'}: is a folder, not a database file"]


def database_folder_cannot_exist(tmp, config):
    (tmp / "plain-file").write_text("x")
    with_text(config, str(tmp / "casebook.db"), str(tmp / "plain-file" / "casebook.db"))
    blocker = tmp / "plain-file"
    return [f"[casebook] database {blocker / 'casebook.db'}: folder {blocker} cannot be created:"
            f" {blocker} is not a folder"]  # fmt: skip


def missing_imap_password(tmp, config):
    config.write_text(config.read_text() + "\n[intake.imap]\nhost = 'imap.example.org'\n"
                      f"username = 'casebook'\npassword_file = '{tmp / 'imap-pw'}'\n")  # fmt: skip
    return [f"[intake.imap] password_file {tmp / 'imap-pw'}: no such file"]


def misspelt_key(tmp, config):
    with_text(config, "timeout = 5", "timeout = 5\nstarttsl = true")
    return ["[mailer.smtp] unknown key 'starttsl' (did you mean 'starttls'?)"]


def misspelt_table(tmp, config):
    config.write_text(config.read_text() + "\n[polcy]\nconsult_wait = '5d'\n")
    return ["unknown table [polcy] (did you mean 'policy'?)"]


def relay_port_out_of_range(tmp, config):
    with_text(config, "[mailer.smtp]\nhost = \"127.0.0.1\"\nport = 1",
              "[mailer.smtp]\nhost = \"127.0.0.1\"\nport = 70000")  # fmt: skip
    return ["[mailer.smtp] port must be 1-65535, not 70000"]


def missing_tls_cert(tmp, config):
    with_text(config, "lmtp = false", f"lmtp = false\ntls_cert = '{tmp / 'cert.pem'}'")
    return ["[intake.smtp] tls_cert and tls_key go together",
            f"[intake.smtp] tls_cert {tmp / 'cert.pem'}: no such file"]  # fmt: skip


def proxy_that_is_no_address(tmp, config):
    config.write_text(config.read_text() + "\n[intake.form]\nport = 8089\n"
                      "trusted_proxies = ['proxy.example.org']\n")  # fmt: skip
    return ["[intake.form] trusted_proxies 'proxy.example.org' is not an IP address or network"]


DEFECTS = [
    missing_dkim_key,
    dkim_without_key,
    nobody,
    negative_quorum,
    numeric_trusted_host,
    database_is_a_folder,
    database_folder_cannot_exist,
    missing_imap_password,
    misspelt_key,
    misspelt_table,
    relay_port_out_of_range,
    missing_tls_cert,
    proxy_that_is_no_address,
]


# -- accepted before issue 19 although wrong: each now one line too ----------------------------


def council_member_on_the_committee(tmp, config):
    with_text(config, 'email = "erin@example.org"', 'email = "carol@example.org"')
    return ["[[council]] (Erin Council) carol@example.org is also a committee member: an appeal"
            " would be decided by the committee it is about"]  # fmt: skip


def list_host_that_is_no_host(tmp, config):
    with_text(config, 'command_auth = "dkim"',
              'command_auth = "dkim"\nlist_host = "https://lists.example.org/"')  # fmt: skip
    return ["[security] list_host must be a host name, e.g. lists.example.org, not"
            " 'https://lists.example.org/'"]  # fmt: skip


def committee_list_is_the_reports_address(tmp, config):
    with_text(config, 'committee_list = "conduct-committee@lists.example.org"',
              'committee_list = "conduct@example.org"')  # fmt: skip
    return ["[addresses] committee_list is the reports address: casebook would mail itself"]


def council_is_the_reports_address(tmp, config):
    with_text(config, 'council = "council@example.org"', 'council = "Conduct@example.org"')
    return ["[addresses] council is the reports address: casebook would mail itself"]


def member_is_the_reports_address(tmp, config):
    with_text(config, 'email = "carol@example.org"', 'email = "conduct@example.org"')
    return ["[[members]] (Carol Member) conduct@example.org is the reports address: casebook"
            " would mail itself"]  # fmt: skip


def alias_is_another_members_address(tmp, config):
    with_text(config, 'aliases = ["Bobby"]', 'aliases = ["Bobby", "carol@example.org"]')
    return ["[[members]] (Bob Member) alias carol@example.org is Carol Member's address"]


def world_readable_dkim_key(tmp, config):
    key = tmp / "dkim.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n")
    key.chmod(0o644)
    config.write_text(config.read_text() + "\n[mailer.dkim]\ndomain = 'example.org'\n"
                      f"selector = 'cb'\nprivate_key_file = '{key}'\n")  # fmt: skip
    return [f"[mailer.dkim] private_key_file {key}: is readable by every user (chmod 0600,"
            " owned by the user casebook runs as)"]  # fmt: skip


WRONG_BUT_ACCEPTED = [
    council_member_on_the_committee,
    list_host_that_is_no_host,
    committee_list_is_the_reports_address,
    council_is_the_reports_address,
    member_is_the_reports_address,
    alias_is_another_members_address,
    world_readable_dkim_key,
]


@pytest.mark.parametrize("defect", WRONG_BUT_ACCEPTED, ids=lambda d: d.__name__)
def test_what_was_accepted_although_wrong_is_one_exact_line(tmp_path, defect):
    config = write_config(tmp_path)
    expected = defect(tmp_path, config)
    result = casebook("-c", str(config), "check-config")
    assert result.returncode == 78
    assert error_lines(result) == [f"casebook: config: {line}" for line in expected]


def test_a_private_dkim_key_is_accepted(tmp_path):
    config = write_config(tmp_path)
    world_readable_dkim_key(tmp_path, config)
    (tmp_path / "dkim.key").chmod(0o600)
    result = casebook("-c", str(config), "check-config")
    assert result.returncode == 0, result.stderr.decode()


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.__name__)
def test_each_defect_is_one_exact_line(tmp_path, defect):
    config = write_config(tmp_path)
    expected = defect(tmp_path, config)
    result = casebook("-c", str(config), "check-config")
    assert result.returncode == 78
    assert error_lines(result) == [f"casebook: config: {line}" for line in expected]


def test_all_defects_at_once_each_once(tmp_path):
    config = write_config(tmp_path)
    expected = []
    # Two of them write [mailer.dkim], two the database path: one of each.
    for defect in DEFECTS:
        if defect not in (dkim_without_key, database_folder_cannot_exist):
            expected += defect(tmp_path, config)
    for command in ("check-config", "serve"):
        result = casebook("-c", str(config), command)
        assert result.returncode == 78
        lines = error_lines(result)
        assert sorted(lines) == sorted(f"casebook: config: {line}" for line in expected)
        assert len(lines) == len(set(lines))
    assert not (tmp_path / "casebook.db").exists()


def test_type_and_choice_errors_are_reported_together(tmp_path):
    config = write_config(tmp_path)
    with_text(config, "max_message_size = 1048576", 'max_message_size = "big"')
    with_text(config, 'command_auth = "dkim"', 'command_auth = "trust-me"\ninsecure_from_only = 1')
    with_text(config, 'case_prefix = "CoC"', 'case_prefix = "CoC"\nsweep_interval = "0s"')
    result = casebook("-c", str(config), "cases")  # every command reads the same table
    assert result.returncode == 78
    assert sorted(error_lines(result)) == sorted(f"casebook: config: {line}" for line in [
        "[intake] max_message_size must be a whole number, not 'big'",
        "[security] command_auth must be one of dkim, token, not 'trust-me'",
        "[security] insecure_from_only must be true or false, not 1",
        "[casebook] sweep_interval must be at least 1s, not '0s'",
    ])  # fmt: skip


# -- relative paths and a missing archive ---------------------------------------------------


def test_relative_paths_follow_the_config_file_not_the_working_directory(tmp_path, relay):
    folder = tmp_path / "etc"
    folder.mkdir()
    config = write_config(folder, relay_port=relay.port)
    with_text(config, str(folder / "casebook.db"), "data/casebook.db")
    with_text(config, str(folder / "spool"), "data/spool")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stored = casebook("-c", str(config), "ingest", "--sender", "rita@example.net",
                      cwd=elsewhere, stdin=fixture_bytes("plain_report.eml"))  # fmt: skip
    assert stored.returncode == 0, stored.stderr.decode()
    assert (folder / "data" / "casebook.db").is_file()
    assert list(elsewhere.iterdir()) == []
    # Run from yet another folder, by a relative path to the configuration: the same archive.
    listed = casebook("-c", "etc/casebook.toml", "cases", "--json", cwd=tmp_path)
    assert [case["id"] for case in json.loads(listed.stdout)] == ["CoC-2026-001"]
    assert casebook("-c", str(config), "check-config", cwd=elsewhere).returncode == 0


READ_ONLY = [
    ["cases"],
    ["show", "CoC-2026-001"],
    ["search", "report"],
    ["stats"],
    ["held"],
    ["bans"],
    ["digest"],
    ["export", "CoC-2026-001", "--for", "erin@example.org", "--reason", "appeal"],
    ["report", "--year", "2026"],
    ["backup", "copy.db"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
def test_read_only_commands_refuse_a_missing_archive(tmp_path, command):
    config = write_config(tmp_path)
    result = casebook("-c", str(config), *command, cwd=tmp_path)
    assert result.returncode == 66
    database = tmp_path / "casebook.db"
    assert error_lines(result) == [
        f"casebook: no archive at {database} (run `casebook serve` or `casebook ingest` first,"
        f" or check `database` in {config})"
    ]
    assert not database.exists() and not (tmp_path / "copy.db").exists()


# -- the example file and the key table -----------------------------------------------------

COMMENTED = re.compile(r"^# ?((\[\[?[\w.]+\]\]?|[\w\"][\w.\"-]*\s*=).*)$")
HEADER = re.compile(r"^\[\[?([\w.]+)\]\]?")
KEY_LINE = re.compile(r"^([\w\"][\w.\"-]*)\s*=\s*(.*)$")
CONTINUED = re.compile(r"^(?:#\s+|\s+)#\s?(.*)$")


def uncommented(text: str) -> str:
    return "\n".join(
        match.group(1) if (match := COMMENTED.match(line)) else line for line in text.splitlines()
    )


def documented_keys(text: str) -> dict[str, list[str]]:
    """Each key line of the (uncommented) example: dotted name -> the comments beside it."""
    found: dict[str, list[str]] = {}
    lines = uncommented(text).splitlines()
    section = ""
    for n, line in enumerate(lines):
        if header := HEADER.match(line):
            section = header.group(1)
            if "#" in line:  # a table that is itself a key (dkim_pinned_keys)
                found.setdefault(section, []).append(line.split("#", 1)[1].strip())
            continue
        match = KEY_LINE.match(line)
        if not match or match.group(1).startswith('"'):
            continue
        help_parts = [line.split(" #", 1)[1].strip()] if " #" in line else []
        for follow in lines[n + 1 :]:
            if not (more := CONTINUED.match(follow)):
                break
            help_parts.append(more.group(1).strip())
        found.setdefault(f"{section}.{match.group(1)}", []).append(" ".join(help_parts))
    return found


def test_every_key_is_in_the_example_with_its_help_and_nothing_else():
    documented = documented_keys(EXAMPLE.read_text())
    for key in KEYS:
        assert key.name in documented, f"{key.name} is not in {EXAMPLE.name}"
        if key.help:
            assert key.help in documented[key.name], (key.name, key.help, documented[key.name])
    assert set(documented) == {key.name for key in KEYS}


def test_the_example_fully_uncommented_is_valid(tmp_path):
    """Every optional key switched on, with the files it names in place, still checks."""
    text = uncommented(EXAMPLE.read_text())
    for prefix in ("/etc/casebook/", "/run/credentials/casebook.service/"):
        text = text.replace(prefix, f"{tmp_path}{prefix}")
    folder = tmp_path / "config"
    folder.mkdir()
    config = folder / "casebook.toml"
    config.write_text(text)
    raw = tomllib.loads(text)
    assert raw["intake"]["imap"]["ca_file"] and raw["mailer"]["smtp"]["ca_file"]
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl for the TLS files")
    cert, key = tmp_path / "made-cert.pem", tmp_path / "made-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    for kind_key in KEYS:
        if kind_key.kind not in ("file", "key", "cert", "ca", "templates"):
            continue
        section = raw
        for part in kind_key.section.split("."):
            section = section.get(part, {})
        if kind_key.leaf not in section:
            continue
        path = Path(section[kind_key.leaf])
        assert path.is_absolute() and str(path).startswith(str(tmp_path)), path
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind_key.kind == "templates":
            path.mkdir()
        elif kind_key.kind == "key":
            shutil.copy(key, path)
        elif kind_key.kind in ("cert", "ca"):
            shutil.copy(cert, path)
        else:
            path.write_text("secret\n")
    result = casebook("-c", str(config), "check-config", cwd=tmp_path)
    assert error_lines(result) == []
    assert result.returncode == 0
    # The paths of the example land beside the configuration's folder, as in the checkout.
    assert not (folder / "var").exists()


def test_the_example_as_it_is_keeps_var_in_the_checkout(tmp_path):
    result = casebook("-c", str(EXAMPLE), "check-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    from casebook.config import load_settings

    settings = load_settings(EXAMPLE)
    assert settings.database == ROOT / "var" / "casebook.db"
    assert settings.spool == ROOT / "var" / "spool"


# -- check-config --connect against real servers on loopback --------------------------------


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def authenticate(server, session, envelope, mechanism, auth_data):
    good = (auth_data.login, auth_data.password) == (b"casebook", b"right")
    return AuthResult(success=good, handled=False)  # not handled: aiosmtpd answers 535


def relay_config(tmp_path, port, *, lines: str = "") -> Path:
    config = write_config(tmp_path, relay_port=port)
    with_text(config, "timeout = 5\n", f"timeout = 5\n{lines}\n")
    return config


def connect(config: Path):
    return casebook("-c", str(config), "check-config", "--connect")


def test_connect_to_a_plain_relay(tmp_path, relay):
    result = connect(relay_config(tmp_path, relay.port))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().splitlines()[-1] == f"relay 127.0.0.1:{relay.port}: connected"


def test_connect_says_the_relay_is_unreachable(tmp_path):
    port = free_port()
    result = connect(relay_config(tmp_path, port))
    assert result.returncode == 69
    assert error_lines(result) == [
        f"casebook: connect: relay 127.0.0.1:{port}: host unreachable: Connection refused"
    ]


def test_connect_says_starttls_is_not_offered(tmp_path, relay):
    result = connect(relay_config(tmp_path, relay.port, lines="starttls = true"))
    assert result.returncode == 69
    assert error_lines(result) == [f"casebook: connect: relay 127.0.0.1:{relay.port}: TLS failed:"
                                   " the relay does not offer STARTTLS"]  # fmt: skip


def test_connect_with_starttls_and_login(tmp_path, certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    sink = RelaySink(tls_context=context, require_starttls=True, authenticator=authenticate)
    sink.controller.start()
    try:
        good, bad = tmp_path / "good", tmp_path / "bad"
        good.write_text("right\n")
        bad.write_text("wrong\n")
        (tmp_path / "a").mkdir()
        ok = connect(relay_config(tmp_path / "a", sink.port, lines=(
            f'starttls = true\nca_file = "{cert}"\nusername = "casebook"\n'
            f'password_file = "{good}"')))  # fmt: skip
        assert ok.returncode == 0, ok.stderr.decode()
        assert ok.stdout.decode().splitlines()[-1] == (
            f"relay 127.0.0.1:{sink.port}: connected, STARTTLS verified, logged in as casebook"
        )
        (tmp_path / "b").mkdir()
        refused = connect(relay_config(tmp_path / "b", sink.port, lines=(
            f'starttls = true\nca_file = "{cert}"\nusername = "casebook"\n'
            f'password_file = "{bad}"')))  # fmt: skip
        assert refused.returncode == 69
        assert error_lines(refused) == [
            f"casebook: connect: relay 127.0.0.1:{sink.port}: authentication refused for"
            " casebook: 535 5.7.8 Authentication credentials invalid"
        ]
        (tmp_path / "c").mkdir()
        untrusted = connect(relay_config(tmp_path / "c", sink.port, lines="starttls = true"))
        assert untrusted.returncode == 69
        [line] = error_lines(untrusted)
        assert line.startswith(f"casebook: connect: relay 127.0.0.1:{sink.port}: TLS failed: ")
        assert "self-signed certificate" in line or "self signed certificate" in line
    finally:
        sink.controller.stop()


def imap_config(tmp_path, relay_port, imap_port, password: str) -> Path:
    secret = tmp_path / "imap-password"
    secret.write_text(password + "\n")
    config = write_config(tmp_path, relay_port=relay_port)
    config.write_text(config.read_text() + f'\n[intake.imap]\nhost = "127.0.0.1"\n'
                      f'port = {imap_port}\nssl = false\nusername = "casebook"\n'
                      f'password_file = "{secret}"\n')  # fmt: skip
    return config


def test_connect_says_imap_is_unreachable(tmp_path, relay):
    port = free_port()
    result = connect(imap_config(tmp_path, relay.port, port, "x"))
    assert result.returncode == 69
    assert result.stdout.decode().splitlines()[-1] == f"relay 127.0.0.1:{relay.port}: connected"
    assert error_lines(result) == [
        f"casebook: connect: IMAP 127.0.0.1:{port}: host unreachable: Connection refused"
    ]


@needs_dovecot
def test_connect_logs_in_to_dovecot(tmp_path, relay, dovecot):  # noqa: F811
    (tmp_path / "good").mkdir()
    ok = connect(imap_config(tmp_path / "good", relay.port, dovecot, "imap-secret"))
    assert ok.returncode == 0, ok.stderr.decode()
    assert ok.stdout.decode().splitlines()[-1] == (
        f"IMAP 127.0.0.1:{dovecot}: connected, logged in as casebook, folder INBOX opened"
    )
    (tmp_path / "bad").mkdir()
    refused = connect(imap_config(tmp_path / "bad", relay.port, dovecot, "wrong"))
    assert refused.returncode == 69
    [line] = error_lines(refused)
    assert line.startswith(
        f"casebook: connect: IMAP 127.0.0.1:{dovecot}: authentication refused for casebook: "
    )


def test_minutes_written_m_are_read_as_minutes_with_the_exact_replacement(tmp_path):
    """`m` meant minutes in the configuration and months in #ban; an upgrading operator's
    `2m` still means two minutes here (the service starts), and a warning says what to write."""
    config = write_config(tmp_path)
    with_text(config, 'retry = ["1min", "5min"]', 'retry = ["1min", "5m"]')
    with_text(config, "[intake.limits]", "[intake.limits]\ntimeout = '2m'")
    result = casebook("-c", str(config), "check-config")
    assert result.returncode == 0, error_lines(result)
    warnings = [line.split(" config: ", 1)[1] for line in error_lines(result) if "WARNING" in line]
    assert warnings == [
        """[intake.limits] timeout: '2m': m is no longer a unit (it meant months in #ban);"""
        """ write "2min" for minutes (read as minutes, as before)""",
        """[mailer] retry: '5m': m is no longer a unit (it meant months in #ban);"""
        """ write "5min" for minutes (read as minutes, as before)""",
    ]
    settings = load_settings(config)
    assert settings.limits.timeout == timedelta(minutes=2)
    assert settings.retry_schedule[:2] == (timedelta(minutes=1), timedelta(minutes=5))


def test_durations_in_hours_days_and_spelt_out_units_still_work(tmp_path):
    config = write_config(tmp_path)
    with_text(
        config, "[intake.limits]", "[intake.limits]\nflood_quiet = '24h'\ntimeout = '90 seconds'"
    )
    config.write_text(config.read_text() + "\n[policy]\nconsult_wait = '7d'\n")
    result = casebook("-c", str(config), "check-config")
    assert result.returncode == 0, error_lines(result)


def test_an_older_versions_own_example_is_accepted_with_the_exact_replacement(tmp_path):
    """79068c6's example said `appeal_quorum = 0` (the default, then); it was refused."""
    config = tmp_path / "casebook.toml"
    shutil.copy(ROOT / "tests" / "fixtures" / "configs" / "example-79068c6.toml", config)
    result = casebook("-c", str(config), "check-config")
    assert result.returncode == 0, result.stderr.decode()
    warnings = [line for line in error_lines(result) if "WARNING" in line]
    [warning] = [line for line in warnings if "appeal_quorum" in line]
    assert [line.split(" config: ", 1)[1] for line in warnings if "retry" in line] == [
        f"[mailer] retry: '{n}m': m is no longer a unit (it meant months in #ban);"
        f' write "{n}min" for minutes (read as minutes, as before)'
        for n in (1, 5, 15)
    ]
    assert warning.endswith(
        "config: [policy] appeal_quorum = 0 is retired: remove the line (before 0.19, 0 meant"
        " the default: a majority of the non-conflicted)"
    )
    settings = load_settings(config)
    assert settings.appeal_quorum == 0  # as if the line were not there: a majority


def test_a_retired_value_is_documented_in_the_upgrade_notes():
    notes = (ROOT / "docs" / "operators" / "upgrades.md").read_text()
    for key, value in RETIRED_VALUES:
        section, leaf = key.rsplit(".", 1)
        assert f"[{section}] {leaf} = {value}" in notes, key


def test_the_docs_agree_on_where_relative_paths_start():
    """The deploy page said the working directory while the configuration page (and the code)
    said the configuration file's folder."""
    for doc in (ROOT / "docs" / "operators" / "configuration.md",
                ROOT / "docs" / "operators" / "deploy.md"):  # fmt: skip
        text = " ".join(doc.read_text().split()).lower()
        assert "relative paths are taken from the configuration file's folder" in text, doc
        assert "taken from the working directory" not in text, doc


def test_every_key_read_into_settings_by_name_has_its_field():
    """The keys of FIELD_SECTIONS fill Settings by their leaf (or RENAMED): a key added there
    without a field of that name would stop every start, so it fails here first."""
    from dataclasses import fields

    from archive.settings import Settings
    from casebook.config import DERIVED, FIELD_SECTIONS, RENAMED

    names = {field.name for field in fields(Settings)}
    for key in KEYS:
        if key.section in FIELD_SECTIONS and key.name not in DERIVED:
            assert RENAMED.get(key.name, key.leaf) in names, key.name
    named = {key.name for key in KEYS}
    assert set(RENAMED) <= named and set(DERIVED) <= named
