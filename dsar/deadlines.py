"""Compute a request's due dates from its regime's rules, with the reason for each date.

This is the one module that turns a moment of receipt into legal deadlines. Each result carries
a trace of plain-language steps with citations, shown to officers and to the person.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

from dsar.models import RequestKind
from dsar.rules import Period, Unit, regime


@dataclass(frozen=True)
class Deadline:
    received_on: date
    respond_by: date
    acknowledge_by: date | None
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


def apply_period(received_on: date, period: Period) -> tuple[date, list[str]]:
    """End date of `period` counted from the day of receipt, and the steps that led there."""
    if period.unit is Unit.MONTHS:
        end = add_months(received_on, period.amount)
        plural = "month" if period.amount == 1 else "months"
        steps = [f"{period.amount} calendar {plural} ({period.citation}) → {_fmt(end)}"]
    elif period.unit is Unit.BUSINESS_DAYS:
        end = add_business_days(received_on, period.amount, period.calendar)
        where = f" and {period.calendar[1]} holidays" if period.calendar else ""
        steps = [
            f"{period.amount} business days, skipping weekends{where} ({period.citation}) "
            f"→ {_fmt(end)}"
        ]
    else:
        end = received_on + timedelta(days=period.amount)
        steps = [f"{period.amount} calendar days ({period.citation}) → {_fmt(end)}"]
    if period.counting_note:
        steps.append(f"Counting rule: {period.counting_note}.")
    if period.roll_to_working_day:
        rolled = next_working_day(end, period.calendar)
        if rolled != end:
            steps.append(f"{_fmt(end)} is not a working day → next working day {_fmt(rolled)}")
            end = rolled
    return end, steps


def received_on(received_at: datetime, tz_name: str) -> date:
    """The calendar day of receipt in the company's time zone."""
    return received_at.astimezone(ZoneInfo(tz_name)).date()


def compute(regime_key: str, kind: RequestKind, received_at: datetime, tz_name: str) -> Deadline:
    rules = regime(regime_key)
    day = received_on(received_at, tz_name)
    trace = [f"Received {_fmt(day)} ({tz_name})."]
    respond_by, steps = apply_period(day, rules.respond_period(kind))
    trace += ["Response: " + steps[0], *steps[1:]]
    acknowledge_by = None
    ack = rules.acknowledge_period(kind)
    if ack is not None:
        acknowledge_by, ack_steps = apply_period(day, ack)
        trace += ["Acknowledgement: " + ack_steps[0], *ack_steps[1:]]
    return Deadline(day, respond_by, acknowledge_by, trace)
