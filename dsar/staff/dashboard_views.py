"""The staff home: what waits on the team and on me, each count a link to exactly those
requests in the queue; how the deadlines and the data systems fare, as charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, render_template, url_for
from flask_login import current_user, login_required

from dsar import rules
from dsar.services import dashboard, dashboard_stats, reminders
from dsar.services.queue_query import COUNT_CAP
from dsar.staff import dashboard_charts as charts
from dsar.staff.queue_forms import status_label
from dsar.staff.views import ACTORS, bp


@dataclass(frozen=True)
class Tile:
    key: str  # the tile's id on the page
    count: str  # "12", or "1,000+" past the cap
    label: str
    url: str  # the queue, filtered to exactly the requests counted
    note: str = ""
    urgent: bool = False  # a count above zero here needs someone now


def _shown(n: int) -> str:
    return f"{COUNT_CAP:,}+" if n > COUNT_CAP else f"{n:,}"


def _systems(counts: list[dashboard.SystemCount]) -> str:
    return ", ".join(f"{s.name} ({_shown(s.requests)})" for s in counts)


def _tiles(work: dashboard.Work, mine: bool) -> list[Tile]:
    def queue(**args: Any) -> str:
        return url_for("staff.queue", **args)

    approval_note = f"{_shown(work.dry_run_done)} with the dry run finished in every system"
    tiles = [
        Tile("mine", _shown(work.mine), "open, assigned to you", queue(assignee="me")),
        Tile(
            "due-soon",
            _shown(work.due_soon),
            f"due within {dashboard.SOON_DAYS} days",
            queue(due_within=dashboard.SOON_DAYS),
            "overdue ones included",
        ),
        Tile("overdue", _shown(work.overdue), "overdue", queue(overdue=1), urgent=True),
        Tile(
            "approval",
            _shown(work.awaiting_approval),
            "awaiting approval",
            queue(status="awaiting_approval"),
            approval_note if work.awaiting_approval else "",
        ),
        Tile(
            "review",
            _shown(work.awaiting_review),
            "answers to review",
            queue(status="ready_for_review"),
        ),
        Tile(
            "appeals", _shown(work.appeals), "appeals to decide", queue(status="awaiting_decision")
        ),
        Tile(
            "owners",
            _shown(work.waiting_on_owners),
            "waiting on system owners",
            queue(waiting="owner"),
            _systems(work.owners),
        ),
        Tile(
            "failed",
            _shown(work.failed),
            "with a failed system",
            queue(waiting="failed"),
            _systems(work.failing),
            urgent=True,
        ),
    ]
    return tiles if mine else tiles[1:]


def _days_left(due_on: date, today: date) -> str:
    left = (due_on - today).days
    if left == 0:
        return "due today"
    if left > 0:
        return f"{left} day{'s' if left != 1 else ''} left"
    return f"{-left} day{'s' if left != -1 else ''} overdue"


@bp.get("/")
@login_required
def home() -> str:
    today = reminders.today_here()
    can_act = current_user.role in ACTORS  # auditors: no work of their own, no buttons
    work = dashboard.work(user_id=current_user.id, today=today, cap=COUNT_CAP)
    stats = dashboard_stats.statistics()
    zone = ZoneInfo(current_app.config["DSAR_TIMEZONE"])
    return render_template(
        "staff/home.html",
        today=today,
        can_act=can_act,
        tiles=_tiles(work, mine=can_act),
        urgent=work.urgent,
        days_left=lambda r: _days_left(r.due_on, today),
        status_label=status_label,
        kind_labels=rules.KIND_LABELS,
        stats=stats,
        computed_at=stats.computed_at.astimezone(zone),
        percent=charts.percent,
        month_bars=charts.month_bars(stats.months),
        gridlines=charts.gridlines(),
        chart=charts,
        system_rows=charts.system_rows(stats.systems),
        systems_busy=any(s.finished for s in stats.systems),
        refresh_minutes=int(dashboard_stats.MAX_AGE.total_seconds() // 60),
        sample=f"{dashboard_stats.SAMPLE:,}",
    )
