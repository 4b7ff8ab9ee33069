"""What needs the signed-in staff member, and how they hear of it (dsar.services.notifications)."""

from __future__ import annotations

from typing import Any

from flask import flash, has_request_context, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from dsar.services import notifications
from dsar.staff.views import bp


@bp.app_context_processor
def unread_notifications() -> dict[str, Any]:
    """The count in every staff page's header."""
    # Outside a request (an email a worker renders) nobody is signed in.
    if has_request_context() and current_user.is_authenticated:
        return {"unread_notifications": notifications.unread(current_user)}
    return {"unread_notifications": 0}


def _page(problem: str = "", status: int = 200) -> Any:
    notes = notifications.for_user(current_user)
    return (
        render_template(
            "staff/notifications.html",
            notes=notes,
            modes=notifications.MODES,
            mode=current_user.notify,
            problem=problem,
            unread_count=sum(1 for n in notes if n.read_at is None),
            next_digest=notifications.next_digest(),
        ),
        status,
    )


@bp.get("/notifications")
@login_required
def notifications_page() -> Any:
    return _page()


@bp.post("/notifications/read")
@login_required
def notifications_read() -> Any:
    done = notifications.mark_read(current_user)
    flash(f"{done} notification{'s' if done != 1 else ''} marked as read.", "info")
    return redirect(url_for("staff.notifications_page"))


@bp.post("/notifications/mode")
@login_required
def notifications_mode() -> Any:
    mode = request.form.get("mode", "")
    if mode not in notifications.MODES:
        return _page("Choose one of the three ways to hear of it.", 422)
    notifications.set_mode(current_user, mode)
    flash(f"Saved: {notifications.MODES[mode].lower()}.", "info")
    return redirect(url_for("staff.notifications_page"))
