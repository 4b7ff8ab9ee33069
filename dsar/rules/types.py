"""The shapes of a rule set. Every value that comes from the law carries its citation."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dsar.models import RequestKind


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
class Extension:
    """More time, added to the first deadline; notice (with the reason) before it expires."""

    period: Period
    citation: str
    notice_required: bool = True
    reason_required: bool = True
    # The person must be told before the first deadline passes.
    notice_by_first_deadline: bool = True
    note: str = ""


@dataclass(frozen=True)
class Pause:
    """The clock may stop while the company waits for the person (identity, clarification)."""

    grounds: tuple[str, ...]
    citation: str
    note: str = ""


@dataclass(frozen=True)
class Requirement:
    level: Verification
    citation: str


@dataclass(frozen=True)
class DenialReason:
    key: str
    label: str
    citation: str
    free_text_required: bool = False


@dataclass(frozen=True)
class Appeal:
    """A refused person may appeal; the company decides within `decide_within`, in writing,
    and when it refuses the appeal tells the person how to complain to `authority`."""

    decide_within: Period
    citation: str
    extension: Period | None = None
    note: str = ""
    # Who takes a complaint after a refused appeal, and where (the law asks for an online
    # mechanism where one is available).
    authority: str = ""
    complaint_url: str = ""


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
    extension: Extension | None = None
    no_extension_kinds: frozenset[RequestKind] = frozenset()
    pause: Pause | None = None
    verification: dict[RequestKind, Requirement] = field(default_factory=dict)
    default_verification: Requirement = Requirement(Verification.EMAIL, "")
    denials: tuple[DenialReason, ...] = ()
    appeal: Appeal | None = None
    complaint: str = ""
    notes: tuple[str, ...] = ()

    def respond_period(self, kind: RequestKind, *, appeal: bool = False) -> Period:
        if appeal and self.appeal is not None:
            return self.appeal.decide_within
        return self.respond_by_kind.get(kind, self.respond)

    def acknowledge_period(self, kind: RequestKind, *, appeal: bool = False) -> Period | None:
        return None if appeal else self.acknowledge_by_kind.get(kind)

    def extension_for(self, kind: RequestKind, *, appeal: bool = False) -> Extension | None:
        if appeal:
            if self.appeal is None or self.appeal.extension is None:
                return None
            more = self.appeal.extension
            return Extension(more, citation=more.citation, note=self.appeal.note)
        return None if kind in self.no_extension_kinds else self.extension

    def verification_for(self, kind: RequestKind) -> Requirement:
        return self.verification.get(kind, self.default_verification)

    def denial(self, key: str) -> DenialReason | None:
        return next((d for d in self.denials if d.key == key), None)
