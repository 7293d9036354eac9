"""Command keywords: one module each (name, help, one function). Meaning is the archive's.

Intake finds `#keyword args` lines and authenticates the sender; this package decides what
each command does to a case (`execute.run_commands`).
"""

from archive.commands import (
    abstain,
    agree,
    appeal,
    assign,
    ban,
    clear_urgent,
    close,
    conflict,
    consult,
    drop,
    enact,
    escalate,
    help,
    mediation,
    merge,
    note,
    object,
    propose,
    recuse,
    release,
    reopen,
    responsible,
    return_case,
    send,
    status,
    summary,
    timeline,
    to_party,
    to_reporter,
    unban,
    unilateral,
    unmerge,
    urgent,
    violation,
)
from archive.commands.base import Command

COMMANDS: dict[str, Command] = {
    module.COMMAND.name: module.COMMAND
    for module in (
        help, status, assign, recuse, conflict, urgent, clear_urgent, note, summary, violation,
        responsible, propose, agree, object, abstain, consult, enact, send, to_reporter, merge,
        unmerge, timeline, unilateral, mediation, ban, unban, escalate, close, reopen, appeal,
        release, drop, return_case, to_party,
    )
}  # fmt: skip
