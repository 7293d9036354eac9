"""`casebook check-config`: the configuration, then every template rendered with samples."""

from __future__ import annotations

from pathlib import Path

from archive.catalogue import CATALOGUE
from archive.settings import ConfigError, load_settings
from mailer.render import DEFAULT_TEMPLATES, check_templates, make_environment

# The values of the fields every template may show (the catalogue holds the rest).
COMMON = {
    "committee_name": "Code of Conduct Committee",
    "reports_address": "conduct@example.org",
    "appeals_address": "appeals@example.org",
    "reply_address": "conduct+token@example.org",
    "recipient_name": "Alice Chair",
}


def template_names() -> list[str]:
    return sorted(CATALOGUE)


def check_everything(path: Path) -> list[str]:
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        return exc.problems
    problems = []
    override = settings.templates_override
    if override is not None and not override.is_dir():
        problems.append(f"[casebook] templates: {override} is not a folder")
        override = None
    if not DEFAULT_TEMPLATES.is_dir():
        problems.append(f"the default templates are missing from {DEFAULT_TEMPLATES}")
        return problems
    env = make_environment(override)
    samples = {name: {**COMMON, **spec.sample} for name, spec in CATALOGUE.items()}
    problems += check_templates(env, template_names(), samples)
    if settings.relay.password_file and not settings.relay.password_file.is_file():
        problems.append(f"[mailer.smtp] password_file {settings.relay.password_file} not found")
    return problems
