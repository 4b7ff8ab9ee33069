"""The home page's charts as shapes and words: the template draws them as inline SVG.

No script and no charting library: each bar is a rectangle placed here, each value is also
printed as text beside its bar (readable without colour), and each chart has a table.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsar.services.dashboard_stats import Month, SystemFigures

# The month chart's drawing box, in SVG user units (11-unit text): the page scales it to
# its width, small enough to stay readable on a phone without scrolling sideways.
WIDTH, HEIGHT = 360, 190
LEFT, RIGHT, TOP, BOTTOM = 34, 2, 16, 32
PLOT_H = HEIGHT - TOP - BOTTOM
SLOT = (WIDTH - LEFT - RIGHT) / 12
BAR_W = round(SLOT * 0.64, 1)
NO_ANSWER = "\N{EN DASH}"  # a month in which no request was answered


def percent(part: int, whole: int) -> str:
    """A share as a whole percentage that never rounds a miss away: 199 of 200 is "99%"."""
    if not whole:
        return "no answers"
    if part == whole:
        return "100%"
    if part == 0:
        return "0%"
    return f"{min(99, max(1, round(100 * part / whole)))}%"


def duration(seconds: float | None) -> str:
    """12.5 → "13 s", 250 → "4 min", 5400 → "1.5 h", 200000 → "2.3 days"."""
    if seconds is None:
        return "no task succeeded"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@dataclass(frozen=True)
class MonthBar:
    label: str  # "Mar"
    year: str  # "2026" under each January (and the first bar), else ""
    name: str  # "March 2026"
    value: str  # "92%", or NO_ANSWER
    answered: int
    on_time: int
    x: float  # the slot's centre
    bar_x: float
    bar_y: float
    bar_h: float


def month_bars(months: list[Month]) -> list[MonthBar]:
    bars = []
    for n, m in enumerate(months):
        centre = LEFT + SLOT * (n + 0.5)
        height = PLOT_H * (m.rate or 0.0)
        # The year under each January, and under the first bar unless a January follows it
        # at once (two years side by side would run into each other).
        first = m.first_day.month == 1 or (n == 0 and m.first_day.month != 12)
        bars.append(
            MonthBar(
                label=f"{m.first_day:%b}",
                year=f"{m.first_day:%Y}" if first else "",
                name=f"{m.first_day:%B %Y}",
                value=percent(m.on_time, m.answered) if m.answered else NO_ANSWER,
                answered=m.answered,
                on_time=m.on_time,
                x=round(centre, 1),
                bar_x=round(centre - BAR_W / 2, 1),
                bar_y=round(TOP + PLOT_H - height, 1),
                bar_h=round(height, 1),
            )
        )
    return bars


def gridlines() -> list[tuple[str, float]]:
    """(label, y) for 0%, 50% and 100%."""
    return [(f"{p}%", round(TOP + PLOT_H * (1 - p / 100), 1)) for p in (0, 50, 100)]


@dataclass(frozen=True)
class SystemRow:
    name: str
    enabled: bool
    finished: int
    failed: int
    failure: str  # "12%", or "no tasks"
    failure_width: float  # 0-100, the bar's length in percent of the track
    median: str
    median_width: float


def _width(value: float, largest: float) -> float:
    if value <= 0 or largest <= 0:
        return 0.0
    return round(max(0.5, 100 * value / largest), 1)  # a sliver rather than nothing


def system_rows(systems: list[SystemFigures]) -> list[SystemRow]:
    """The failure bars share one scale (0-100%); the median bars another, the slowest
    system's median filling the track."""
    slowest = max((s.median_seconds or 0.0 for s in systems), default=0.0)
    return [
        SystemRow(
            name=s.name,
            enabled=s.enabled,
            finished=s.finished,
            failed=s.failed,
            failure=percent(s.failed, s.finished) if s.finished else "no tasks",
            failure_width=_width(s.failed, s.finished),
            median=duration(s.median_seconds) if s.finished else "no tasks",
            median_width=_width(s.median_seconds or 0.0, slowest),
        )
        for s in systems
    ]
