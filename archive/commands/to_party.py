"""#to-party reported|witness [ADDRESS]|ADDRESS: the rest of the message to someone involved.

It goes from the committee's address with the party's own reply address, so an answer threads
back into the case as their follow-up. No member is named; the leak guard checks it.
"""

from archive.commands.base import Command, Context, Refused
from archive.record.address_grammar import is_address
from archive.record.cases import Party, add_party, parties_of, party_for_address
from archive.record.outbox import Audience

USAGE = "#to-party reported|witness [ADDRESS]|ADDRESS, with the message below the command block"
# The reader each role is for, as the catalogue and the leak guard know it.
TEMPLATES = {"reported": "reported/message"}


def run(ctx: Context, args: str) -> str:
    words = args.split()
    if not words:
        raise Refused(USAGE)
    text = ctx.body.strip()
    if not text:
        raise Refused("#to-party needs the message below the command block")
    parties = _addressees(ctx, words[0].lower(), words[1:])
    reachable = [p for p in parties if p.email and not p.no_contact]
    if not reachable:
        raise Refused(f"no {words[0]} on this case can be reached (no address, or no contact)")
    for party in reachable:
        template = TEMPLATES.get(party.role, "party/message")
        ctx.queue(template, Audience.PARTY, {"text": text}, party=party, auto_submitted="no")
    ctx.event("message-to-party", {"to": [p.role for p in reachable], "length": len(text)})
    sent = f"sent to {len(reachable)} {words[0]} from the committee's address"
    return sent + ctx.unsent_attachments()


def _addressees(ctx: Context, what: str, rest: list[str]) -> list[Party]:
    if what == "reported":
        return parties_of(ctx.db, ctx.case, "reported")
    if what == "witness":
        if not rest:
            return parties_of(ctx.db, ctx.case, "witness")
        return [_party(ctx, rest[0], "witness")]
    return [_party(ctx, what, "party")]


def _party(ctx: Context, text: str, role: str) -> Party:
    if not is_address(text.strip("<>"), dotted=True):
        raise Refused(f"{text!r} is not an address; {USAGE}")
    address = text.strip("<>").lower()
    if ctx.settings.person_for(address):
        raise Refused(f"{address} is a committee or council member: write to them directly")
    if address in ctx.settings.own_addresses():
        raise Refused(f"{address} is one of casebook's own addresses")
    known = party_for_address(ctx.db, ctx.case, address)
    if known is not None and known.role not in ("member", "council"):
        return known
    return add_party(ctx.db, ctx.case, role=role, name=None, email=address, now=ctx.now)


COMMAND = Command(
    "to-party",
    "#to-party reported|witness [ADDRESS]|ADDRESS",
    "send the rest of the message to someone involved, from the committee's address",
    run,
)
