"""#responsible NAME-OR-ADDRESS: the person responsible, who resolutions are addressed to.

A committee or council member can be the person responsible (a report about one of them),
named by address or by their configured name: the manual keeps them out of the case, so naming
them records their conflict too, unless no member would be left free to decide it.
"""

from archive.arrivals.conflicts import left_free
from archive.commands.base import Command, Context, Refused
from archive.record.address_grammar import split_address
from archive.record.cases import add_party, parties_of, set_conflicted
from archive.record.settings import Person


def run(ctx: Context, args: str) -> str:
    if not args:
        raise Refused("#responsible needs a name or an address")
    email, name = split_address(args)
    name = name or None
    member = ctx.settings.person_for(email) if email else _member_named(ctx, name)
    if member and not email:  # "#responsible Bob Member": the member's own address
        email = member.email.lower()
    for party in parties_of(ctx.db, ctx.case, "reported"):
        if (email and party.email == email) or (not email and party.name == name):
            raise Refused("that person is already recorded as responsible")
    kept_out = _keep_out(ctx, member) if member else ""
    add_party(ctx.db, ctx.case, role="reported", name=name, email=email, now=ctx.now)
    ctx.event("responsible-recorded", {"name": name, "email": email})
    return f"recorded as responsible: {name or ''} <{email or 'no address'}>{kept_out}"


def _member_named(ctx: Context, name: str | None) -> Person | None:
    """The member or council member whose configured name is exactly `name`, if any."""
    wanted = " ".join((name or "").split()).lower()
    people = (*ctx.settings.members, *ctx.settings.council)
    return next((p for p in people if wanted and p.name.lower() == wanted), None)


def _keep_out(ctx: Context, member: Person) -> str:
    """A member named responsible takes no part in the case: their conflict, recorded now if
    it was not (never the sender's own, and never the last free member's)."""
    address = member.email.lower()
    if address in ctx.case.excluded():
        return f" ({member.name} is already kept out of this case)"
    if member == ctx.actor:
        raise Refused("you cannot name yourself responsible: another member records it")
    if not left_free(ctx.settings, ctx.case, {address}):
        raise Refused(f"{member.name} is the last member free to decide this case")
    set_conflicted(ctx.db, ctx.case, [*ctx.case.conflicted, address], ctx.now)
    ctx.event("conflict-recorded", {"member": address, "reason": "named responsible"})
    ctx.reload()
    return (
        f"; {member.name} is conflicted: they take no part in the case and receive only the"
        " resolution's mail to the person responsible"
    )


COMMAND = Command("responsible", "#responsible NAME-OR-ADDRESS", "record who is responsible", run)
