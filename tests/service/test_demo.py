"""`make run` as a newcomer runs it: the example configuration, or moved with PORT=."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess

import pytest

from tests.support.base import ROOT
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_run(*args: str, env=None) -> str:
    done = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def free_block() -> int:
    """A base port whose next two are free as well."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = sock.getsockname()[1]
        if base < 65000 and not any(listening(base + n) for n in range(3)):
            return base
    raise AssertionError("no three free ports in a row")


def test_without_port_the_demo_keeps_the_example_as_it_is():
    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    assert "casebook -c config/casebook.example.toml serve --with-sink" in make_run(env=env)


def test_port_moves_intake_the_sink_and_the_form(tmp_path):
    base = free_block()
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        demo = subprocess.Popen(["make", "run", f"PORT={base}"], cwd=ROOT, start_new_session=True,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:

        def all_three() -> bool:
            assert demo.poll() is None, log.read_text()
            return all(listening(base + n) for n in range(3))

        wait_until(all_three, "the demo to listen on PORT, +1 and +2", 30, detail=log.read_text)
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=20)
    written = (ROOT / "var" / f"run-{base}.toml").read_text()
    assert f"port = {base} " in written and f'"{ROOT}/var/casebook.db"' in written
    (ROOT / "var" / f"run-{base}.toml").unlink()
