"""Thin RQ jobs: take ids, call one service. They run inside `DsarWorker`'s app context.

Each is wrapped by `no_database_values`: a database error leaves a job as a message that
quotes no value, for the worker's log and the failed job's record in Redis.
"""

from __future__ import annotations

from rq import get_current_job

from dsar.logs import no_database_values
from dsar.services import (
    answers,
    choice_sync,
    notifications,
    reconcile,
    reminders,
    transfer,
    workflow,
)


@no_database_values
def run_system_task(task_id: int) -> None:
    """Locate, erase or opt out in one data system for one request."""
    job = get_current_job()
    last_attempt = job is None or not job.retries_left
    workflow.run_task(task_id, last_attempt=last_attempt)


@no_database_values
def sync_choice(receipt_id: int) -> None:
    """Carry a person's change of choice to one data system."""
    job = get_current_job()
    choice_sync.run(receipt_id, last_attempt=job is None or not job.retries_left)


@no_database_values
def compile_response(request_id: int) -> None:
    """Render the request's answer PDF once every task is final."""
    answers.compile_response(request_id)


@no_database_values
def send_portability_transfer(request_id: int) -> None:
    """POST a released portability package to the company the person named (Art. 20(2))."""
    job = get_current_job()
    transfer.send(request_id, last_attempt=job is None or not job.retries_left)


@no_database_values
def deliver_webhook(delivery_id: int) -> None:
    """POST one signed event to an integrator's endpoint; RQ retries a failed try."""
    from dsar.services import webhook_delivery

    job = get_current_job()
    webhook_delivery.deliver(
        delivery_id,
        job_id=job.id if job is not None else None,
        last_attempt=job is None or not job.retries_left,
    )


@no_database_values
def send_deadline_reminders() -> None:
    """Acknowledge what is owed, remind officers of due dates, flag overdue requests."""
    reminders.run()


@no_database_values
def send_notification_digests() -> None:
    """Email the staff who chose a daily digest what needs them."""
    notifications.send_digests()


@no_database_values
def reconcile_tasks() -> None:
    """Send again the work whose jobs Redis lost (flushed, restarted, worker killed)."""
    reconcile.run()


@no_database_values
def chase_manual_tasks() -> None:
    """Remind owners of systems with no API, and escalate their overdue tasks."""
    from dsar.services import manual_chase

    manual_chase.chase()


@no_database_values
def purge_expired_data() -> None:
    """Purge located data past its retention; strip identities from old records."""
    from dsar.services import retention

    retention.run()


@no_database_values
def checkpoint_audit_chain() -> None:
    """Sign the audit chain's head into DSAR_AUDIT_DIR, outside the database."""
    from dsar.services import checkpoints

    checkpoints.write()
