"""The yearly request metrics a business must keep and, above a size, publish (CCPA 11 CCR
§ 7102(a)): per kind of request, how many were received, complied with in whole or in part,
and denied, and how long the answers took.

Counting rules, chosen once and stated on every copy of the report:
- a request belongs to the year in which it was received, in `DSAR_TIMEZONE` (the same day
  of receipt the deadlines use), whenever it was answered;
- *complied with in whole or in part* is status `completed`; *denied* is status `denied`,
  counted per denial reason; *closed without an answer* is `cancelled` (withdrawn, spam) or
  `duplicate`; everything else is *still open*; the four add up to *received*;
- *days to respond* are calendar days, in `DSAR_TIMEZONE`, from the day of receipt to the day
  of the substantive answer: `completed_at` for a completed or a denied request (the moment
  it was delivered, or the denial sent). Open and closed-without-answer requests have none.
- an appeal (Va. Code 59.1-577(C), C.R.S. 6-1-1306(3), Conn. Gen. Stat. 42-520(d)) is not a
  second request of its kind: appeals are counted apart, in the year they were filed, as
  granted, refused, withdrawn or still open, with the calendar days from filing to the
  written decision and whether it came by the appeal's due date.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from dsar import rules
from dsar.extensions import db
from dsar.models import Event, Request, RequestKind, RequestStatus
from dsar.rules.denials import LABELS as DENIAL_LABELS

FIRST_YEAR = 2000

# Always listed, in this order, even with no request: the kinds § 7102(a)(1) names.
CCPA_KINDS = (
    RequestKind.ACCESS,
    RequestKind.DELETION,
    RequestKind.CORRECTION,
    RequestKind.OPT_OUT,
    RequestKind.LIMIT_SENSITIVE,
)
KIND_NAMES = {
    RequestKind.ACCESS: "Access (request to know)",
    RequestKind.PORTABILITY: "Portability",
    RequestKind.DELETION: "Deletion",
    RequestKind.CORRECTION: "Correction",
    RequestKind.OPT_OUT: "Opt-out of sale or sharing",
    RequestKind.RESTRICTION: "Restriction",
    RequestKind.OBJECTION: "Objection",
    RequestKind.LIMIT_SENSITIVE: "Limit use of sensitive data",
}
CLOSED_OTHER = frozenset({RequestStatus.CANCELLED, RequestStatus.DUPLICATE})


@dataclass
class Row:
    """The figures for one kind, one regime, or all requests."""

    key: str
    label: str
    received: int = 0
    complied: int = 0
    denied: int = 0
    open: int = 0
    closed_other: int = 0
    denial_reasons: Counter[str] = field(default_factory=Counter)
    days: list[int] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return len(self.days)

    @property
    def median_days(self) -> float | None:
        return float(statistics.median(self.days)) if self.days else None

    @property
    def mean_days(self) -> float | None:
        if not self.days:
            return None
        mean = Decimal(sum(self.days)) / Decimal(len(self.days))
        return float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))

    def add(self, status: RequestStatus, reason: str, days: int | None) -> None:
        self.received += 1
        if status is RequestStatus.COMPLETED:
            self.complied += 1
        elif status is RequestStatus.DENIED:
            self.denied += 1
            self.denial_reasons[reason or "other"] += 1
        elif status in CLOSED_OTHER:
            self.closed_other += 1
        else:
            self.open += 1
        if days is not None and status in (RequestStatus.COMPLETED, RequestStatus.DENIED):
            self.days.append(days)


@dataclass
class Appeals:
    """The appeals filed in the year: how each was decided, and how fast."""

    received: int = 0
    granted: int = 0
    refused: int = 0
    withdrawn: int = 0
    open: int = 0
    on_time: int = 0
    days: list[int] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return len(self.days)

    @property
    def median_days(self) -> float | None:
        return float(statistics.median(self.days)) if self.days else None


@dataclass
class Metrics:
    year: int
    timezone: str
    generated_at: datetime
    by_kind: list[Row]
    by_regime: list[Row]
    total: Row
    appeals: Appeals = field(default_factory=Appeals)

    @property
    def denial_reasons(self) -> list[tuple[str, str]]:
        """Every denial reason used this year, as (key, label), in the rules' order."""
        used = self.total.denial_reasons
        return [(key, label) for key, label in DENIAL_LABELS.items() if used[key]]


def check_year(year: int, *, today: date | None = None) -> int:
    """A year the report can be about: from 2000 to next year (a year not over yet is fine)."""
    latest = (today or date.today()).year + 1
    if not FIRST_YEAR <= year <= latest:
        raise ValueError(f"Choose a year from {FIRST_YEAR} to {latest}.")
    return year


