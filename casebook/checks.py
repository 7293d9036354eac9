"""`casebook check-config`: the configuration, then every template rendered with samples."""

from __future__ import annotations

from pathlib import Path

from archive.catalogue import CATALOGUE
from casebook.config import ConfigError, load_settings
from mailer.render import DEFAULT_TEMPLATES, check_templates, make_environment

# The values of the fields every template may show (the catalogue holds the rest).
COMMON = {
    "committee_name": "Code of Conduct Committee",
    "reports_address": "conduct@example.org",
    "appeals_address": "appeals@example.org",
    "reply_address": "conduct+token@example.org",
    "recipient_name": "Alice Chair",
    "code_of_conduct_url": "https://example.org/conduct",
    "reporting_guide_url": "https://example.org/conduct/reporting",
    "reporter_support_url": None,  # a link the committee has not set: its line is left out
    "reported_resources_url": "https://example.org/conduct/resources",
}


def template_names() -> list[str]:
    return sorted(CATALOGUE)


def check_everything(path: Path) -> list[str]:
    """Every problem with the configuration (keys, files, folders) and the templates."""
    try:
        settings = load_settings(path, check_files=True)
    except ConfigError as exc:
        return exc.problems
    if not DEFAULT_TEMPLATES.is_dir():
        return [f"the default templates are missing from {DEFAULT_TEMPLATES}"]
    env = make_environment(settings.templates_override)
    samples = {name: {**COMMON, **spec.sample} for name, spec in CATALOGUE.items()}
    return check_templates(env, template_names(), samples)
