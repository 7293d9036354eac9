"""`casebook check-config`: the configuration, then every template rendered with samples."""

from __future__ import annotations

from pathlib import Path

from casebook.config import ConfigError, load_settings
from mailer.render import DEFAULT_TEMPLATES, check_templates, make_environment

SAMPLE_FIELDS = {
    "contact": "reporter@example.net",
    "names": "A. Person",
    "witnesses": None,
    "when": "yesterday",
    "where": "the chat",
    "account": "What happened.",
    "links": ["https://example.net/x"],
    "context": None,
    "ongoing": "no",
    "law_enforcement": None,
    "other": None,
}
COMMON = {
    "committee_name": "Code of Conduct Committee",
    "reports_address": "conduct@example.org",
    "appeals_address": "appeals@example.org",
    "reply_address": "conduct+token@example.org",
    "case_ref": "CoC-2026-001",
}
RESOLUTION = {"statement": "S", "chair_name": "Alice", "duration": "30d", "spaces": "chat"}
SAMPLES = {
    "reporter/ack": {"missing": ["when"], "urgent": False},
    "reporter/ack_folded": {"case_refs": ["CoC-2026-001", "CoC-2026-002"]},
    "reporter/followup_received": {},
    "reporter/no_contact_confirmed": {},
    "committee/new_case": {
        "urgent": True,
        "urgent_reasons": ["mentions “threat”"],
        "fields": SAMPLE_FIELDS,
        "missing": [],
        "reporter": "reporter@example.net",
        "reporter_name": None,
        "delegate": None,
        "attachments": [],
        "subject": "Report",
        "text": "Text",
        "conflicted_count": 1,
    },
    "committee/urgent": {
        "urgent_reasons": ["reported as ongoing"],
        "fields": SAMPLE_FIELDS,
        "reporter": "anonymous",
    },
    "committee/followup": {
        "party": "reporter",
        "from": "reporter@example.net",
        "fields_added": ["when"],
        "feedback": {"received": True, "consent": "agreed", "no_contact": True},
        "text": "More",
        "attachments": [],
    },
    "committee/delivery_problem": {
        "template": "reporter/ack",
        "problem": "bounced",
        "detail": "550 no such user",
    },
    "committee/command_result": {
        "state": "investigating",
        "urgent": False,
        "applied": True,
        "results": [{"line": "#note x", "status": "done", "detail": "noted"}],
    },
    "committee/commands_refused": {},
    "committee/relay": {"subject": "Re: x", "text": "t", "author": "Bob"},
    "committee/resolution_copy": {
        "resolution": "private-reprimand",
        "template": "reported/private_reprimand",
        **RESOLUTION,
    },
    "reporter/proposed_resolution": {
        "resolution": "apology-request",
        "description": "an apology",
        "asks_consent": True,
    },
    "reporter/resolution_notice": {"resolution": "private-reprimand"},
    "reporter/message": {"text": "Hello"},
    "reporter/missing_information": {"missing": []},
    "reported/private_reprimand": RESOLUTION,
    "reported/apology_request": RESOLUTION,
    "reported/hiatus": RESOLUTION,
    "reported/cooling_off": RESOLUTION,
    "reported/ban_notice": RESOLUTION,
    "venue/public_reminder": RESOLUTION,
    "venue/public_reprimand": RESOLUTION,
    "core/ban_notice": RESOLUTION,
    "council/resolution_report": {
        "resolution": "private-reprimand",
        "violation": "yes",
        "opened_at": "2026-01-01T00:00:00+00:00",
    },
    "council/escalation": {
        "reason": "deadlock",
        "state": "resolution-proposed",
        "opened_at": "2026-01-01T00:00:00+00:00",
        "proposal": "hiatus",
        "votes": {"agree": 1, "object": 1, "abstain": 0},
    },
    "committee/ack_overdue": {"opened_at": "2026-01-01T00:00:00+00:00"},
    "committee/timeline_request": {"update_in": "1 day, 0:00:00"},
    "reporter/update": {"timeline": "2026-03-20"},
    "committee/deadlock": {"proposal": "hiatus"},
    "committee/unilateral_reminder": {"since": "2026-01-01T00:00:00+00:00"},
    "committee/feedback_wait_over": {"resolution": "hiatus"},
    "committee/late_deadline": {
        "kind": "reporter-update",
        "due_at": "2026-01-01T00:00:00+00:00",
        "hours_late": 3.5,
    },
    "committee/unilateral": {"member": "Bob", "action": "removed from chat"},
    "committee/held": {
        "reason": "unknown or stale reply address",
        "from": "someone@example.net",
        "subject": "Re: [CoC-2026-001] Your report",
        "message_id": "<held-1@example.net>",
        "excerpt": "More about what happened.",
    },
    "committee/held_summary": {
        "items": [{"message_id": "<x@example.net>", "reason": "unknown", "at": "2026-03-02T10:00"}]
    },
    "committee/quarantined": {
        "items": [{"archive_id": 7, "at": "2026-03-02T10:00", "error": "ValueError: bad"}]
    },
    "council/digest": {
        "week_ending": "2026-03-09",
        "open": [
            {
                "ref": "CoC-2026-001",
                "state": "investigating",
                "urgent": True,
                "age_days": 8,
                "overdue": True,
                "next_deadline": {"kind": "deadlock", "due": "2026-03-12"},
            }
        ],
        "omitted": 1,
        "opened": [{"ref": "CoC-2026-002", "at": "2026-03-05"}],
        "resolved": [{"ref": "CoC-2026-003", "at": "2026-03-06", "resolution": "hiatus"}],
        "escalated": [],
        "unilateral": [{"ref": "CoC-2026-001", "at": "2026-03-04"}],
        "appeals": [
            {"ref": "CoC-2026-004", "due": "2026-03-01", "overdue": True, "status": "open"}
        ],
        "bans": [
            {"ref": "CoC-2026-001", "start": "2026-03-01", "end": "permanent", "status": "active"}
        ],
        "chart": [{"week": "2026-03-09", "count": 2, "width": 200}],
    },
    "reported/unban_notice": {"spaces": "chat"},
    "core/unban_notice": {"spaces": "chat"},
    "committee/ban_expired": {"spaces": "chat"},
    "committee/ban_review": {"spaces": "chat", "since": "2026-01-01"},
    "appellant/appeal_ack": {"due": "2026-03-16"},
    "appellant/appeal_ack_generic": {"due": "2026-03-16"},
    "appellant/appeal_extended": {"until": "2026-04-01"},
    "appellant/appeal_decision": {"decision": "uphold", "text": "T"},
    "committee/appeal_decision": {"decision": "uphold", "text": "T"},
    "council/appeal": {
        "appeal": 1,
        "appellant": "a@example.net",
        "by_party": True,
        "subject": "Appeal",
        "text": "T",
        "due": "2026-03-16",
    },
    "council/appeal_reminder": {"due": "2026-03-16"},
    "council/appeal_overdue": {"due": "2026-03-16"},
    "council/report": {"title": "Quarterly report: 2026 Q4", "text": "# Report"},
    "party/mediation_invitation": {"mediator": "Max"},
    "party/mediation_report": {"report": "R"},
    "mediator/brief": {"due": "2026-03-16"},
    "mediator/reminder": {"due": "2026-03-16"},
    "committee/mediation_update": {"what": "settled", "report": "R"},
    "chair/conflict": {
        "conflicts": [{"member": "bob@example.org", "name": "Bob", "reason": "named"}],
        "recipient_name": "Alice",
    },
}


def template_names() -> list[str]:
    return sorted(SAMPLES)


def check_everything(path: Path) -> list[str]:
    """Every problem with the configuration (keys, files, folders) and the templates."""
    try:
        settings = load_settings(path, check_files=True)
    except ConfigError as exc:
        return exc.problems
    if not DEFAULT_TEMPLATES.is_dir():
        return [f"the default templates are missing from {DEFAULT_TEMPLATES}"]
    env = make_environment(settings.templates_override)
    samples = {name: {**COMMON, **values} for name, values in SAMPLES.items()}
    return check_templates(env, template_names(), samples)
