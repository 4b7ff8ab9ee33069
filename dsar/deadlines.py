"""Compute a request's due dates from its regime's rules and its clock history, with reasons.

This is the one module that turns a day of receipt (and any pauses or extension since) into
legal deadlines. Each result carries a trace of plain-language steps with citations, shown to
officers, to the person, and printed by `flask dsar explain-deadline`.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from dsar.models import RequestKind
from dsar.rules import Period, Regime, Unit, regime


class ClockError(ValueError):
    """The history asks for something the regime does not allow."""


@dataclass(frozen=True)
class ClockEvent:
    """A pause, a resume or an extension, on a calendar day, with the officer's reason."""

    action: str  # "pause" | "resume" | "extend"
    on: date
    reason: str = ""


@dataclass(frozen=True)
class Deadline:
    received_on: date
    acknowledge_by: date | None
    respond_by: date  # the date in force, after pauses and any extension
    first_respond_by: date  # before any extension
    extended_respond_by: date | None
    extension_notice_by: date | None  # last day to extend (and tell the person why)
    paused_since: date | None = None
    paused_days: int = 0
    trace: list[str] = field(default_factory=list)

    @property
    def basis(self) -> str:
        return "\n".join(self.trace)


def _fmt(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


@cache
def _calendar(country: str, subdiv: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdiv)


def _is_working_day(day: date, cal: tuple[str, str | None] | None) -> bool:
    if day.weekday() >= 5:
        return False
    return cal is None or day not in _calendar(*cal)


def add_months(start: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to that month's last day (31 Jan -> 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def add_business_days(start: date, days: int, cal: tuple[str, str | None] | None) -> date:
    """The `days`-th working day after `start`; `start` itself is not counted."""
    current, counted = start, 0
    while counted < days:
        current += timedelta(days=1)
        if _is_working_day(current, cal):
            counted += 1
    return current


def next_working_day(day: date, cal: tuple[str, str | None] | None) -> date:
    while not _is_working_day(day, cal):
        day += timedelta(days=1)
    return day


def _count(start: date, period: Period) -> tuple[date, str]:
    """End of `period` counted from `start`, before any roll to a working day."""
    if period.unit is Unit.MONTHS:
        end = add_months(start, period.amount)
        plural = "month" if period.amount == 1 else "months"
        return end, f"{period.amount} calendar {plural} ({period.citation}) → {_fmt(end)}"
    if period.unit is Unit.BUSINESS_DAYS:
        end = add_business_days(start, period.amount, period.calendar)
        where = f" and {period.calendar[1]} holidays" if period.calendar else ""
        return end, (
            f"{period.amount} business days, skipping weekends{where} ({period.citation}) "
            f"→ {_fmt(end)}"
        )
    end = start + timedelta(days=period.amount)
    return end, f"{period.amount} calendar days ({period.citation}) → {_fmt(end)}"


def _roll(end: date, period: Period) -> tuple[date, list[str]]:
    if not period.roll_to_working_day:
        return end, []
    rolled = next_working_day(end, period.calendar)
    if rolled == end:
        return end, []
    return rolled, [f"{_fmt(end)} is not a working day → next working day {_fmt(rolled)}"]


def apply_period(start: date, period: Period) -> tuple[date, list[str]]:
    """End date of `period` counted from `start`, rolled where the rule says, with steps."""
    end, step = _count(start, period)
    rolled, roll_steps = _roll(end, period)
    notes = [f"Counting rule: {period.counting_note}."] if period.counting_note else []
    return rolled, [step, *notes, *roll_steps]


def _paused_days(
    rules: Regime, events: list[ClockEvent], today: date
) -> tuple[int, date | None, list[str]]:
    """Days the clock stood still, the start of a pause still open, and the steps."""
    total, since, steps, reason = 0, None, [], ""
    for event in events:
        if event.action == "pause":
            if rules.pause is None:
                raise ClockError(f"{rules.name} has no pause of the clock")
            if since is None:
                since, reason = event.on, event.reason
        elif event.action == "resume" and since is not None:
            days = (event.on - since).days
            total += days
            steps.append(
                f"Clock paused {_fmt(since)} ({reason}) and resumed {_fmt(event.on)}: {days} "
                f"day{'s' if days != 1 else ''} added ({rules.pause.citation})"
            )
            since = None
    if since is not None:
        days = max(0, (today - since).days)
        total += days
        steps.append(
            f"Clock paused since {_fmt(since)} ({reason}): {days} day{'s' if days != 1 else ''} "
            f"so far; the date moves on every day until it resumes ({rules.pause.citation})"
        )
    return total, since, steps


def explain(
    regime_key: str,
    kind: RequestKind,
    received: date,
    *,
    events: Iterable[ClockEvent] = (),
    today: date | None = None,
    zone: str | None = None,
    appeal: bool = False,
) -> Deadline:
    """Every due date of a request received on `received`, given its clock history; for an
    appeal (received the day it was filed), the law's time to decide it."""
    rules = regime(regime_key)
    history = sorted(events, key=lambda e: e.on)
    today = today or date.today()
    what = "Appeal received" if appeal else "Received"
    trace = [f"{what} {_fmt(received)}" + (f" ({zone})." if zone else ".")]
    base = rules.respond_period(kind, appeal=appeal)
    raw, step = _count(received, base)
    trace.append(f"{'Decision' if appeal else 'Response'}: {step}")
    if base.counting_note:
        trace.append(f"Counting rule: {base.counting_note}.")
    paused, paused_since, pause_steps = _paused_days(rules, history, today)
    trace += pause_steps
    if paused:
        raw += timedelta(days=paused)
        trace.append(f"With {paused} paused day{'s' if paused != 1 else ''} → {_fmt(raw)}")
    first, roll_steps = _roll(raw, base)
    trace += roll_steps
    extension = rules.extension_for(kind, appeal=appeal)
    extended = None
    extend_event = next((e for e in history if e.action == "extend"), None)
    if extend_event is not None:
        if extension is None:
            raise ClockError(f"{rules.name} allows no extension for this kind of request")
        extended = _extended(received, base, extension.period, paused, trace, extend_event)
    ack = rules.acknowledge_period(kind, appeal=appeal)
    acknowledge_by = None
    if ack is not None:
        acknowledge_by, ack_steps = apply_period(received, ack)
        trace += ["Acknowledgement: " + ack_steps[0], *ack_steps[1:]]
    return Deadline(
        received_on=received,
        acknowledge_by=acknowledge_by,
        respond_by=extended or first,
        first_respond_by=first,
        extended_respond_by=extended,
        extension_notice_by=first if extension and extension.notice_by_first_deadline else None,
        paused_since=paused_since,
        paused_days=paused,
        trace=trace,
    )


def _extended(
    received: date,
    base: Period,
    more: Period,
    paused: int,
    trace: list[str],
    event: ClockEvent,
) -> date:
    """The extended date: the whole span counted from receipt (1 + 2 months, 45 + 45 days)."""
    if more.unit is base.unit:
        total = dataclasses.replace(more, amount=base.amount + more.amount)
        raw, _ = _count(received, total)
        unit = more.unit.value.replace("_", " ")
        step = f"{base.amount} + {more.amount} {unit} from receipt ({more.citation}) → {_fmt(raw)}"
    else:
        raw, step = _count(_count(received, base)[0], more)
    raw += timedelta(days=paused)
    trace.append(f"Extended on {_fmt(event.on)} ({event.reason}): {step}")
    if paused:
        trace.append(f"With {paused} paused day{'s' if paused != 1 else ''} → {_fmt(raw)}")
    end, roll_steps = _roll(raw, more)
    trace += roll_steps
    return end


def received_on(received_at: datetime, tz_name: str) -> date:
    """The calendar day of receipt in the company's time zone."""
    return received_at.astimezone(ZoneInfo(tz_name)).date()


def compute(
    regime_key: str,
    kind: RequestKind,
    received_at: datetime,
    tz_name: str,
    *,
    events: Iterable[ClockEvent] = (),
    today: date | None = None,
    appeal: bool = False,
) -> Deadline:
    """Due dates for a request received at `received_at`, counted in the company's zone."""
    day = received_on(received_at, tz_name)
    now = today or datetime.now(ZoneInfo(tz_name)).date()
    return explain(regime_key, kind, day, events=events, today=now, zone=tz_name, appeal=appeal)
