"""Hand-worked due dates per regime (shared/LEGAL.md), and the trace that explains them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dsar.deadlines import ClockEvent, add_business_days, add_months, compute
from dsar.models import RequestKind as K
from dsar.rules import REGIMES


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def ev(action: str, day: str, reason: str = "r") -> ClockEvent:
    return ClockEvent(action, date.fromisoformat(day), reason)


# regime, kind, received (UTC noon), clock events, respond by, acknowledge by: worked by hand
# from shared/LEGAL.md and the holiday calendars, not from the code under test.
CASES = [
    ("gdpr", K.ACCESS, "2026-01-16", (), "2026-02-16", None),
    ("gdpr", K.ACCESS, "2026-01-31", (), "2026-02-28", None),  # no 31 February: last day
    ("gdpr", K.DELETION, "2028-01-31", (), "2028-02-29", None),  # leap year
    ("gdpr", K.ACCESS, "2026-12-15", (), "2027-01-15", None),  # across the year end
    ("gdpr", K.ACCESS, "2026-03-31", (), "2026-04-30", None),
    ("gdpr", K.ACCESS, "2026-02-28", (), "2026-03-28", None),  # a Saturday: GDPR not rolled
    ("gdpr", K.OPT_OUT, "2026-05-31", (), "2026-06-30", None),
    ("gdpr", K.ACCESS, "2027-12-31", (), "2028-01-31", None),
    ("gdpr", K.PORTABILITY, "2028-02-29", (), "2028-03-29", None),
    ("uk_gdpr", K.ACCESS, "2026-01-31", (), "2026-03-02", None),  # 28 Feb is a Saturday
    ("uk_gdpr", K.ACCESS, "2026-11-25", (), "2026-12-29", None),  # Christmas, w/e, Boxing Day
    ("uk_gdpr", K.ACCESS, "2026-04-03", (), "2026-05-05", None),  # Sun 3 May, bank hol. 4 May
    ("uk_gdpr", K.ACCESS, "2026-02-10", (), "2026-03-10", None),  # a plain Tuesday
    ("uk_gdpr", K.DELETION, "2026-03-28", (), "2026-04-28", None),
    ("uk_gdpr", K.ACCESS, "2026-07-31", (), "2026-09-01", None),  # late summer bank holiday
    ("uk_gdpr", K.ACCESS, "2026-12-01", (), "2027-01-04", None),  # New Year's Day, weekend
    ("uk_gdpr", K.CORRECTION, "2026-11-30", (), "2026-12-30", None),
    ("ccpa", K.ACCESS, "2026-11-23", (), "2027-01-07", "2026-12-09"),  # Thanksgiving + day after
    ("ccpa", K.DELETION, "2026-03-02", (), "2026-04-16", "2026-03-16"),
    ("ccpa", K.DELETION, "2026-03-25", (), "2026-05-09", "2026-04-09"),  # Cesar Chavez Day
    ("ccpa", K.ACCESS, "2026-12-21", (), "2027-02-04", "2027-01-06"),  # Christmas, New Year
    ("ccpa", K.CORRECTION, "2026-02-13", (), "2026-03-30", "2026-03-02"),  # Presidents' Day
    ("ccpa", K.OPT_OUT, "2026-12-14", (), "2027-01-06", None),  # Christmas, New Year's Day
    ("ccpa", K.OPT_OUT, "2026-11-20", (), "2026-12-15", None),  # Thanksgiving + day after
    ("ccpa", K.LIMIT_SENSITIVE, "2026-03-27", (), "2026-04-20", None),  # Cesar Chavez Day
    ("lgpd", K.ACCESS, "2026-03-10", (), "2026-03-25", "2026-03-10"),
    ("lgpd", K.DELETION, "2026-12-20", (), "2027-01-04", None),
    ("lgpd", K.OPT_OUT, "2026-02-20", (), "2026-03-07", None),
    ("lgpd", K.PORTABILITY, "2026-12-31", (), "2027-01-15", "2026-12-31"),
    ("us_va", K.ACCESS, "2026-01-10", (), "2026-02-24", None),
    ("us_va", K.OPT_OUT, "2026-12-01", (), "2027-01-15", None),
    ("us_co", K.OPT_OUT, "2026-02-01", (), "2026-03-18", None),
    ("us_co", K.ACCESS, "2026-11-30", (), "2027-01-14", None),
    ("us_ct", K.DELETION, "2026-06-30", (), "2026-08-14", None),
    ("us_ct", K.CORRECTION, "2026-10-17", (), "2026-12-01", None),
    ("qc_law25", K.ACCESS, "2026-02-01", (), "2026-03-03", None),
    ("qc_law25", K.CORRECTION, "2026-12-15", (), "2027-01-14", None),
    ("qc_law25", K.OPT_OUT, "2026-01-31", (), "2026-03-02", None),
    # Extensions: the whole span from receipt.
    ("gdpr", K.ACCESS, "2026-01-16", (ev("extend", "2026-01-20"),), "2026-04-16", None),
    ("gdpr", K.ACCESS, "2026-11-30", (ev("extend", "2026-12-10"),), "2027-02-28", None),
    ("uk_gdpr", K.ACCESS, "2026-01-31", (ev("extend", "2026-02-02"),), "2026-04-30", None),
    ("uk_gdpr", K.ACCESS, "2026-02-03", (ev("extend", "2026-02-05"),), "2026-05-05", None),
    ("ccpa", K.ACCESS, "2026-11-23", (ev("extend", "2026-12-01"),), "2027-02-21", "2026-12-09"),
    ("us_va", K.ACCESS, "2026-01-10", (ev("extend", "2026-02-01"),), "2026-04-10", None),
    # Pauses: the days the clock stood still are added.
    (
        "uk_gdpr",
        K.ACCESS,
        "2026-01-05",
        (ev("pause", "2026-01-10"), ev("resume", "2026-01-17")),
        "2026-02-12",
        None,
    ),
    (
        "uk_gdpr",
        K.ACCESS,
        "2026-01-05",
        (ev("pause", "2026-01-10"), ev("resume", "2026-01-11")),
        "2026-02-06",
        None,
    ),
    (
        "uk_gdpr",
        K.ACCESS,
        "2026-01-26",  # +2 days lands on Saturday 28 Feb: rolled to Monday
        (ev("pause", "2026-02-01"), ev("resume", "2026-02-03")),
        "2026-03-02",
        None,
    ),
    (
        "gdpr",
        K.ACCESS,
        "2026-03-01",
        (ev("pause", "2026-03-05"), ev("resume", "2026-03-15")),
        "2026-04-11",
        None,
    ),
    (
        "gdpr",
        K.ACCESS,
        "2026-01-16",
        (ev("pause", "2026-01-18"), ev("resume", "2026-01-21"), ev("extend", "2026-01-25")),
        "2026-04-19",
        None,
    ),
    # A pause still open on 20 January: ten days so far.
    ("uk_gdpr", K.ACCESS, "2026-01-05", (ev("pause", "2026-01-10"),), "2026-02-16", None),
]


@pytest.mark.parametrize(("regime", "kind", "received", "events", "respond_by", "ack_by"), CASES)
def test_due_dates_match_hand_worked_cases(
    regime: str,
    kind: K,
    received: str,
    events: tuple[ClockEvent, ...],
    respond_by: str,
    ack_by: str | None,
) -> None:
    due = compute(regime, kind, at(received), "UTC", events=events, today=date(2026, 1, 20))
    assert due.respond_by == date.fromisoformat(respond_by)
    assert due.acknowledge_by == (date.fromisoformat(ack_by) if ack_by else None)


def test_the_table_has_at_least_forty_cases_across_every_regime() -> None:
    assert len(CASES) >= 40
    assert {c[0] for c in CASES} == set(REGIMES)


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        ("2026-03-01T07:30:00+00:00", "America/Los_Angeles", "2026-04-14"),  # still 28 Feb
        ("2026-03-01T07:30:00+00:00", "UTC", "2026-04-15"),
    ],
)
def test_ccpa_receipt_day_is_the_company_day(moment: str, zone: str, expected: str) -> None:
    due = compute("ccpa", K.ACCESS, datetime.fromisoformat(moment), zone)
    assert due.respond_by == date.fromisoformat(expected)


def test_uk_receipt_after_midnight_summer_time_counts_from_the_next_day() -> None:
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): due Saturday 1 August,
    # rolled to Monday 3 August.
    moment = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    assert compute("uk_gdpr", K.ACCESS, moment, "Europe/London").respond_by == date(2026, 8, 3)
    assert compute("uk_gdpr", K.ACCESS, moment, "UTC").respond_by == date(2026, 7, 30)


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
