"""What every test stands on: paths, a configuration, a relay sink, `casebook serve` as a
process, and the shared fixtures (real SQLite files, real SMTP servers on loopback, the real
templates), registered for every test by tests/conftest.py."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from archive.record.db import open_archive
from casebook.config import load_settings
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
# A field a template's catalogue entry does not list is an error in tests (and in the services
# they start), not a field silently left out.
os.environ["CASEBOOK_STRICT_TEMPLATES"] = "1"

MEMBERS = """
[[members]]
name = "Alice Chair"
email = "alice@example.org"
aliases = ["alice@users.example.net"]
role = "chair"

[[members]]
name = "Bob Member"
email = "bob@example.org"
aliases = ["Bobby"]
role = "member"

[[members]]
name = "Carol Member"
email = "carol@example.org"
role = "member"

[[council]]
name = "Erin Council"
email = "erin@example.org"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_on(port: int) -> bool:
    """Whether something on loopback accepts connections on `port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def write_config(directory: Path, *, relay_port: int = 1, extra: str = "", **values) -> Path:
    """A complete configuration file in `directory`; keyword values override [security] etc."""
    auth = values.get("command_auth", "dkim")
    intake_port = values.get("intake_port", free_port())
    text = f"""
[casebook]
database = "{directory / "casebook.db"}"
spool = "{directory / "spool"}"
timezone = "{values.get("timezone", "Europe/Berlin")}"
case_prefix = "CoC"

[addresses]
reports = "conduct@example.org"
appeals = "conduct-appeals@example.org"
committee_list = "conduct-committee@lists.example.org"
council = "council@example.org"
core_team = "core@example.org"

{values.get("members", MEMBERS)}

[intake]
max_message_size = {values.get("max_message_size", 1048576)}
ack_daily_cap = {values.get("ack_daily_cap", 5)}
max_parts = {values.get("max_parts", 300)}

[intake.smtp]
host = "127.0.0.1"
port = {intake_port}
lmtp = {str(values.get("lmtp", False)).lower()}

[intake.limits]
{_toml_lines(values.get("limits", {}))}

[mailer]
retry = ["1min", "5min"]
give_up_after = "1d"

[mailer.smtp]
host = "127.0.0.1"
port = {relay_port}
timeout = 5

[security]
command_auth = "{auth}"
{extra}
"""
    path = directory / "casebook.toml"
    path.write_text(text)
    return path


def _toml_lines(values: dict) -> str:
    """`key = value` lines: numbers as they are, anything else as a string."""
    return "\n".join(
        f"{k} = {v}" if isinstance(v, int | float) else f'{k} = "{v}"' for k, v in values.items()
    )


class RelaySink:
    """A real SMTP relay on loopback that keeps what it receives."""

    def __init__(self, port: int | None = None, **controller_options):
        self.messages: list[tuple[str, list[str], bytes, float]] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP reply to give at RCPT
        self.lock = threading.Lock()
        self.controller = Controller(
            self, hostname="127.0.0.1", port=port or free_port(), **controller_options
        )

    @property
    def port(self) -> int:
        return self.controller.port

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(
                (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                 time.monotonic())
            )  # fmt: skip
        return "250 OK"

    def parsed(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(raw, policy=email.policy.default)
                for _, _, raw, _ in self.messages
            ]

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            return [
                email.message_from_bytes(raw, policy=email.policy.default)
                for _, rcpts, raw, _ in self.messages
                if address in rcpts
            ]

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        wait_until(lambda: len(self.messages) >= count, f"{count} messages at the relay", timeout)


@pytest.fixture
def relay():
    sink = RelaySink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture
def config_path(tmp_path, relay):
    return write_config(tmp_path, relay_port=relay.port)


@pytest.fixture
def settings(config_path):
    return load_settings(config_path)


@pytest.fixture
def db(settings):
    database = open_archive(settings.database)
    yield database
    database.close()


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class ServeProcess:
    """`casebook serve` as a real process, as an operator would run it."""

    def __init__(self, config: Path, port: int, *, args: tuple[str, ...] = (), umask: int = -1):
        self.config = config
        self.port = port
        self.args = args  # e.g. ("--with-sink",)
        self.umask = umask  # the operator's umask (-1: inherit the test's)
        self.proc: subprocess.Popen | None = None
        self.log = config.parent / "serve.log"

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "casebook.cli", "-c", str(self.config), "serve", *self.args],
                cwd=ROOT,
                env=env,
                umask=self.umask,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.listening, "casebook serve to listen", timeout=15)

    def listening(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(self.output())
        return listening_on(self.port)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> str:
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.output()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def serve(tmp_path, relay):
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port)
    process = ServeProcess(config, port)
    process.start()
    yield process
    process.stop()


def run_async(coro):
    return asyncio.run(coro)


NOT_SHIPPED = (".venv", ".git", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")


def any_user_python() -> str:
    """This Python's version, at a path every user may run (Postfix's pipe runs as `casebook`)."""
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    return system if os.access(system, os.X_OK) else sys._base_executable


@pytest.fixture(scope="session")
def installed():
    """A venv outside the checkout with the wheel built from a copy of this checkout.

    The copy keeps build/ and egg-info out of the checkout. The wheel goes in without its
    dependencies; they are copied from this project's venv (without the checkout's own
    install) and found through a .pth file, quicker than PyPI. The folder is readable by
    every user.
    """
    base = Path(tempfile.mkdtemp(prefix="casebook-wheel-"))
    base.chmod(0o755)
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    # pip's default build isolation: setuptools as pyproject.toml asks (pip's cache serves it).
    subprocess.run([*pip, "wheel", "--no-deps", "-w", base / "dist", source], check=True)
    (wheel,) = (base / "dist").glob("casebook_coc-*.whl")
    venv = base / "venv"
    subprocess.run([any_user_python(), "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", python, "install", "--no-deps", wheel], check=True)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    # A copy, not the project venv itself: the checkout may sit in a folder other users (the
    # pipe's `casebook` user) cannot enter, as a fresh clone in a 0700 temporary folder does.
    deps = base / "dependencies"
    shutil.copytree(sysconfig.get_path("purelib"), deps, ignore=shutil.ignore_patterns(
        "__editable__*", "casebook_coc-*", "__pycache__"))  # fmt: skip
    Path(site, "project-dependencies.pth").write_text(f"{deps}\n")
    yield venv
    shutil.rmtree(base, ignore_errors=True)
