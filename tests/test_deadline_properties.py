"""Properties every due date keeps, over many generated receipts and clock histories."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dsar.deadlines import ClockEvent, explain, next_working_day
from dsar.models import RequestKind
from dsar.rules import REGIMES

DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))
REGIME_KIND = st.sampled_from(
    [(key, kind) for key, rules in REGIMES.items() for kind in rules.kinds]
)
PAUSABLE = st.sampled_from(
    [(key, kind) for key, rules in REGIMES.items() if rules.pause for kind in rules.kinds]
)
EXTENDABLE = st.sampled_from(
    [
        (key, kind)
        for key, rules in REGIMES.items()
        for kind in rules.kinds
        if rules.extension_for(kind)
    ]
)
SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(REGIME_KIND, DAYS)
def test_a_due_date_is_never_before_receipt(regime_kind: tuple, received: date) -> None:
    regime, kind = regime_kind
    due = explain(regime, kind, received, today=received)
    assert due.respond_by > received
    if due.acknowledge_by is not None:
        assert received <= due.acknowledge_by <= due.respond_by


@SETTINGS
@given(
    PAUSABLE,
    DAYS,
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=60),
)
def test_a_pause_never_makes_the_date_earlier(
    regime_kind: tuple, received: date, start: int, length: int
) -> None:
    regime, kind = regime_kind
    paused = received + timedelta(days=start)
    events = [ClockEvent("pause", paused), ClockEvent("resume", paused + timedelta(days=length))]
    plain = explain(regime, kind, received, today=received)
    with_pause = explain(regime, kind, received, events=events, today=received)
    assert with_pause.respond_by >= plain.respond_by
    assert with_pause.paused_days == length


@SETTINGS
@given(EXTENDABLE, DAYS, st.integers(min_value=0, max_value=30))
def test_an_extension_never_makes_the_date_earlier(
    regime_kind: tuple, received: date, after: int
) -> None:
    regime, kind = regime_kind
    plain = explain(regime, kind, received, today=received)
    extended = explain(
        regime,
        kind,
        received,
        events=[ClockEvent("extend", received + timedelta(days=after))],
        today=received,
    )
    assert extended.respond_by > plain.respond_by
    assert extended.first_respond_by == plain.respond_by
    assert extended.extended_respond_by == extended.respond_by


@SETTINGS
@given(DAYS)
def test_uk_dates_always_land_on_a_working_day(received: date) -> None:
    due = explain("uk_gdpr", RequestKind.ACCESS, received, today=received)
    assert next_working_day(due.respond_by, ("GB", "ENG")) == due.respond_by
