"""casebook behind a real Postfix: both recipes of docs/operators/deploy.md, snippets read from it.

Each test runs a private Postfix instance (own config, queue and data directories in a
temporary folder, smtpd on a free loopback port) that is also casebook's relay; its relayhost
is this test's mail sink. No system mail is touched. Needs root (Postfix's pipe runs the
command as the user `casebook`, created here when missing).
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import smtplib
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, ServeProcess, free_port, write_config

POSTFIX = Path("/usr/sbin/postfix")
DOCS = ROOT / "docs" / "operators" / "deploy.md"
pytestmark = [
    pytest.mark.skipif(
        not POSTFIX.exists(), reason="Postfix is not installed (make test installs it as root)"
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="a private Postfix instance needs root"),
]

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n  -  n  60    1  pickup
cleanup   unix  n  -  n  -     0  cleanup
qmgr      unix  n  -  n  300   1  qmgr
rewrite   unix  -  -  n  -     -  trivial-rewrite
bounce    unix  -  -  n  -     0  bounce
defer     unix  -  -  n  -     0  bounce
trace     unix  -  -  n  -     0  bounce
verify    unix  -  -  n  -     1  verify
flush     unix  n  -  n  1000? 0  flush
proxymap  unix  -  -  n  -     -  proxymap
smtp      unix  -  -  n  -     -  smtp
relay     unix  -  -  n  -     -  smtp
showq     unix  n  -  n  -     -  showq
error     unix  -  -  n  -     -  error
retry     unix  -  -  n  -     -  error
discard   unix  -  -  n  -     -  discard
lmtp      unix  -  -  n  -     -  lmtp
anvil     unix  -  -  n  -     1  anvil
scache    unix  -  -  n  -     1  scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {base}/queue
data_directory = {base}/data
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
myhostname = mx.example.org
mydomain = example.org
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{relay_port}
smtp_dns_support_level = disabled
alias_maps =
alias_database =
notify_classes =
"""


def snippet(name: str) -> str:
    """The fenced block after `<!-- snippet: NAME -->` in docs/operators/deploy.md."""
    text = DOCS.read_text()
    marker = f"<!-- snippet: {name} -->"
    assert marker in text, f"docs/operators/deploy.md has no {marker}"
    block = re.search(r"```[^\n]*\n(.*?)```", text[text.index(marker) :], re.S)
    assert block, marker
    return block.group(1)


