"""SIGHUP (systemd's ExecReload=) reads the configuration again; `serve` never dies of it."""

from __future__ import annotations

import signal

from tests.support.base import fixture_bytes, listening_on
from tests.support.helpers import smtp_send
from tests.support.waiting import wait_until


def wait_for_line(serve, text: str, timeout: float = 20.0) -> None:
    def logged() -> bool:
        assert serve.proc.poll() is None, serve.output()
        return text in serve.output()

    wait_until(logged, f"{text!r} in the log", timeout, detail=serve.output)


def report_acknowledged(serve, relay, sender: str, count: int):
    raw = fixture_bytes("plain_report.eml").replace(b"rita@example.net", sender.encode())
    assert smtp_send(serve.port, raw, sender, ["conduct@example.org"]) == {}
    relay.wait_for(count)
    [ack] = relay.to(sender)
    return ack


def test_hangup_with_a_broken_configuration_keeps_serving_and_says_why(serve, relay):
    good = serve.config.read_text()
    serve.config.write_text(good.replace("[intake]", "[intake]\nmax_mesage_size = 10"))
    serve.proc.send_signal(signal.SIGHUP)
    wait_for_line(serve, "still running with the old one")
    assert "unknown key 'max_mesage_size'" in serve.output()
    assert serve.proc.poll() is None
    report_acknowledged(serve, relay, "rita@example.net", 2)


def test_hangup_reloads_the_configuration_without_losing_mail(serve, relay):
    first = report_acknowledged(serve, relay, "rita@example.net", 2)
    assert "Code of Conduct Committee" in first["From"]
    text = serve.config.read_text()
    serve.config.write_text(
        text.replace('case_prefix = "CoC"', 'case_prefix = "CoC"\ncommittee_name = "Reloaded"')
    )
    serve.proc.send_signal(signal.SIGHUP)
    wait_for_line(serve, "configuration reloaded")
    # intake listens again a moment after the reload
    wait_until(lambda: listening_on(serve.port), "intake to listen again", 15, detail=serve.output)
    second = report_acknowledged(serve, relay, "sam@example.net", 4)
    assert "Reloaded" in second["From"]
    assert serve.proc.poll() is None
