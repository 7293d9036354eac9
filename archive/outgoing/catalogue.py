"""The one catalogue of templates: who reads each, the fields it may show, sample values.

`queue_mail` keeps a template's context to its fields, the leak guard checks every template
whose reader is outside the committee, `check-config` renders each with its samples, and a
test holds docs/committee/mail.md's table of mail to it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from archive.record.models import ASKED_FIELDS
from archive.workflow.ladder import resolution_templates

log = logging.getLogger(__name__)

# Fields every template may show: the committee's public facts and the copy's own reply
# address and addressee, added when a copy is rendered (not stored with the item).
# The committee's pointers and resources ([links]) are None where it has none.
GLOBAL_FIELDS = frozenset(
    {
        *("committee_name", "reports_address", "appeals_address"),
        *("reply_address", "recipient_name"),
        *("code_of_conduct_url", "reporting_guide_url"),
        *("reporter_support_url", "reported_resources_url"),
    }
)
# Fields any mail to the committee may carry: members' command outcomes folded into it
# (archive/commands/outcome.py), shown after its text by the outcome template.
FOLDED_FIELDS = frozenset({"folded"})
# Readers inside the committee (and the council, which the policy hands cases to).
INSIDE = frozenset({"committee", "chair", "council"})


class UnknownTemplate(ValueError):
    """A template name the catalogue does not know: a bug in the caller."""


@dataclass(frozen=True)
class Template:
    name: str
    reader: str  # who reads it: reporter, reported, venue, core, appellant, mediator, party,
    #              sender (anyone whose commands were refused), committee, chair, council
    fields: frozenset[str]
    sample: dict = field(default_factory=dict)
    # Fields that name a member by design (the chair's signature): the leak guard skips them.
    signed: frozenset[str] = frozenset()
    # The case tag in the subject; never on a public statement to a public list or venue.
    tagged: bool = True

    @property
    def outside(self) -> bool:
        """Read by someone outside the committee: the leak guard checks it."""
        return self.reader not in INSIDE


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
# What the council reads to decide (archive/workflow/case_brief.py), in council/case_brief.inc.
BRIEF = {
    "account": "He called me stupid on the list.",
    "when": "yesterday",
    "where": "the users list",
    "responsible": ["Dave Jones <dave@example.com>"],
    "finding": "yes",
    "proposals": [
        {
            "resolution": "private-reprimand",
            "status": "open",
            "statement": "S",
            "objections": ["carol@example.org: too mild"],
        },
    ],
    "feedback": ["consent: agreed - Yes, that is fine with me."],
    "unilateral": ["removed him from the chat for a day"],
    "mediation": [],
}
RESOLUTION = {
    "statement": "S",
    "chair_name": "Alice",
    "duration": "30 days",  # as mail says it; `until` is its last day
    "until": "24 December 2026",
    "spaces": "chat",
    "by_council": False,  # decided by the Executive Council (an escalated case)
}
# A ban: `unilateral` when one member banned at once in an urgent case (signed by them, in
# `chair_name`); the core team is told who (the person responsible is no protected identity).
BAN = RESOLUTION | {"unilateral": False}
CORE_BAN = BAN | {"who": "Dave Jones <dave@example.com>"}
_SHARE = {"met": 3, "due": 4, "share": "75%", "running": 1}
DIGEST = {
    "week_ending": "2026-03-09",
    "quarter": "2026 Q1",
    "attention_count": 4,
    "appeals": [
        {
            "ref": "CoC-2026-004",
            "received": "2026-02-20",
            "due": "2026-03-06",
            "overdue": True,
            "status": "open",
        }
    ],
    "escalations": [{"ref": "CoC-2026-005", "since": "2026-03-03"}],
    "unacknowledged": [{"ref": "CoC-2026-006", "since": "2026-03-08"}],
    "unilateral": [{"ref": "CoC-2026-001", "at": "2026-03-04"}],
    "promises": [
        {"promise": "Reports acknowledged within 24 hours", "week": _SHARE, "quarter": _SHARE}
    ],
    "open": [
        {
            "ref": "CoC-2026-001",
            "state": "investigating",
            "urgent": True,
            "age_days": 8,
            "overdue": [{"what": "resolution", "since": "2026-03-08"}],
            "next_deadline": {"what": "ban review", "due": "2027-03-01"},
        }
    ],
    "opened": [{"ref": "CoC-2026-002", "at": "2026-03-05"}],
    "resolved": [{"ref": "CoC-2026-003", "at": "2026-03-06", "resolution": "hiatus"}],
    "escalated": [{"ref": "CoC-2026-005", "at": "2026-03-03"}],
    "bans": [
        {
            "ref": "CoC-2026-001",
            "start": "2026-03-01",
            "end": "permanent",
            "status": "active",
            "spaces": "chat",
            "unilateral": True,
        }
    ],
    "chart": [{"week": "2026-03-09", "count": 2, "width": 200}],
}
# Mail a resolution will send, as the committee previews it (the mailer renders `text` and
# `subject` from `template` and `context`; a sample comes rendered).
PREVIEWS = [
    {
        "to": "Dave Jones <dave@example.com>",
        "template": "reported/private_reprimand",
        "subject": "[CoC-2026-001] A private message from the Code of Conduct Committee",
        "text": "Hello,\n\nThe Code of Conduct Committee has looked into your recent conduct.",
    }
]
WHEN = "2026-01-01T00:00:00+00:00"
NEW_CASE = {
    "urgent": True,
    "urgent_reasons": ["mentions “threat”"],
    "fields": SAMPLE_FIELDS,
    "missing": [],
    "reporter": "reporter@example.net",
    "reporter_name": None,
    "delegate": None,
    "attachments": [],
    "parts_left_out": 0,  # MIME parts beyond [intake] max_parts: in the raw bytes only
    "subject": "Report",
    "text": "Text",
    "conflicted_count": 1,
    "acknowledgement": "sent",  # sent, delegate, folded, suppressed, followup (an urgent
    #                             follow-up), form (the web form's receipt page)
    "ack_reason": None,
    "via_form": False,  # made anonymously through the web form: #to-reporter reaches its page
}


def _entry(
    name: str, reader: str, sample: dict, signed: tuple[str, ...] = (), *, tagged: bool = True
) -> Template:
    """A template whose fields are its sample's keys (and the case tag)."""
    fields = frozenset({"case_ref", *sample})
    sample = {"case_ref": "CoC-2026-001", **sample}
    return Template(name, reader, fields, sample, frozenset(signed), tagged)


