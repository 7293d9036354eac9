"""The enforcement manual's ladder of resolutions: one row per resolution, read by everything.

`#propose` checks its arguments by `args`, `#consult` tells the reporter `consult`, `#enact`
refuses without a responsible person (`needs_responsible`) or the reporter's consent
(`needs_consent`) and sends `to_responsible` / `to_venue`, the reporter's notice says `done`,
the catalogue lists the templates, `#help` and docs/committee/running-a-case.md (Resolutions)
list the rows in this order.
"""

from __future__ import annotations

from dataclasses import dataclass

VENUE = "VENUE-ADDRESS"
DURATION = "DURATION"


@dataclass(frozen=True)
class Rung:
    name: str
    args: str  # the arguments `#propose NAME ARGS` needs ("[DURATION]": optional)
    consult: str  # how `#consult` describes it to the reporter
    done: str  # what the reporter is told was done (never to whom, never the statement)
    to_responsible: str | None = None  # template to each person responsible, on #enact
    to_venue: str | None = None  # template to the venue's address (the first argument)
    needs_consent: bool = False  # the reporter's explicit "yes" before #enact
    bans: bool = False  # enacting it records a ban (a notice to the core team too)
    enacted: bool = True  # False: arranged otherwise (mediation), never #enact

    @property
    def needs_responsible(self) -> bool:
        """Its mail goes to the person responsible: #enact needs one with an address."""
        return self.to_responsible is not None

    @property
    def usage(self) -> str:
        return f"{self.name} {self.args}".rstrip()


LADDER: tuple[Rung, ...] = (
    Rung(
        "no-action",
        "",
        "to take no further action",
        "the committee decided to take no further action",
    ),
    Rung(
        "mediation",
        "",
        "to offer voluntary mediation between the people involved",
        "",
        enacted=False,
    ),
    Rung(
        "public-reminder",
        VENUE,
        "a public reminder, in the place where it happened, of the behaviour the community expects",
        "a public reminder of the behaviour the community expects was posted where it happened",
        to_venue="venue/public_reminder",
    ),
    Rung(
        "private-reprimand",
        "",
        "a private reprimand to the person responsible",
        "the person responsible received a private reprimand",
        to_responsible="reported/private_reprimand",
    ),
    Rung(
        "public-reprimand",
        VENUE,
        "a public reprimand of the person responsible, in the place where it happened",
        "the person responsible was reprimanded publicly, where it happened",
        to_venue="venue/public_reprimand",
    ),
    Rung(
        "apology-request",
        "",
        "to ask the person responsible for an apology (only if you agree to this; you may"
        " also refuse any further contact with them)",
        "the person responsible was asked to apologise, as you agreed",
        to_responsible="reported/apology_request",
        needs_consent=True,
    ),
    Rung(
        "hiatus",
        "",
        "to ask the person responsible to take a break from the community",
        "the person responsible was asked to take a break from the community",
        to_responsible="reported/hiatus",
    ),
    Rung(
        "cooling-off",
        f"[{DURATION}]",
        "a mandatory cooling-off period for the person responsible",
        "the person responsible must observe a cooling-off period away from the community",
        to_responsible="reported/cooling_off",
    ),
    Rung(
        "temporary-ban",
        f"{DURATION} SPACES",
        "a temporary ban of the person responsible from some community spaces",
        "the person responsible is banned from some community spaces for a time",
        to_responsible="reported/ban_notice",
        bans=True,
    ),
    Rung(
        "permanent-ban",
        "SPACES",
        "a permanent ban of the person responsible from some community spaces",
        "the person responsible is banned permanently from some community spaces",
        to_responsible="reported/ban_notice",
        bans=True,
    ),
)
RUNGS: dict[str, Rung] = {rung.name: rung for rung in LADDER}


def rung(name: str) -> Rung:
    """The row of a resolution already checked by `#propose` (KeyError otherwise)."""
    return RUNGS[name]


def resolution_templates() -> dict[str, tuple[str, Rung]]:
    """Every template a resolution sends: its reader (`reported`, `venue`) and first row."""
    found: dict[str, tuple[str, Rung]] = {}
    for row in LADDER:
        if row.to_responsible:
            found.setdefault(row.to_responsible, ("reported", row))
        if row.to_venue:
            found.setdefault(row.to_venue, ("venue", row))
    return found
