"""Regression: a report that only the plain fallback could read still cuts off the members it
names (before, the fallback found no conflicts and the notice went to everyone)."""

from __future__ import annotations

import pytest

import intake.parse
from archive.record.cases import find_case
from archive.record.db import open_archive
from tests.support.base import T0
from tests.support.committee import dkim_settings
from tests.support.helpers import deliver

REPORT = (
    b"From: Rita Reporter <rita@example.net>\r\nTo: conduct@example.org\r\n"
    b"Subject: At the sprint\r\nMessage-ID: <fallback-conflict@example.net>\r\n\r\n"
    b"Bob Member shouted at me at the sprint.\r\n"
)


@pytest.fixture
def archive(tmp_path):
    settings = dkim_settings(tmp_path)
    db = open_archive(settings.database)
    yield db, settings
    db.close()


def test_a_report_read_by_the_fallback_conflicts_the_member_it_names(archive, monkeypatch):
    db, settings = archive

    def broken(*args, **kwargs):
        raise RuntimeError("a parser bug")

    monkeypatch.setattr(intake.parse, "_parse_fully", broken)
    result = deliver(db, settings, REPORT, now=T0)
    case = find_case(db, result.case_ref)
    assert "bob@example.org" in case.conflicted
    assert "alice@example.org" not in case.conflicted
