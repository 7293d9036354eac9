"""#responsible NAME-OR-ADDRESS: the person responsible, who resolutions are addressed to."""

from archive.commands.base import Command, Context, Refused
from archive.record.address_grammar import split_address
from archive.record.cases import add_party, parties_of


def run(ctx: Context, args: str) -> str:
    if not args:
        raise Refused("#responsible needs a name or an address")
    email, name = split_address(args)
    name = name or None
    if email and ctx.settings.person_for(email):
        raise Refused("a committee or council member cannot be named here; use #conflict")
    for party in parties_of(ctx.db, ctx.case, "reported"):
        if (email and party.email == email) or (not email and party.name == name):
            raise Refused("that person is already recorded as responsible")
    add_party(ctx.db, ctx.case, role="reported", name=name, email=email, now=ctx.now)
    ctx.event("responsible-recorded", {"name": name, "email": email})
    return f"recorded as responsible: {name or ''} <{email or 'no address'}>"


COMMAND = Command("responsible", "#responsible NAME-OR-ADDRESS", "record who is responsible", run)