def _bounds(year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(year, 1, 1, tzinfo=tz).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=tz).astimezone(UTC)
    return start, end


def report(year: int) -> Metrics:
    """Count the requests received in `year` (company time zone), per kind and per regime."""
    tz_name = current_app.config["DSAR_TIMEZONE"]
    tz = ZoneInfo(tz_name)
    start, end = _bounds(year, tz)
    rows = db.session.execute(
        select(
            Request.kind,
            Request.regime,
            Request.status,
            Request.denial_reason,
            Request.received_at,
            Request.completed_at,
        ).where(
            Request.received_at >= start,
            Request.received_at < end,
            Request.appeal_of_id.is_(None),
            Request.lift_of_id.is_(None),  # an officer's lift is no request by the person
        )
    ).all()
    kinds = {k: Row(k.value, KIND_NAMES[k]) for k in CCPA_KINDS}
    regimes: dict[str, Row] = {}
    total = Row("all", "All requests")
    for kind, regime, status, reason, received_at, completed_at in rows:
        days = None
        if completed_at is not None:
            days = (completed_at.astimezone(tz).date() - received_at.astimezone(tz).date()).days
        if kind not in kinds:
            kinds[kind] = Row(kind.value, KIND_NAMES[kind])
        if regime not in regimes:
            name = rules.REGIMES[regime].name if regime in rules.REGIMES else regime
            regimes[regime] = Row(regime, name)
        for row in (kinds[kind], regimes[regime], total):
            row.add(status, reason, days)
    by_kind = [kinds[k] for k in RequestKind if k in kinds]
    by_regime = sorted(regimes.values(), key=lambda r: r.label)
    appeals = _appeals(start, end, tz)
    return Metrics(year, tz_name, datetime.now(UTC), by_kind, by_regime, total, appeals)


def _appeals(start: datetime, end: datetime, tz: ZoneInfo) -> Appeals:
    rows = db.session.execute(
        select(Request.id, Request.status, Request.received_at, Request.due_on).where(
            Request.received_at >= start,
            Request.received_at < end,
            Request.appeal_of_id.is_not(None),
        )
    ).all()
    decided = dict(
        db.session.execute(
            select(Event.request_id, Event.at).where(
                Event.action.in_(("appeal_granted", "appeal_refused")),
                Event.request_id.in_([row.id for row in rows]),
            )
        ).all()
    )
    out = Appeals()
    for appeal_id, status, received_at, due_on in rows:
        out.received += 1
        at = decided.get(appeal_id)
        if at is None:
            if status in CLOSED_OTHER:
                out.withdrawn += 1
            else:
                out.open += 1
            continue
        if status is RequestStatus.DENIED:
            out.refused += 1
        else:
            out.granted += 1
        day = at.astimezone(tz).date()
        out.days.append((day - received_at.astimezone(tz).date()).days)
        out.on_time += day <= due_on
    return out


CSV_FIGURES = ("received", "complied", "denied", "open", "closed_other", "answered")


def csv_rows(metrics: Metrics) -> list[list[str]]:
    """The report as a table: one line per kind, per regime and for all; a header first."""
    reasons = list(DENIAL_LABELS)
    header = ["year", "scope", "key", "label", *CSV_FIGURES, "median_days", "mean_days"]
    header += [f"denied_{key}" for key in reasons]
    lines = [header]
    scoped = [("kind", r) for r in metrics.by_kind] + [("regime", r) for r in metrics.by_regime]
    for scope, row in [*scoped, ("total", metrics.total)]:
        line = [str(metrics.year), scope, row.key, row.label]
        line += [str(getattr(row, name)) for name in CSV_FIGURES]
        line += [format_days(row.median_days), format_days(row.mean_days)]
        line += [str(row.denial_reasons[key]) for key in reasons]
        lines.append(line)
    # Appeals on a line of their own: complied = granted, denied = refused.
    a = metrics.appeals
    line = [str(metrics.year), "appeals", "appeals", "Appeals"]
    line += [str(n) for n in (a.received, a.granted, a.refused, a.open, a.withdrawn, a.decided)]
    line += [format_days(a.median_days), ""] + ["" for _ in reasons]
    lines.append(line)
    return lines


def format_days(value: float | None, empty: str = "") -> str:
    """12.0 as "12", 12.5 as "12.5"; no figure (nothing answered yet) as `empty`."""
    if value is None:
        return empty
    return f"{value:g}"
