"""Hand-worked due dates per regime (shared/LEGAL.md), and the trace that explains them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dsar.deadlines import add_business_days, add_months, compute
from dsar.models import RequestKind as K


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


CASES = [
    # regime, kind, received (UTC noon), respond by, acknowledge by
    ("gdpr", K.ACCESS, "2026-01-16", "2026-02-16", None),
    ("gdpr", K.ACCESS, "2026-01-31", "2026-02-28", None),  # no 31 February: month's last day
    ("gdpr", K.DELETION, "2028-01-31", "2028-02-29", None),  # leap year
    ("gdpr", K.ACCESS, "2026-12-15", "2027-01-15", None),  # across the year end
    ("gdpr", K.ACCESS, "2026-03-31", "2026-04-30", None),
    ("uk_gdpr", K.ACCESS, "2026-01-31", "2026-03-02", None),  # 28 Feb is a Saturday
    ("uk_gdpr", K.ACCESS, "2026-11-25", "2026-12-29", None),  # Christmas, weekend, Boxing Day
    ("uk_gdpr", K.ACCESS, "2026-04-03", "2026-05-05", None),  # 3 May Sunday, 4 May bank hol.
    ("uk_gdpr", K.ACCESS, "2026-02-10", "2026-03-10", None),  # a plain Tuesday
    ("ccpa", K.ACCESS, "2026-11-23", "2027-01-07", "2026-12-09"),  # Thanksgiving + day after
    ("ccpa", K.DELETION, "2026-03-02", "2026-04-16", "2026-03-16"),
    ("ccpa", K.DELETION, "2026-03-25", "2026-05-09", "2026-04-09"),  # Cesar Chavez Day 31 Mar
    ("ccpa", K.OPT_OUT, "2026-12-14", "2027-01-06", None),  # Christmas and New Year's Day
    ("lgpd", K.ACCESS, "2026-03-10", "2026-03-25", "2026-03-10"),
    ("lgpd", K.DELETION, "2026-12-20", "2027-01-04", None),
    ("us_va", K.ACCESS, "2026-01-10", "2026-02-24", None),
    ("us_co", K.OPT_OUT, "2026-02-01", "2026-03-18", None),
    ("us_ct", K.DELETION, "2026-06-30", "2026-08-14", None),
    ("qc_law25", K.ACCESS, "2026-02-01", "2026-03-03", None),
]


@pytest.mark.parametrize(("regime", "kind", "received", "respond_by", "ack_by"), CASES)
def test_due_dates_match_hand_worked_cases(
    regime: str, kind: K, received: str, respond_by: str, ack_by: str | None
) -> None:
    due = compute(regime, kind, at(received), "UTC")
    assert due.respond_by == date.fromisoformat(respond_by)
    assert due.acknowledge_by == (date.fromisoformat(ack_by) if ack_by else None)


def test_the_day_of_receipt_is_taken_in_the_company_time_zone() -> None:
    moment = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    assert compute("gdpr", K.ACCESS, moment, "America/Los_Angeles").respond_by == date(2026, 2, 28)
    assert compute("gdpr", K.ACCESS, moment, "Europe/Berlin").respond_by == date(2026, 3, 1)


def test_trace_explains_each_step_with_its_citation() -> None:
    due = compute("uk_gdpr", K.ACCESS, at("2026-01-31"), "Europe/London")
    assert due.trace[0] == "Received Saturday 31 January 2026 (Europe/London)."
    assert "1 calendar month (UK GDPR Art. 12(3)" in due.trace[1]
    assert due.trace[-1] == (
        "Saturday 28 February 2026 is not a working day → next working day Monday 2 March 2026"
    )
    ccpa = compute("ccpa", K.ACCESS, at("2026-11-23"), "UTC")
    assert any("11 CCR 7021(b)" in step for step in ccpa.trace)
    assert any(step.startswith("Acknowledgement: 10 business days") for step in ccpa.trace)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-01-31", 1, "2026-02-28"),
        ("2026-08-31", 1, "2026-09-30"),
        ("2026-11-30", 3, "2027-02-28"),
        ("2026-05-15", 12, "2027-05-15"),
    ],
)
def test_add_months_clamps_to_the_last_day_of_short_months(
    start: str, months: int, expected: str
) -> None:
    assert add_months(date.fromisoformat(start), months) == date.fromisoformat(expected)


def test_business_days_skip_weekends_without_a_calendar() -> None:
    assert add_business_days(date(2026, 11, 27), 1, None) == date(2026, 11, 30)  # Fri -> Mon
    assert add_business_days(date(2026, 11, 23), 5, None) == date(2026, 11, 30)