_SIGNED = ("chair_name",)
_OUTCOME_ENTRY = {
    "author": "Bob",
    "at": "10:05",
    "applied": True,
    "results": [{"line": "#enact", "status": "done", "detail": "enacted private-reprimand"}],
    "previews": PREVIEWS,  # what an #enact sends outside the committee, as read there
}
_CONFLICT = {"member": "bob@example.org", "name": "Bob", "reason": "named", "line": "Bob and I"}


def _resolution_entries() -> list[Template]:
    """The templates the ladder's rows send (a public statement carries no case tag)."""
    return [
        _entry(name, reader, BAN if row.bans else RESOLUTION, _SIGNED, tagged=reader != "venue")
        for name, (reader, row) in resolution_templates().items()
    ]


CATALOGUE: dict[str, Template] = {
    t.name: t
    for t in (
        # To the reporter (and, for the acknowledgement, whoever sent the report).
        _entry("reporter/ack", "reporter", {"missing": ["when"], "urgent": False}),
        _entry("reporter/ack_folded", "reporter", {"case_refs": ["CoC-2026-001", "CoC-2026-002"]}),
        _entry("reporter/followup_received", "reporter", {"for_reporter": True}),
        _entry("reporter/no_contact_confirmed", "reporter", {}),
        _entry("reporter/no_contact_question", "reporter", {}),
        _entry("reporter/message", "reporter", {"text": "Hello"}),
        _entry("reporter/missing_information", "reporter", {"missing": ["when", "links"]}),
        _entry(
            "reporter/proposed_resolution",
            "reporter",
            {
                "resolution": "apology-request",
                "description": "an apology",
                "asks_consent": True,
                "by_council": False,
            },
        ),
        _entry(
            "reporter/resolution_notice",
            "reporter",
            {
                "resolution": "private-reprimand",
                "done": "a private reprimand was sent",
                "by_council": False,
            },
        ),
        _entry("reporter/update", "reporter", {"timeline": "2026-03-20"}),
        _entry("reporter/council_has_case", "reporter", {}),
        # To the person responsible, the venue and the core team: signed by the chair; what
        # each resolution sends is its row of the ladder's.
        *_resolution_entries(),
        _entry("reported/unban_notice", "reported", {"spaces": "chat"}),
        _entry("reported/message", "reported", {"text": "Hello"}),
        _entry("reported/ask_account", "reported", {}),
        _entry("party/message", "party", {"text": "Hello"}),
        _entry("party/how_to_appeal", "party", {}),
        _entry("party/confirm_message", "party", {"reporter": True, "appeal": False}),
        _entry("core/ban_notice", "core", CORE_BAN, _SIGNED),
        _entry("core/unban_notice", "core", {"spaces": "chat", "who": "Dave Jones"}),
        # Appeals, mediation.
        _entry("appellant/appeal_ack", "appellant", {"due": "2026-03-16"}),
        _entry("appellant/appeal_ack_generic", "appellant", {"due": "2026-03-16"}),
        _entry("appellant/appeal_extended", "appellant", {"until": "2026-04-01"}),
        _entry("appellant/appeal_decision", "appellant", {"decision": "uphold", "text": "T"}),
        _entry("mediator/invitation", "mediator", {}),
        _entry("party/mediation_invitation", "party", {"mediator": "Max"}),
        _entry("party/mediation_unclear", "party", {"mediator": "Max", "someone_else": True}),
        _entry("party/mediation_report", "party", {"report": "R"}),
        _entry("party/mediation_extended", "party", {"mediator": "Max", "due": "30 March 2026"}),
        _entry("mediator/extended", "mediator", {"due": "30 March 2026"}),
        _entry("party/mediation_decided", "party", {"done": "no further action", "reported": True}),
        _entry("mediator/decided", "mediator", {"reported": True}),
        _entry("mediator/not_needed", "mediator", {}),
        # The parties agreed to this mediator: the brief names them by design.
        _entry(
            "mediator/brief",
            "mediator",
            {"due": "16 March 2026", "parties": ["Rita <rita@example.net>"]},
            ("parties",),
        ),
        _entry("party/mediation_agreed", "party", {"mediator": "Max", "due": "16 March 2026"}),
        _entry("mediator/reminder", "mediator", {"due": "2026-03-16"}),
        # To whoever sent refused commands: it says nothing about any case.
        _entry("committee/commands_refused", "sender", {"token_mode": False, "proven": None}),
        # Inside the committee.
        _entry("committee/new_case", "committee", NEW_CASE),
        # the same facts, flagged first; `followup_from`: who wrote the follow-up that made it so
        _entry("committee/urgent", "committee", NEW_CASE | {"followup_from": None}),
        _entry(
            "committee/followup",
            "committee",
            {
                "party": "reporter",
                "from": "reporter@example.net",
                "fields_added": ["when"],
                "feedback": {"received": True, "consent": "agreed", "no_contact": True},
                "mediation": {
                    "answer": "agreed",
                    "done": "the reported person is asked now",
                    "mediator": None,
                },
                "text": "More",
                "attachments": [],
                "parts_left_out": 0,
            },
        ),
        _entry(
            "committee/delivery_problem",
            "committee",
            {"template": "reporter/ack", "problem": "bounced", "detail": "550 no such user"},
        ),
        _entry(
            "committee/command_result",
            "committee",
            {
                "state": "investigating",
                "urgent": False,
                "applied": True,
                "results": [{"line": "#note x", "status": "done", "detail": "noted"}],
                "captured": "",
                "previews": [],
            },
        ),
        _entry(
            "committee/resolution_preview",
            "committee",
            {
                "proposal": 1,
                "resolution": "private-reprimand",
                "by_council": False,
                "consulted": False,
                "previews": PREVIEWS,
            },
        ),
        _entry(
            "committee/command_outcome",
            "committee",
            {
                # one entry per command-only mail (archive/commands/outcome.py)
                "items": [_OUTCOME_ENTRY],
                "folded_into": False,  # True: rendered as the lines another notice carries
                "state": "deliberating",
                "urgent": False,
            },
        ),
        _entry("committee/relay", "committee", {"subject": "Re: x", "text": "t", "author": "Bob"}),
        _entry(
            "committee/resolution_copy",
            "committee",
            {"resolution": "private-reprimand", "template": "reported/private_reprimand"}
            | RESOLUTION,
        ),
        _entry(
            "committee/mail_held",
            "committee",
            {
                "item": 12,
                "template": "reported/private_reprimand",
                "reader": "the person responsible",
                "queued_by": "bob@example.org",
                "hits": [
                    {"what": "the reporter's name", "text": "Rita Reporter", "in": "statement"}
                ],
                "resolution": True,
            },
        ),
        _entry("committee/ack_overdue", "committee", {"opened_at": WHEN}),
        _entry("committee/timeline_request", "committee", {"update_in": "1 day"}),
        _entry("committee/deadlock", "committee", {"proposal": "hiatus"}),
        _entry("committee/returned", "committee", {"reason": "The committee can decide."}),
        _entry("committee/unilateral_reminder", "committee", {"since": WHEN}),
        _entry(
            "committee/feedback_wait_over",
            "committee",
            {"resolution": "hiatus", "enactor": "The chair", "blocked": None},
        ),
        _entry(
            "committee/catch_up",
            "committee",
            {
                "fired": [{"kind": "reporter-update", "due_at": WHEN, "hours_late": 3.5}],
                "skipped": [{"kind": "appeal-reminder", "due_at": WHEN, "hours_late": 120.0}],
                "held": [{"kind": "enact", "due_at": WHEN, "hours_late": 373.0}],
                "hold_after": "24 hours",
            },
        ),
        _entry("committee/unilateral", "committee", {"member": "Bob", "action": "removed"}),
        _entry(
            "committee/held",
            "committee",
            {
                "reason": "unknown or stale reply address",
                "from": "someone@example.net",
                "subject": "Re: [CoC-2026-001] Your report",
                "message_id": "<held-1@example.net>",
                "excerpt": "More about what happened.",
                "parts_left_out": 0,
            },
        ),
        _entry(
            "committee/held_folded",
            "committee",
            {
                "items": [
                    {
                        "archive_id": 7,
                        "message_id": "<held-2@example.net>",
                        "reason": "the sender is not a party of the case",
                        "at": WHEN,
                    }
                ]
            },
        ),
        _entry(
            "committee/held_summary",
            "committee",
            {"items": [{"message_id": "<x@example.net>", "reason": "unknown", "at": WHEN}]},
        ),
        _entry(
            "committee/quarantined",
            "committee",
            {"items": [{"archive_id": 7, "at": WHEN, "error": "ValueError: bad"}]},
        ),
        _entry(
            "committee/flood",
            "committee",
            {
                "addresses": "the reports and appeals addresses",
                "reason": "sender",
                "started_at": "2026-03-02 09:00",
                "burst": 10,
                "per_hour": 30,
                "quiet": "1 hour",
                "web_form": False,
            },
        ),
        _entry("committee/ban_expired", "committee", {"spaces": "chat"}),
        _entry("committee/ban_review", "committee", {"spaces": "chat", "since": "2026-01-01"}),
        _entry("committee/appeal_received", "committee", {"due": "16 March 2026"}),
        _entry("committee/appeal_decision", "committee", {"decision": "uphold", "text": "T"}),
        _entry("committee/mediation_update", "committee", {"what": "settled", "report": "R"}),
        _entry(
            "chair/conflict",
            "chair",
            # kind: applied (recorded), named (a non-reporter party's mail: none recorded),
            # not-applied (it would have left no member free); party: who wrote (a role)
            {"kind": "applied", "party": None, "conflicts": [_CONFLICT]},
        ),
        _entry(
            "council/conflict_not_applied",
            "council",
            {"kind": "not-applied", "party": "reporter", "conflicts": [_CONFLICT]},
        ),
        # The Executive Council.
        _entry(
            "council/resolution_report",
            "council",
            {
                "resolution": "private-reprimand",
                "violation": "yes",
                "opened_at": WHEN,
                "by_council": False,
                "brief": BRIEF,
            },
        ),
        _entry(
            "council/escalation",
            "council",
            {
                "reason": "deadlock",
                "state": "resolution-proposed",
                "opened_at": WHEN,
                "proposal": "hiatus",
                "votes": {"agree": 1, "object": 1, "abstain": 0},
                "brief": BRIEF,
            },
        ),
        _entry("council/digest", "council", DIGEST),
        _entry(
            "council/appeal",
            "council",
            {
                "appeal": 1,
                "appellant": "a@example.net",
                "by_party": True,
                "subject": "Appeal",
                "text": "T",
                "due": "2026-03-16",
                "brief": BRIEF,
            },
        ),
        _entry(
            "council/appeal_followup",
            "council",
            {"appeal": 1, "from": "a@example.net", "text": "More about my appeal."},
        ),
        _entry("council/appeal_reminder", "council", {"due": "2026-03-16"}),
        _entry("council/appeal_overdue", "council", {"due": "2026-03-16"}),
        _entry("council/report", "council", {"title": "Quarterly report: 2026 Q4", "text": "# R"}),
    )
}

