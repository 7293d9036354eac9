"""RFC 3834 and loop rules: which messages casebook must never answer (SPEC §6)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from archive.record.settings import Settings
from intake.addresses import decode_words

LOOP_HEADER = "X-Casebook-Loop"
NULL_SENDERS = {"", "<>", "mailer-daemon", "postmaster"}
# "Out of Office: <the subject it answers>", as naive responders write it, in the languages
# their mailboxes speak; the subject may also be the words alone. Only mail that answers
# casebook counts (a reply, mail to a reply address, a case tag): a new report may well be
# about an office.
AUTO_SUBJECT_RE = re.compile(
    r"(?i)^(?:\[?(?:re|aw|fw|fwd|wg|sv|vs|antw|r|odp|vs|ynt)\]?\s*[:：]\s*)*\[?(?:"
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response|answer)|"
    r"autoreply|auto|abwesenheitsnotiz|abwesend|automatische antwort|r[ée]ponse automatique|"
    r"absence du bureau|absent du bureau|respuesta autom[áa]tica|fuera de la oficina|"
    r"resposta autom[áa]tica|ausente|fora do escrit[óo]rio|afwezigheidsbericht|"
    r"automatisch antwoord|afwezig|risposta automatica|fuori (?:sede|ufficio)|"
    r"automatisk svar|autosvar|fravær|frånvaro|poza biurem|automatyczna odpowied[źz]|"
    r"automaattinen vastaus|poissa|автоматический ответ|автоответ|нет на месте|"
    r"自動応答|自動返信|自动回复|不在|on vacation|vacation reply|on leave|"
    r"away from (?:the )?office)\]?"
    r"(?:\s+(?:auto-?reply|notification|notice|message|reply))?\s*(?:[:：]|$)"
    r"|^\[(?:auto-?reply|autoresponse|out of (?:the )?office)\]"
)
# Lines only casebook writes (the footer of a member's relayed mail): found outside any quote
# the reply reader recognised, they are casebook's mail pasted back whole, as a naive
# responder does. A person quotes with `>`, an attribution or a header block.
OWN_MAIL_RE = re.compile(r"(?i)re-sent by casebook\.\s+reply to write to the same people")


@dataclass(frozen=True)
class ReplyRule:
    reason: str | None  # why no automatic answer may go back; None: answering is fine
    automatic: bool  # the message itself is an auto-reply or bounce, never a report
    looped: bool = False


def check_reply_rules(
    message: Message,
    *,
    envelope_from: str,
    from_addr: str | None,
    settings: Settings,
    loop_id: str,
    answers_casebook: bool = False,
    unquoted: str = "",
) -> ReplyRule:
    """The first reason (if any) that forbids an automatic reply to this message.

    `answers_casebook`: the mail came to a reply address or names a case (then a subject of
    an automatic reply counts without In-Reply-To); `unquoted`: its text outside quotes.
    """
    if loop_id in (message.get_all(LOOP_HEADER) or []):
        return ReplyRule("carries casebook's own loop header", automatic=True, looped=True)
    if is_null_sender(envelope_from):
        return ReplyRule("null sender or MAILER-DAEMON", automatic=True)
    if from_addr and from_addr.split("@", 1)[0] in NULL_SENDERS:
        return ReplyRule("From is MAILER-DAEMON", automatic=True)
    if message.get_content_type() == "multipart/report":
        return ReplyRule("delivery or read report", automatic=True)
    auto_submitted = str(message.get("Auto-Submitted", "no")).strip().lower()
    if not auto_submitted.startswith("no"):
        return ReplyRule(f"Auto-Submitted: {auto_submitted}", automatic=True)
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if message.get(header) is not None:
            return ReplyRule(f"{header} header", automatic=True)
    is_reply = message.get("In-Reply-To") is not None or message.get("References") is not None
    subject = decode_words(str(message.get("Subject", "")))
    if (is_reply or answers_casebook) and is_auto_subject(subject):
        # Naive responders set none of the headers above; their subjects give them away.
        return ReplyRule("subject of an automatic reply", automatic=True)
    if quotes_own_mail(unquoted):
        return ReplyRule("casebook's own mail pasted back whole", automatic=True)
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return ReplyRule(f"Precedence: {precedence}", automatic=False)
    list_id = message.get("List-Id")
    if list_id is not None and not _is_committee_list(str(list_id), settings):
        return ReplyRule("mailing-list traffic (List-Id)", automatic=False)
    own = settings.own_addresses()
    if envelope_from.lower() in own or (from_addr or "") in own:
        return ReplyRule("sent from one of casebook's own addresses", automatic=False)
    return ReplyRule(None, automatic=False)


def is_auto_subject(subject: str) -> bool:
    """A subject as automatic replies write it ("Automatic reply: …", "Abwesenheitsnotiz")."""
    return AUTO_SUBJECT_RE.match(" ".join(subject.split())) is not None


def quotes_own_mail(unquoted: str) -> bool:
    """Casebook's own lines in what the sender wrote outside quotes: its mail sent back whole."""
    return OWN_MAIL_RE.search(" ".join(unquoted.split())) is not None


def is_null_sender(envelope_from: str) -> bool:
    """The envelope of a bounce or other daemon mail (RFC 3834 §2: never answered)."""
    local = envelope_from.lower().split("@", 1)[0]
    return envelope_from.strip() in ("", "<>") or local in NULL_SENDERS


def _is_committee_list(list_id: str, settings: Settings) -> bool:
    local, _, domain = settings.committee_list.lower().partition("@")
    return f"{local}.{domain}" in list_id.lower()