class PrivatePostfix:
    """A Postfix instance of its own: `postfix -c DIR start`, loopback only."""

    def __init__(self, base: Path, relay_port: int, main_cf: str, master_cf: str = ""):
        self.base = base
        self.config_dir = base / "postfix"
        self.port = free_port()
        self.config_dir.mkdir()
        (base / "queue").mkdir()  # postfix start makes its folders inside (and data_directory)
        (self.config_dir / "main.cf").write_text(
            MAIN_CF.format(base=base, relay_port=relay_port) + main_cf
        )
        (self.config_dir / "master.cf").write_text(MASTER_CF.format(port=self.port) + master_cf)

    def postfix(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [str(POSTFIX), "-c", str(self.config_dir), *args], capture_output=True, text=True
        )
        if check:
            assert done.returncode == 0, f"postfix {args}: {done.stdout}{done.stderr}{self.log()}"
        return done.stdout + done.stderr

    def start(self) -> None:
        self.postfix("start")
        deadline = time.monotonic() + 15
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=5):
                    return
            except OSError:
                assert time.monotonic() < deadline, "Postfix did not listen:\n" + self.log()
                time.sleep(0.1)

    def stop(self) -> None:
        self.postfix("stop", check=False)
        pid_file = self.base / "queue" / "pid" / "master.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            try:
                os.kill(int(pid_file.read_text().split()[0]), 0)
            except (ProcessLookupError, ValueError):
                break
            time.sleep(0.1)

    def log(self) -> str:
        path = self.base / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def queue(self) -> str:
        done = subprocess.run(
            ["/usr/sbin/postqueue", "-c", str(self.config_dir), "-p"],
            capture_output=True,
            text=True,
        )
        return done.stdout + done.stderr

    def flush(self) -> None:
        subprocess.run(["/usr/sbin/postqueue", "-c", str(self.config_dir), "-f"], check=True)

    def send(self, sender: str, recipients: list[str], raw: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            client.sendmail(sender, recipients, raw)

    def wait_deferred(self, reason: str, timeout: float = 20) -> str:
        """Wait until the queue holds a deferred message whose reason contains `reason`."""
        deadline = time.monotonic() + timeout
        while True:
            listing = self.queue()
            if reason in listing:
                return listing
            assert time.monotonic() < deadline, f"not deferred:\n{listing}\n{self.log()}"
            time.sleep(0.2)

    def wait_empty(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while "Mail queue is empty" not in (listing := self.queue()):
            assert time.monotonic() < deadline, f"queue not empty:\n{listing}\n{self.log()}"
            time.sleep(0.2)


def wait_for(relay, address: str, subject: str, postfix: PrivatePostfix, timeout: float = 20,
             tick=None):  # fmt: skip
    """`tick`: what casebook-tick.timer does in the pipe recipe (`ingest` never sends)."""
    deadline = time.monotonic() + timeout
    while True:
        if tick is not None:
            tick()
        found = [m for m in relay.to(address) if subject in str(m["Subject"])]
        if found:
            return found
        sink = [(m["To"], m["Subject"]) for m in relay.parsed()]
        assert time.monotonic() < deadline, (
            f"no '{subject}' to {address}; sink has {sink}\n{postfix.queue()}\n{postfix.log()}"
        )
        time.sleep(0.1)


def report(sender: str, to: str, n: int, body: str = "Someone was rude to me yesterday.") -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Report {n}\r\n"
        f"Message-ID: <postfix-{n}-{time.time_ns()}@example.net>\r\n\r\n{body}\r\n"
    ).encode()


@pytest.fixture
def base():
    """A folder the pipe's user can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="casebook-postfix-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def casebook_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("casebook")
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/var/lib/casebook", "--shell", "/usr/sbin/nologin", "casebook"],
            check=True,
        )  # fmt: skip
        return pwd.getpwnam("casebook")


def test_lmtp_recipe_delivers_and_queues_while_casebook_is_down(base, relay):
    postfix = PrivatePostfix(
        base,
        relay.port,
        snippet("postfix main.cf")
        + snippet("postfix main.cf lmtp").replace("8024", str(lmtp_port := free_port())),
    )
    config = write_config(base, relay_port=postfix.port, intake_port=lmtp_port, lmtp=True)
    serve = ServeProcess(config, lmtp_port)
    postfix.start()
    try:
        serve.start()
        postfix.send("rita@example.net", ["conduct@example.org"], report("Rita", "conduct", 1))
        (ack,) = wait_for(relay, "rita@example.net", "We received your report", postfix)
        assert ack["Return-Path"] is None  # the sink sees the envelope, not a header
        serve.stop()

        postfix.send("sam@example.net", ["conduct@example.org"], report("Sam", "conduct", 2))
        listing = postfix.wait_deferred("Connection refused")
        assert "conduct@example.org" in listing
        serve = ServeProcess(config, lmtp_port)
        serve.start()
        postfix.flush()
        wait_for(relay, "sam@example.net", "We received your report", postfix)
        postfix.wait_empty()
    finally:
        serve.stop()
        postfix.stop()


def pipe_setup(base: Path, relay_port: int, user, installed: Path, **config_values):
    """The pipe recipe: casebook's state owned by `casebook`, its config root:casebook 0640."""
    state = base / "state"
    state.mkdir(mode=0o700)
    os.chown(state, user.pw_uid, user.pw_gid)
    postfix = PrivatePostfix(base, relay_port, snippet("postfix main.cf"), "")
    written = write_config(state, relay_port=postfix.port, **config_values)
    config = base / "casebook.toml"
    shutil.move(written, config)
    os.chown(config, 0, user.pw_gid)
    config.chmod(0o640)
    casebook = installed / "bin" / "casebook"
    master = (
        snippet("postfix master.cf pipe")
        .replace("/opt/casebook/venv/bin/casebook", str(casebook))
        .replace("/etc/casebook/casebook.toml", str(config))
    )
    assert str(casebook) in master and str(config) in master
    with open(postfix.config_dir / "master.cf", "a") as out:
        out.write(master)
    with open(postfix.config_dir / "main.cf", "a") as out:
        out.write(snippet("postfix main.cf pipe"))
    return postfix, config, state


def casebook_as_user(installed: Path, config: Path, *args: str) -> str:
    """Run the casebook CLI as the pipe's user (root would leave root-owned SQLite files)."""
    done = subprocess.run(
        [str(installed / "bin" / "casebook"), "-c", str(config), *args],
        user="casebook",
        group="casebook",
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def ticker(installed: Path, config: Path):
    """casebook-tick.timer, sped up: a tick at most every half second."""
    last = [0.0]

    def tick() -> None:
        if time.monotonic() - last[0] >= 0.5:
            casebook_as_user(installed, config, "tick")
            last[0] = time.monotonic()

    return tick


def test_pipe_recipe_delivers_once_to_several_addresses_and_bounces_come_back(
    base, relay, casebook_user, installed
):
    postfix, config, state = pipe_setup(base, relay.port, casebook_user, installed)
    tick = ticker(installed, config)
    relay.refuse["nobody@nowhere.example.net"] = "550 5.1.1 <nobody@nowhere.example.net>: no"
    postfix.start()
    try:
        postfix.send(
            "rita@example.net",
            ["conduct@example.org", "conduct-appeals@example.org"],
            report("Rita", "conduct@example.org, conduct-appeals@example.org", 1),
        )
        wait_for(relay, "rita@example.net", "We received your report", postfix, tick=tick)
        postfix.wait_empty()
        stats = json.loads(casebook_as_user(installed, config, "stats", "--json"))
        assert stats["messages"] >= 1 and sum(stats["cases"].values()) == 1
        assert stats["deliveries"] == {"processed": 1}, stats  # one delivery, both recipients
        assert "conduct-appeals@example.org" in postfix.log()
        assert "status=sent (delivered via casebook service)" in postfix.log()
        assert (state / "casebook.db").stat().st_uid == casebook_user.pw_uid
        assert (state / "casebook.db").stat().st_mode & 0o077 == 0

        # An acknowledgement the relay refuses: Postfix bounces it to conduct-bounces+KEY@,
        # which recipient_delimiter routes back into casebook, and the committee is told.
        postfix.send("nobody@nowhere.example.net", ["conduct@example.org"], report("N", "c", 2))
        wait_for(
            relay,
            "conduct-committee@lists.example.org",
            "about this case bounced",
            postfix,
            tick=tick,
        )
        postfix.wait_empty()
        assert re.search(r"to=<conduct-bounces\+[^@>]+@example\.org>.*status=sent", postfix.log())
    finally:
        postfix.stop()


def test_pipe_recipe_defers_with_75_and_bounces_only_what_can_never_be_stored(
    base, relay, casebook_user, installed
):
    postfix, config, state = pipe_setup(
        base, relay.port, casebook_user, installed, max_message_size=100_000
    )
    tick = ticker(installed, config)
    postfix.start()
    try:
        # Configuration unreadable: exit 75, the report waits in Postfix's queue.
        config.chmod(0o600)
        postfix.send("rita@example.net", ["conduct@example.org"], report("Rita", "c", 1))
        listing = postfix.wait_deferred("casebook: config:")
        assert "Permission denied" in listing
        config.chmod(0o640)
        postfix.flush()
        wait_for(relay, "rita@example.net", "We received your report", postfix, tick=tick)
        postfix.wait_empty()

        # The archive's folder not writable: exit 75 again, nothing lost.
        state.chmod(0o500)
        spool = state / "spool"
        spool.chmod(0o500)
        postfix.send("sam@example.net", ["conduct@example.org"], report("Sam", "c", 2))
        listing = postfix.wait_deferred("could not store the message")
        assert "sam@example.net" in listing
        state.chmod(0o700)
        spool.chmod(0o700)
        postfix.flush()
        wait_for(relay, "sam@example.net", "We received your report", postfix, tick=tick)
        postfix.wait_empty()

        # Over max_message_size: can never be stored, so it bounces (65) to its sender.
        big = report("Tom", "c", 3, body="x" * 200 + ("\r\n" + "y" * 500) * 300)
        postfix.send("tom@example.net", ["conduct@example.org"], big)
        wait_for(relay, "tom@example.net", "Undelivered Mail", postfix, tick=tick)
        postfix.wait_empty()
        assert not [m for m in relay.to("tom@example.net") if "received" in str(m["Subject"])]
    finally:
        postfix.stop()


def delivered_to(database: Path) -> list[str]:
    """Every envelope recipient casebook has stored a delivery for."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT envelope_to FROM deliveries ORDER BY id").fetchall()
    return [address for (value,) in rows for address in json.loads(value)]


def reply_token(database: Path) -> str:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT token FROM parties WHERE role = 'reporter'").fetchone()[0]


def wait_delivered(database: Path, address: str, postfix: PrivatePostfix, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while address not in (found := delivered_to(database) if database.exists() else []):
        assert time.monotonic() < deadline, f"{address} not in {found}\n{postfix.log()}"
        time.sleep(0.1)


@pytest.mark.parametrize("domain_class", ["relay domain", "local domain"])
def test_recipient_maps_take_casebooks_addresses_and_refuse_any_other_at_rcpt(
    base, relay, domain_class
):
    """The recipe's recipient maps, as docs/operators/deploy.md writes them: each of casebook's
    addresses (and a reply address under the reports address) reaches casebook; an unknown
    address at that domain is refused by Postfix at RCPT and never reaches casebook."""
    postfix = PrivatePostfix(
        base,
        relay.port,
        snippet("postfix main.cf")
        + snippet(f"postfix main.cf {domain_class}")
        + snippet("postfix main.cf lmtp").replace("8024", str(lmtp_port := free_port())),
    )
    config = write_config(base, relay_port=postfix.port, intake_port=lmtp_port, lmtp=True)
    text = config.read_text()  # the list's copy comes to the subscription address the maps list
    core = 'core_team = "core@example.org"\n'
    config.write_text(text.replace(core, core + 'list_subscriber = "casebook@example.org"\n'))
    database = base / "casebook.db"
    serve = ServeProcess(config, lmtp_port)
    postfix.start()
    try:
        serve.start()
        postfix.send("rita@example.net", ["conduct@example.org"], report("Rita", "conduct", 1))
        wait_delivered(database, "conduct@example.org", postfix)
        addresses = [
            "conduct-appeals@example.org",
            "conduct-bounces@example.org",
            "casebook@example.org",
            f"conduct+{reply_token(database)}@example.org",
        ]
        for n, address in enumerate(addresses, 2):
            postfix.send("rita@example.net", [address], report("Rita", address, n))
            wait_delivered(database, address, postfix)
        # Not `nobody@`: in a local domain that is a system user, in the map as passwd.byname.
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            postfix.send(
                "rita@example.net",
                ["no-such-address@example.org"],
                report("Rita", "no-such-address", 9),
            )
        code, answer = refused.value.recipients["no-such-address@example.org"]
        assert code == 550 and b"User unknown" in answer, answer
        assert re.search(r"NOQUEUE: reject: RCPT .*<no-such-address@example\.org>", postfix.log())
        postfix.wait_empty()
        assert "no-such-address@example.org" not in delivered_to(database)
        assert "no-such-address@example.org" not in serve.output()
    finally:
        serve.stop()
        postfix.stop()
