"""The template catalogue holds every template on disk, and each template shows only the
fields its entry lists."""

from __future__ import annotations

import pytest
from jinja2 import meta

from archive.outgoing.catalogue import (
    CATALOGUE,
    GLOBAL_FIELDS,
    INSIDE,
    UnknownTemplate,
    fit_context,
)
from casebook.checks import COMMON
from mailer.render import DEFAULT_TEMPLATES, make_environment, render_template

ENV = make_environment()
ON_DISK = sorted(
    str(p.relative_to(DEFAULT_TEMPLATES).with_suffix("")) for p in DEFAULT_TEMPLATES.rglob("*.txt")
)
OUTSIDE_FOLDERS = {"reporter", "reported", "venue", "core", "appellant", "party", "mediator"}


def test_catalogue_and_templates_on_disk_are_the_same_set():
    assert sorted(CATALOGUE) == ON_DISK


@pytest.mark.parametrize("name", ON_DISK)
def test_a_template_uses_only_its_catalogued_fields(name):
    spec = CATALOGUE[name]
    for suffix in (".txt", ".html"):
        path = DEFAULT_TEMPLATES / (name + suffix)
        if path.exists():
            used = meta.find_undeclared_variables(ENV.parse(path.read_text()))
            assert used <= spec.fields | GLOBAL_FIELDS, (name, used - spec.fields)


@pytest.mark.parametrize("name", ON_DISK)
def test_every_template_renders_with_its_samples(name):
    rendered = render_template(ENV, name, {**COMMON, **CATALOGUE[name].sample})
    assert rendered.subject and rendered.text.strip()


def test_readers_outside_the_committee_are_the_party_facing_folders():
    for name, spec in CATALOGUE.items():
        folder = name.split("/")[0]
        if folder in OUTSIDE_FOLDERS:
            assert spec.outside, name
        else:
            assert spec.reader in INSIDE or spec.reader == "sender", name


def test_a_field_the_catalogue_does_not_list_is_refused_in_tests(monkeypatch):
    with pytest.raises(UnknownTemplate):
        fit_context("reporter/message", {"text": "hi", "reporter_email": "rita@example.net"})
    monkeypatch.setenv("CASEBOOK_STRICT_TEMPLATES", "0")
    kept = fit_context("reporter/message", {"text": "hi", "reporter_email": "rita@example.net"})
    assert kept == {"text": "hi"}  # in service: left out, never shown
