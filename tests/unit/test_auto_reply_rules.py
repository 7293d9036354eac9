"""Which mail is an automatic reply, whatever headers it lacks: pure rules (SPEC §6)."""

from __future__ import annotations

import sqlite3

import pytest

from archive.arrivals.echoes import pastes_back
from casebook.storage import storage_problem
from intake.autoreply import is_auto_subject, quotes_own_mail


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Re: [CoC-2026-001] New report",
        "Out of Office AutoReply: New report",
        "Automatic reply: [CoC-2026-001] New report",
        "RE: Automatic reply: New report",
        "Abwesenheitsnotiz: Re: [CoC-2026-001] New report",
        "AW: Abwesenheitsnotiz",
        "Réponse automatique : Re: [CoC-2026-001] New report",
        "Respuesta automática: New report",
        "Risposta automatica: New report",
        "Automatisk svar: New report",
        "Automaattinen vastaus: New report",
        "Автоматический ответ: New report",
        "自動応答: New report",
        "[Auto-Reply] New report",
    ],
)
def test_subjects_of_automatic_replies(subject):
    assert is_auto_subject(subject)


@pytest.mark.parametrize(
    "subject",
    [
        "Re: [CoC-2026-001] New report",
        "Out of office hours harassment at the sprint",
        "Re: Auto parking: more details",
        "Automatic replies in the bug tracker",
    ],
)
def test_subjects_people_write(subject):
    assert not is_auto_subject(subject)


RELAY = (
    "Shall we talk to Dave first?\n\n-- \nSent by Bob Member to the committee's audience for"
    " case CoC-2026-001,\nre-sent by casebook. Reply to write to the same people.\n"
)


def test_casebooks_relay_footer_outside_quotes_is_its_mail_sent_back():
    assert quotes_own_mail("Away until Monday.\n" + RELAY)
    assert not quotes_own_mail("Agreed, let's talk to him first.")


NOTICE = (
    "A new report arrived and is case CoC-2026-001. The reporter has been sent an\n"
    "acknowledgement.\n\nNames:        Dave Jones\nWhen:         yesterday\n"
    'Send "#help" for the full list.\n'
)


def test_casebooks_mail_pasted_back_whole_is_told_from_a_quote():
    assert pastes_back("I am away until Monday. Your message:\n\n" + NOTICE, NOTICE)
    quoted = "Agreed.\n\n" + "\n".join("> " + line for line in NOTICE.splitlines())
    assert not pastes_back(quoted, NOTICE)
    assert not pastes_back("Agreed, Dave Jones should hear from us.", NOTICE)
    assert not pastes_back("ok\nok\n", "ok\nok\n")  # too short to prove anything
    # A client's header block the reply reader missed names the subject: a person's reply.
    danish = "Enig.\n\nFra: casebook\nEmne: [CoC-2026-001] New report\n\n" + NOTICE
    assert not pastes_back(danish, NOTICE, "[CoC-2026-001] New report")
    assert pastes_back("Away.\n\n" + NOTICE, NOTICE, "[CoC-2026-001] New report")


def test_a_full_disk_is_called_a_full_disk(tmp_path):
    conn = sqlite3.connect(tmp_path / "small.db", isolation_level=None)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("PRAGMA max_page_count = 3")
    with pytest.raises(sqlite3.OperationalError) as full:
        conn.execute("INSERT INTO t VALUES (?)", [b"x" * 100_000])
    assert storage_problem(full.value) == "disk full"
    assert storage_problem(sqlite3.OperationalError("database is locked")) == "database is locked"
    assert storage_problem(ValueError("a bug")) is None