READERS = {
    "reporter": "the reporter",
    "reported": "the person responsible",
    "venue": "the venue",
    "core": "the core team",
    "appellant": "the appellant",
    "party": "a party of the case",
    "mediator": "the mediator",
    "sender": "the sender of refused commands",
    "committee": "the committee",
    "chair": "the chair",
    "council": "the Executive Council",
}


def template(name: str) -> Template:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownTemplate(f"{name!r} is not in the template catalogue") from None


def send_context(name: str, case_fields: dict) -> dict:
    """The fields of a template `#send` sends: what the case still lacks, when it asks for it
    (the case's fields as they are when the mail is queued, links among them)."""
    if "missing" not in template(name).fields:
        return {}
    return {"missing": [n for n in (*ASKED_FIELDS, "links") if not case_fields.get(n)]}


def fit_context(name: str, context: dict) -> dict:
    """The context kept to the fields the template may show.

    A field the catalogue does not list is a bug in the caller: dropped (and logged) in
    service, an error under CASEBOOK_STRICT_TEMPLATES=1, which the test suite sets.
    """
    spec = template(name)
    fields = spec.fields | (FOLDED_FIELDS if spec.reader == "committee" else frozenset())
    extra = sorted(set(context) - fields)
    if extra:
        if os.environ.get("CASEBOOK_STRICT_TEMPLATES") == "1":
            raise UnknownTemplate(f"{name}: fields {extra} are not in the catalogue")
        log.error("template %s: fields %s are not in the catalogue; left out", name, extra)
    return {k: v for k, v in context.items() if k in fields}
