"""What the kiosk knows about each library system (`[ils] kind`): what it does with a
checkout replayed by SIP2 (no block = Y, the transaction date, the nb due date), which
hand-over route keeps the patron's dates, and what staff check afterwards.

Read from the systems' own code (FORMATS.md section 4); "unknown" where nothing public says.
Data only: the CLI, the staff screen and the upload watcher decide from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Known(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class IlsProfile:
    kind: str
    name: str
    no_block: Known  # SIP2's no-block flag honoured (blocks skipped for a replayed checkout)
    keeps_checkout_time: Known  # SIP2: the loan dated at the transaction date, not at upload
    keeps_due_date: Known  # SIP2: the nb due date (the patron's receipt) kept
    sip2_replay: str  # what the ILS does with a replayed checkout, in one sentence
    route: str  # the hand-over that keeps the most of the patron's loan
    route_keeps: str  # what that route keeps
    export_format: str | None  # `kiosk spool export --format` for that route, if a file
    follow_up: str  # what staff check after the hand-over

    @property
    def replay_loses_something(self) -> bool:
        """Known to ignore no-block, or to drop a date: staff must agree before a replay."""
        return Known.NO in (self.no_block, self.keeps_checkout_time, self.keeps_due_date)

    @property
    def better_route(self) -> str:
        if self.export_format is None:
            return self.route
        return f"{self.route} (kiosk spool export --format {self.export_format})"

    def replay_warning(self) -> str | None:
        """The warning shown before a SIP2 upload, or None when nothing is known to be lost."""
        if not self.replay_loses_something:
            return None
        return f"{self.sip2_replay} To keep the patrons' dates, use {self.better_route} instead."


GENERIC = IlsProfile(
    kind="generic",
    name="a library system of unknown kind",
    no_block=Known.UNKNOWN,
    keeps_checkout_time=Known.UNKNOWN,
    keeps_due_date=Known.UNKNOWN,
    sip2_replay="Whether it honours SIP2's no-block and keeps the dates is not known.",
    route="SIP2 upload (kiosk spool upload), or a CSV export",
    route_keeps="whatever the ILS keeps",
    export_format=None,
    follow_up=(
        "Compare a few loans in the ILS with the patrons' receipts (checkout time, due date), "
        "then set [ils] kind."
    ),
)

PROFILES: dict[str, IlsProfile] = {
    p.kind: p
    for p in (
        IlsProfile(
            kind="koha",
            name="Koha",
            no_block=Known.YES,
            keeps_checkout_time=Known.NO,
            keeps_due_date=Known.UNKNOWN,
            sip2_replay=(
                "Koha honours SIP2's no-block but dates every loan at upload time (its due date "
                "from that moment, depending on the Koha version), and still refuses an item on "
                "loan to another patron and a patron blocked since."
            ),
            route="the Koha offline circulation file, .koc",
            route_keeps="checkout time (Koha computes the due date at import)",
            export_format="koc",
            follow_up=(
                "Circulation > Offline circulation: upload the .koc, process the queue, and "
                "check its log for refused lines; due dates are Koha's own (a special due date "
                "on a receipt is not carried)."
            ),
        ),
        IlsProfile(
            kind="evergreen",
            name="Evergreen",
            no_block=Known.NO,
            keeps_checkout_time=Known.NO,
            keeps_due_date=Known.NO,
            sip2_replay=(
                "Evergreen ignores SIP2's no-block: a replayed checkout runs as an ordinary one "
                "(blocks apply), dated now with Evergreen's own due date."
            ),
            route="Evergreen's offline transactions file, pending.xacts",
            route_keeps="checkout time and due date",
            export_format="evergreen",
            follow_up=(
                "Offline Circulation > Session Management: import, upload and process the "
                "session, then work through its exceptions (ACTOR_CARD_NOT_FOUND, "
                "OPEN_CIRCULATION_EXISTS, ...)."
            ),
        ),
        IlsProfile(
            kind="folio",
            name="FOLIO",
            no_block=Known.NO,
            keeps_checkout_time=Known.NO,
            keeps_due_date=Known.NO,
            sip2_replay=(
                "FOLIO's edge-sip2 ignores SIP2's no-block and the nb due date: a replayed "
                "checkout runs as an ordinary one (blocks apply), dated now with FOLIO's own "
                "due date."
            ),
            route=(
                "a CSV export entered through FOLIO's check-out API (loanDate, overrideBlocks) "
                "by your own script"
            ),
            route_keeps="checkout time and due date (set by the script)",
            export_format="csv",
            follow_up=(
                "Check the loans the ILS refused (blocked patrons, items on loan) and any due "
                "date that differs from the patron's receipt."
            ),
        ),
        IlsProfile(
            kind="polaris",
            name="Polaris",
            no_block=Known.UNKNOWN,
            keeps_checkout_time=Known.UNKNOWN,
            keeps_due_date=Known.UNKNOWN,
            sip2_replay=(
                "Nothing public says whether Polaris honours SIP2's no-block; its SIP self-check "
                "parameters can block a checkout."
            ),
            route="SIP2 upload (kiosk spool upload); Polaris's .TRN layout is not public",
            route_keeps="unknown: compare with the receipts",
            export_format=None,
            follow_up=(
                "Check the upload report's refusals and compare a few loans' dates with the "
                "patrons' receipts; review the SIP self-check parameters' blocks."
            ),
        ),
        IlsProfile(
            kind="sierra",
            name="Sierra",
            no_block=Known.UNKNOWN,
            keeps_checkout_time=Known.UNKNOWN,
            keeps_due_date=Known.UNKNOWN,
            sip2_replay="Nothing public says whether Sierra honours SIP2's no-block.",
            route="SIP2 upload (kiosk spool upload)",
            route_keeps="unknown: compare with the receipts",
            export_format=None,
            follow_up=(
                "Check the upload report's refusals and compare a few loans' dates with the "
                "patrons' receipts."
            ),
        ),
        GENERIC,
    )
}

KINDS = tuple(PROFILES)


def profile(kind: str) -> IlsProfile:
    return PROFILES.get(kind, GENERIC)
