"""Templates to text: Jinja2, strict about undefined names, a site folder searched first.

A template's first line is `Subject: …`; the rest is the body. `NAME.txt` is required,
`NAME.html` is used as an HTML alternative when present.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from weakref import WeakKeyDictionary

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from archive.record.outbox import OUTCOME_TEMPLATE

# templates/ is the package `mailer.templates` (pyproject.toml maps it), so an installed casebook
# reads the templates installed with it, and a checkout (editable install) reads its own.
DEFAULT_TEMPLATES = Path(str(files("mailer.templates")))


# Per environment, the optional templates found missing (until `forget_absent`).
_ABSENT: WeakKeyDictionary[Environment, set[str]] = WeakKeyDictionary()


class TemplateProblem(Exception):
    """A template is missing or broken; the message says which and why."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def make_environment(override: Path | None = None, base: Path = DEFAULT_TEMPLATES) -> Environment:
    loaders = [FileSystemLoader(str(override))] if override else []
    loaders.append(FileSystemLoader(str(base)))
    return Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(env: Environment, name: str, context: dict) -> Rendered:
    """Render `name` (e.g. `reporter/ack`) to a subject, a text body and an optional HTML body."""
    try:
        text = env.get_template(f"{name}.txt").render(context)
    except TemplateNotFound as exc:
        raise TemplateProblem(f"template {exc.name} not found") from None
    except Exception as exc:  # Jinja2 raises many kinds; all mean this template cannot be used
        raise TemplateProblem(f"template {name}.txt: {exc}") from None
    subject, body = split_subject(text, name)
    if context.get("folded"):
        body = body.rstrip("\n") + "\n\n" + _folded_lines(env, context)
    html = None
    try:
        template = _optional_template(env, f"{name}.html")
        html = template.render(context) if template is not None else None
    except Exception as exc:
        raise TemplateProblem(f"template {name}.html: {exc}") from None
    if html is not None:
        _, html = split_subject(html, name)
    return Rendered(subject, body, html)


def _folded_lines(env: Environment, context: dict) -> str:
    """Members' command outcomes a committee notice carries, after its own text, in the words
    of the outcome template."""
    fields = {**context, "items": context["folded"], "folded_into": True}
    try:
        text = env.get_template(f"{OUTCOME_TEMPLATE}.txt").render(fields)
    except Exception as exc:  # as for the notice's own template: this one cannot be used
        raise TemplateProblem(f"template {OUTCOME_TEMPLATE}.txt: {exc}") from None
    return split_subject(text, OUTCOME_TEMPLATE)[1]


def _optional_template(env: Environment, name: str):
    """The template, or None when there is none; an absence is remembered (Jinja2 caches
    only the templates it found, and looks for a missing one in every folder on every call)
    until `forget_absent` is called."""
    absent = _ABSENT.setdefault(env, set())
    if name in absent:
        return None
    try:
        return env.get_template(name)
    except TemplateNotFound:
        absent.add(name)
        return None


def forget_absent(env: Environment) -> None:
    """Look again for templates that were missing (an operator may have added one)."""
    _ABSENT.pop(env, None)


def split_subject(rendered: str, name: str) -> tuple[str, str]:
    first, _, body = rendered.partition("\n")
    if not first.startswith("Subject:"):
        raise TemplateProblem(f"template {name}: the first line must be 'Subject: …'")
    subject = " ".join(first[len("Subject:") :].split())
    return subject, body.lstrip("\n")


def check_templates(env: Environment, names: list[str], samples: dict[str, dict]) -> list[str]:
    """Render every named template with sample values; one problem line per broken template."""
    problems = []
    for name in names:
        try:
            render_template(env, name, samples.get(name, {}))
        except TemplateProblem as exc:
            problems.append(str(exc))
    return problems
