"""Issue 18 R4: held mail claiming a case cannot flood the committee with notices.

The first held message for a case is told at once; the rest of that hour come in one notice
when the hour ends (`casebook tick` sends it), listing each with its `#merge` Message-ID.
Driven over SMTP into casebook's intake, the relay sink showing what the committee receives.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.arrivals.held import list_held
from casebook.config import load_settings
from tests.service.test_party_auth import REPORTS, Service, keys  # noqa: F401
from tests.service.test_unverified_word import REPORT, RINA_ADDR, forged, mail, send_at
from tests.support.base import T0, write_config
from tests.support.committee import LIST
from tests.support.helpers import run_casebook
from tests.support.mailbuild import pinned_keys_toml


@pytest.fixture
def setup(tmp_path, relay, keys):  # noqa: F811
    pinned = f'"s1._domainkey.example.net" = "{keys["example.net"][1]}"\n'
    path = write_config(tmp_path, relay_port=relay.port, extra=pinned_keys_toml() + pinned)
    svc = Service(load_settings(path), relay)
    svc.send(REPORT, RINA_ADDR, REPORTS)  # CoC-2026-001
    second = REPORT.replace(b"uw-report@", b"uw-report-2@")
    svc.send(
        second.replace(RINA_ADDR.encode(), b"sam@freemail.example"), "sam@freemail.example", REPORTS
    )  # fmt: skip  (CoC-2026-002)
    yield svc, path
    svc.close()


def stranger(svc, n: int, ref: str = "CoC-2026-001") -> None:
    sender = f"mallory{n}@evil{n}.example"
    svc.send(mail(f"Mallory <{sender}>", f"Re: [{ref}] More", f"Forged note {n}."), sender,
             REPORTS)  # fmt: skip


def held_notices(relay, ref: str) -> list:
    return [m for m in relay.to(LIST) if ref in m["Subject"] and "held" in m["Subject"]]


def test_a_flood_of_held_mail_to_one_case_is_one_notice_now_and_one_folded(setup, relay):
    svc, path = setup
    for n in range(15):
        stranger(svc, n)
    stranger(svc, 99, "CoC-2026-002")
    [first] = held_notices(relay, "CoC-2026-001")  # at once, the other 14 wait for the hour
    assert first["Subject"] == "[CoC-2026-001] A message for this case was held"
    assert len(held_notices(relay, "CoC-2026-002")) == 1  # another case is told on its own
    later = (T0 + timedelta(hours=1, minutes=1)).isoformat()
    tick = run_casebook("-c", str(path), "tick", "--now", later)
    assert tick.returncode == 0, tick.stderr
    [_, folded] = held_notices(relay, "CoC-2026-001")
    assert folded["Subject"] == "[CoC-2026-001] 14 more message(s) for this case were held"
    body = folded.get_content()
    held = [h for h in list_held(svc.db) if h["case"] == "CoC-2026-001"]
    assert len(held) == 15  # nothing lost
    for h in held[1:]:
        assert h["message_id"] in body and f"archive no. {h['id']} " in body
    assert held[0]["message_id"] not in body
    assert "Forged note" not in body and "evil" not in body  # no content, no sender
    assert "#merge <Message-ID>" in body
    assert len(held_notices(relay, "CoC-2026-002")) == 1


def test_forged_party_mail_is_folded_too_and_the_next_hour_is_told_at_once(setup, relay):
    svc, path = setup
    for n in range(5):
        forged(svc, f"Please add this, number {n}.")
    [first] = held_notices(relay, "CoC-2026-001")
    assert "unverified: From names the reporter" in " ".join(first.get_content().split())
    hour = T0 + timedelta(hours=1)
    assert run_casebook("-c", str(path), "tick", "--now", hour.isoformat()).returncode == 0
    [_, folded] = held_notices(relay, "CoC-2026-001")
    assert folded["Subject"] == "[CoC-2026-001] 4 more message(s) for this case were held"
    assert " ".join(folded.get_content().split()).count("held because unverified:") == 4
    sender = "mallory@evil.example"
    raw = mail(f"Mallory <{sender}>", "Re: [CoC-2026-001] More", "After the hour.")
    send_at(svc, raw, sender, REPORTS, hour + timedelta(minutes=5))
    [_, _, again] = held_notices(relay, "CoC-2026-001")  # a new hour: told at once
    assert again["Subject"] == "[CoC-2026-001] A message for this case was held"
    assert "After the hour." in again.get_content()
