"""The committee's pointers and resources ([links]) in the mail of those they help.

The manual asks the committee to "provide actionable information, pointers and resources":
the reporter's acknowledgement links how reports are handled and the Code of Conduct; mail to
the reported person links the Code of Conduct and resources for them. Driven as people meet
it: `casebook serve` as a process, mail in over SMTP, what reached each mailbox judged.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import ServeProcess, free_port, write_config
from tests.helpers import run_casebook, smtp_send
from tests.mailbuild import pinned_keys_toml, sign
from tests.test_walks_e2e import (
    ALICE,
    DAVE,
    REPORT,
    REPORTS,
    RITA,
    body,
    outlook,
    reply_address,
    wait_until,
)

LINKS = """
[links]
code_of_conduct = "https://example.org/conduct"
reporting_guide = "https://example.org/conduct/reporting"
reported_resources = "https://example.org/conduct/resources"
"""


def serve(tmp_path, relay, links: str) -> ServeProcess:
    port = free_port()
    config = write_config(tmp_path, relay_port=relay.port, intake_port=port,
                          extra=links + "\n" + pinned_keys_toml())  # fmt: skip
    process = ServeProcess(config, port)
    process.start()
    return process


def first(relay, address: str, subject: str):
    def found():
        hits = [m for m in relay.to(address) if subject in str(m["Subject"])]
        return hits[0] if hits else None

    return wait_until(found, f"{subject!r} to {address}")


def test_the_reporter_and_the_reported_person_get_the_committees_links(tmp_path, relay):
    process = serve(tmp_path, relay, LINKS)
    try:
        assert smtp_send(process.port, REPORT.encode(), RITA[1], [REPORTS]) == {}
        ack = body(first(relay, RITA[1], "We received your report"))
        assert "How the committee handles reports: https://example.org/conduct/reporting" in ack
        assert "Our Code of Conduct: https://example.org/conduct" in ack
        assert "Support for you" not in ack  # not configured: no line, no "None"
        assert "None" not in ack and "\n\n\n" not in ack
        assert "/resources" not in ack  # the reported person's resources are theirs

        notice = first(relay, ALICE[1], "New report")
        ask = "#responsible Dave Jones <dave@example.com>\n#send ask-account to reported"
        to = reply_address(notice)
        assert smtp_send(process.port, sign(outlook(ALICE, to, notice, ask)), ALICE[1], [to]) == {}
        mail = body(first(relay, DAVE[1], "would like to hear from you"))
        assert "Our Code of Conduct: https://example.org/conduct\n" in mail
        assert "Resources that may help: https://example.org/conduct/resources\n" in mail
        assert "reporting" not in mail  # the reporter's guide is not his
        assert re.search(r"only\.\n\nOur Code of Conduct: \S+\nResources that may help: \S+\n\n-- ",
                         mail), mail  # fmt: skip
    finally:
        process.stop()


def test_without_links_the_mail_reads_as_before(tmp_path, relay):
    process = serve(tmp_path, relay, "")
    try:
        assert smtp_send(process.port, REPORT.encode(), RITA[1], [REPORTS]) == {}
        ack = body(first(relay, RITA[1], "We received your report"))
        assert "http" not in ack and "None" not in ack and "\n\n\n" not in ack
        assert "Replies reach only the committee.\n\nIf you later disagree" in ack
    finally:
        process.stop()


@pytest.mark.parametrize(
    "value",
    ["javascript:alert(1)", "https://exa mple.org/x", "example.org/conduct", "ftp://example.org",
     "https://example.org/\u202econduct", "https:///conduct"],
)  # fmt: skip
def test_a_link_that_is_not_a_web_address_is_refused_in_one_line(tmp_path, value):
    config = write_config(tmp_path, extra=f'\n[links]\ncode_of_conduct = "{value}"\n')
    result = run_casebook("-c", str(config), "check-config")
    assert result.returncode != 0
    lines = [line for line in result.stderr.decode().splitlines() if line.strip()]
    assert len(lines) == 1 and "[links] code_of_conduct" in lines[0], lines
    assert "must be an http(s) address" in lines[0], lines
