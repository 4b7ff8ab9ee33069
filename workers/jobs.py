"""Thin RQ jobs: take ids, call one service. They run inside `DsarWorker`'s app context."""

from __future__ import annotations

from rq import get_current_job

from dsar.services import processing, reconcile, reminders


def run_system_task(task_id: int) -> None:
    """Locate, erase or opt out in one data system for one request."""
    job = get_current_job()
    last_attempt = job is None or not job.retries_left
    processing.run_task(task_id, last_attempt=last_attempt)


def compile_response(request_id: int) -> None:
    """Render the request's answer PDF once every task is final."""
    processing.compile_response(request_id)


def send_deadline_reminders() -> None:
    """Acknowledge what is owed, remind officers of due dates, flag overdue requests."""
    reminders.run()


def reconcile_tasks() -> None:
    """Send again the work whose jobs Redis lost (flushed, restarted, worker killed)."""
    reconcile.run()


def chase_manual_tasks() -> None:
    """Remind owners of systems with no API, and escalate their overdue tasks."""
    from dsar.services import manual

    manual.chase()


def purge_expired_data() -> None:
    """Purge located data past its retention; strip identities from old records."""
    from dsar.services import retention

    retention.run()
