"""Rule sets per regime, as data with the legal citation beside each value.

Facts from shared/LEGAL.md. Views, services and documents read these tables; nothing else in
the code branches on a regime's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dsar.models import RequestKind, TaskAction


class Unit(StrEnum):
    MONTHS = "months"
    DAYS = "days"
    BUSINESS_DAYS = "business_days"


class Verification(StrEnum):
    NONE = "none"  # only what is needed to locate the person
    EMAIL = "email"  # the person proves control of the address they gave


@dataclass(frozen=True)
class Period:
    """A span of time the law gives, and how it is counted."""

    amount: int
    unit: Unit
    citation: str
    # Weekend or public holiday at the end moves the date to the next working day.
    roll_to_working_day: bool = False
    # `holidays` package calendar: (country, subdivision).
    calendar: tuple[str, str | None] | None = None
    counting_note: str = ""


@dataclass(frozen=True)
class Regime:
    key: str
    name: str
    law: str
    summary: str  # plain words for the portal
    kinds: dict[RequestKind, str]  # allowed kind -> citation of the right
    respond: Period
    respond_by_kind: dict[RequestKind, Period] = field(default_factory=dict)
    acknowledge_by_kind: dict[RequestKind, Period] = field(default_factory=dict)
    complaint: str = ""

    def respond_period(self, kind: RequestKind) -> Period:
        return self.respond_by_kind.get(kind, self.respond)

    def acknowledge_period(self, kind: RequestKind) -> Period | None:
        return self.acknowledge_by_kind.get(kind)


# The product's automated action per kind. Kinds without one are handled by an officer.
ACTIONS: dict[RequestKind, TaskAction] = {
    RequestKind.ACCESS: TaskAction.LOCATE,
    RequestKind.PORTABILITY: TaskAction.LOCATE,
    RequestKind.DELETION: TaskAction.ERASE,
    RequestKind.OPT_OUT: TaskAction.OPT_OUT,
    RequestKind.LIMIT_SENSITIVE: TaskAction.OPT_OUT,
}

# Kinds the portal and API accept today: each has an automated path end to end.
OFFERED_KINDS: tuple[RequestKind, ...] = (
    RequestKind.ACCESS,
    RequestKind.DELETION,
    RequestKind.OPT_OUT,
)

KIND_LABELS: dict[RequestKind, str] = {
    RequestKind.ACCESS: "See the data held about me",
    RequestKind.PORTABILITY: "Get my data in a machine-readable file",
    RequestKind.DELETION: "Delete my data",
    RequestKind.CORRECTION: "Correct my data",
    RequestKind.OPT_OUT: "Stop selling, sharing or marketing with my data",
    RequestKind.RESTRICTION: "Restrict the use of my data",
    RequestKind.OBJECTION: "Object to the use of my data",
    RequestKind.LIMIT_SENSITIVE: "Limit the use of my sensitive data",
}

# CCPA 7025, 7026(d), 7027(e): no verification may be required for these.
VERIFICATION: dict[RequestKind, Verification] = {
    RequestKind.OPT_OUT: Verification.NONE,
    RequestKind.LIMIT_SENSITIVE: Verification.NONE,
}


def verification_for(kind: RequestKind) -> Verification:
    return VERIFICATION.get(kind, Verification.EMAIL)


_GDPR_KINDS = {
    RequestKind.ACCESS: "GDPR Art. 15",
    RequestKind.CORRECTION: "GDPR Art. 16",
    RequestKind.DELETION: "GDPR Art. 17",
    RequestKind.RESTRICTION: "GDPR Art. 18",
    RequestKind.PORTABILITY: "GDPR Art. 20",
    RequestKind.OBJECTION: "GDPR Art. 21(1)",
    RequestKind.OPT_OUT: "GDPR Art. 21(2)-(3) (direct marketing), Art. 7(3) (consent)",
}
_US_STATE_KINDS = {
    RequestKind.ACCESS: "right to access",
    RequestKind.CORRECTION: "right to correct",
    RequestKind.DELETION: "right to delete",
    RequestKind.PORTABILITY: "right to a portable copy",
    RequestKind.OPT_OUT: "right to opt out of targeted advertising, sale and profiling",
}
_CA = ("US", "CA")


def _state(key: str, name: str, law: str, section: str, appeal: str) -> Regime:
    return Regime(
        key=key,
        name=name,
        law=law,
        summary=(
            f"Residents of {name.split(' ')[0]} may see, correct, delete and take a copy of "
            "their data, and opt out of targeted advertising, sale and profiling."
        ),
        kinds={k: f"{law} {section}, {v}" for k, v in _US_STATE_KINDS.items()},
        respond=Period(45, Unit.DAYS, f"{law} {section}: 45 days"),
        complaint=appeal,
    )


REGIMES: dict[str, Regime] = {
    "gdpr": Regime(
        key="gdpr",
        name="European Union (GDPR)",
        law="Regulation (EU) 2016/679",
        summary=(
            "In the EU you may see the data we hold about you, correct it, have it deleted, "
            "restrict or object to its use, take a copy to another service, and stop direct "
            "marketing at any time."
        ),
        kinds=_GDPR_KINDS,
        respond=Period(
            1,
            Unit.MONTHS,
            "GDPR Art. 12(3)",
            counting_note=(
                "the day of receipt is not counted (Reg. 1182/71 Art. 3); the month ends on the "
                "same-numbered day, or on the month's last day when it has none"
            ),
        ),
        complaint="You may complain to your data protection supervisory authority (GDPR Art. 77).",
    ),
    "uk_gdpr": Regime(
        key="uk_gdpr",
        name="United Kingdom (UK GDPR)",
        law="UK GDPR and the Data Protection Act 2018, as amended by the DUA Act 2025",
        summary=(
            "In the UK you have the same rights as in the EU: see, correct, delete, restrict, "
            "object, take a copy, and stop direct marketing."
        ),
        kinds={k: v.replace("GDPR", "UK GDPR") for k, v in _GDPR_KINDS.items()},
        respond=Period(
            1,
            Unit.MONTHS,
            "UK GDPR Art. 12(3); ICO guidance on time limits",
            roll_to_working_day=True,
            calendar=("GB", "ENG"),
            counting_note=(
                "the day of receipt is day one; the month ends on the corresponding date, or the "
                "month's last day; a weekend or bank holiday moves it to the next working day"
            ),
        ),
        complaint="You may complain to the Information Commissioner's Office (ico.org.uk).",
    ),
    "ccpa": Regime(
        key="ccpa",
        name="California (CCPA/CPRA)",
        law="Cal. Civ. Code 1798.100 ff.; 11 CCR 7000 ff.",
        summary=(
            "California residents may know what personal information we collect, delete it, "
            "correct it, opt out of its sale or sharing, and limit the use of sensitive "
            "information. Opting out never needs proof of identity."
        ),
        kinds={
            RequestKind.ACCESS: "Civ. Code 1798.110, 1798.115 (right to know)",
            RequestKind.DELETION: "Civ. Code 1798.105 (right to delete)",
            RequestKind.CORRECTION: "Civ. Code 1798.106 (right to correct)",
            RequestKind.OPT_OUT: "Civ. Code 1798.120 (right to opt out of sale or sharing)",
            RequestKind.LIMIT_SENSITIVE: "Civ. Code 1798.121 (right to limit)",
        },
        respond=Period(
            45,
            Unit.DAYS,
            "11 CCR 7021(b): 45 calendar days from receipt, whatever time verification takes",
        ),
        respond_by_kind={
            RequestKind.OPT_OUT: Period(
                15, Unit.BUSINESS_DAYS, "11 CCR 7026(f): 15 business days", calendar=_CA
            ),
            RequestKind.LIMIT_SENSITIVE: Period(
                15, Unit.BUSINESS_DAYS, "11 CCR 7027(g): 15 business days", calendar=_CA
            ),
        },
        acknowledge_by_kind={
            kind: Period(10, Unit.BUSINESS_DAYS, "11 CCR 7021(a): 10 business days", calendar=_CA)
            for kind in (RequestKind.ACCESS, RequestKind.DELETION, RequestKind.CORRECTION)
        },
        complaint="You may contact the California Privacy Protection Agency (cppa.ca.gov).",
    ),
    "lgpd": Regime(
        key="lgpd",
        name="Brazil (LGPD)",
        law="Lei 13.709/2018",
        summary=(
            "In Brazil you may confirm that we process your data, see it, correct it, have it "
            "anonymised, blocked or deleted, take a copy, learn whom it is shared with, and "
            "withdraw consent."
        ),
        kinds={
            RequestKind.ACCESS: "LGPD Art. 18 I-II",
            RequestKind.CORRECTION: "LGPD Art. 18 III",
            RequestKind.RESTRICTION: "LGPD Art. 18 IV (blocking)",
            RequestKind.DELETION: "LGPD Art. 18 IV, VI",
            RequestKind.PORTABILITY: "LGPD Art. 18 V",
            RequestKind.OPT_OUT: "LGPD Art. 18 IX (revocation of consent)",
            RequestKind.OBJECTION: "LGPD Art. 18 §2",
        },
        respond=Period(
            15,
            Unit.DAYS,
            "LGPD Art. 19 II: 15 days for the full declaration",
            counting_note=(
                "calendar days; the Act sets 15 days for confirmation and access, and dsar "
                "applies it to the other kinds too (a product choice)"
            ),
        ),
        acknowledge_by_kind={
            kind: Period(0, Unit.DAYS, "LGPD Art. 19 I: simplified confirmation immediately")
            for kind in (RequestKind.ACCESS, RequestKind.PORTABILITY)
        },
        complaint="You may petition the ANPD (Autoridade Nacional de Proteção de Dados).",
    ),
    "us_va": _state(
        "us_va",
        "Virginia (VCDPA)",
        "Va. Code",
        "59.1-577",
        "You may appeal our decision; we decide appeals within 60 days, and you may then "
        "contact the Virginia Attorney General.",
    ),
    "us_co": _state(
        "us_co",
        "Colorado (CPA)",
        "C.R.S.",
        "6-1-1306",
        "You may appeal our decision within a reasonable time; we decide appeals within 45 "
        "days, and you may then contact the Colorado Attorney General.",
    ),
    "us_ct": _state(
        "us_ct",
        "Connecticut (CTDPA)",
        "Conn. Gen. Stat.",
        "42-520",
        "You may appeal our decision; we decide appeals within 60 days, and you may then "
        "contact the Connecticut Attorney General.",
    ),
    "qc_law25": Regime(
        key="qc_law25",
        name="Québec (Law 25)",
        law="Act respecting the protection of personal information in the private sector",
        summary=(
            "In Québec you may see and correct the information we hold, receive it in a "
            "structured format, and withdraw your consent."
        ),
        kinds={
            RequestKind.ACCESS: "s. 27",
            RequestKind.CORRECTION: "s. 28",
            RequestKind.PORTABILITY: "s. 27 (since 2024-09-22)",
            RequestKind.OPT_OUT: "s. 8.3 (withdrawal of consent)",
        },
        respond=Period(30, Unit.DAYS, "s. 32: 30 days, in writing; silence counts as refusal"),
        complaint="You may apply to the Commission d'accès à l'information.",
    ),
}


class UnknownRegime(KeyError):
    pass


def regime(key: str) -> Regime:
    try:
        return REGIMES[key]
    except KeyError:
        raise UnknownRegime(key) from None
