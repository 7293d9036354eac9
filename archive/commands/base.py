"""What every command module gets: a context over one case, and how to say no."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

from archive.appeals import blocking_appeal_of
from archive.cases import Case, get_case, record_event
from archive.clock import parse_date
from archive.lifecycle import StateError, move_case
from archive.models import CaseState, IncomingMessage
from archive.outbox import queue_mail
from archive.settings import Person, Settings
from archive.states import DONE_STATES


class Refused(Exception):
    """The command cannot run; the message says why, in words for the member."""


@dataclass
class Context:
    db: Database
    settings: Settings
    now: datetime
    case: Case
    actor: Person
    msg: IncomingMessage | None
    message_pk: int | None
    text_after: str  # the text after the command block: read it as `body`
    queued: list[str] = field(default_factory=list)
    command: str = ""  # the keyword running now: the reason its state changes give
    body_taken: bool = False  # a command read the text after the block (the transcript shows it)
    previews: list[dict] = field(default_factory=list)  # mail outside readers get (transcript)

    @property
    def body(self) -> str:
        """The text after the command block, as a command's body."""
        self.body_taken = self.body_taken or bool(self.text_after)
        return self.text_after

    def unsent_attachments(self) -> str:
        """For a transcript line: the message's attachments stay in the archive, never sent on
        with its text (a member's file is not vetted by the leak guard)."""
        count = len(self.msg.attachments) if self.msg else 0
        if not count:
            return ""
        files = "attachment was" if count == 1 else "attachments were"
        return f"; its {count} {files} not sent (only the text goes; they stay in the case)"

    def reload(self) -> Case:
        self.case = get_case(self.db, self.case.pk)
        return self.case

    def event(self, action: str, detail: dict | None = None) -> None:
        record_event(
            self.db,
            self.case,
            now=self.now,
            actor=self.actor.email,
            action=action,
            detail=detail,
            message_pk=self.message_pk,
        )

    def move_to(self, state: CaseState, reason: str | None = None) -> bool:
        """Move the case through the one door (`move_case`); False if it was there already."""
        previous = self.case.state
        if state in DONE_STATES and self.command != "appeal":
            self.refuse_while_appealed()
        try:
            self.case = move_case(self.db, self.case, state, now=self.now, actor=self.actor.email,
                                  reason=reason or f"#{self.command}",
                                  message_pk=self.message_pk)  # fmt: skip
        except StateError as error:
            raise Refused(f"the case is {previous}: {error}") from None
        return self.case.state != previous

    def refuse_while_appealed(self) -> None:
        """Refused while an appeal of the case is open: the council's #appeal decides it."""
        if blocking_appeal_of(self.db, self.case) is not None:
            raise Refused("an appeal of this case is open: the council decides it first")

    def date(self, text: str) -> datetime:
        """A DATE argument (YYYY-MM-DD, 09:00 in the committee's zone, or ISO time)."""
        try:
            return parse_date(text, self.settings.zone)
        except ValueError:
            raise Refused(f"{text!r} is not a date (use YYYY-MM-DD)") from None

    def queue(self, template: str, audience: str, context: dict, **options) -> str:
        message_id = queue_mail(
            self.db,
            now=self.now,
            settings=self.settings,
            template=template,
            audience=audience,
            case=self.case,
            context={"case_ref": self.case.ref, **context},
            actor=self.actor.email,
            **options,
        )
        self.queued.append(message_id)
        return message_id

    def active_members(self) -> list[Person]:
        """Members who take part in this case (not conflicted, not recused)."""
        excluded = self.case.excluded()
        return [m for m in self.settings.committee if m.email.lower() not in excluded]

    def member(self, text: str) -> Person:
        """A configured member named by address, alias or name."""
        wanted = text.strip().strip("<>").lower()
        for person in self.settings.committee:
            if person.matches_address(wanted) or person.name.lower() == wanted:
                return person
        raise Refused(f"{text.strip()!r} is not a member of the committee")


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    run: Callable[[Context, str], str]  # returns what was done, for the transcript
    council: bool = False  # an Executive Council command
    chair_only: bool = False
