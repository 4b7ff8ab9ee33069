"""`rq cron workers.cron`: the periodic jobs (RQ's cron scheduler enqueues, workers run).

Several schedulers may run at once (one per host): every periodic job is idempotent.
"""

from rq import Queue, cron
from rq.serializers import JSONSerializer

from dsar import create_app
from dsar.queue import TASKS
from workers.jobs import (
    chase_manual_tasks,
    checkpoint_audit_chain,
    purge_expired_data,
    reconcile_tasks,
    send_deadline_reminders,
    send_notification_digests,
)


class JsonQueue(Queue):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("serializer", JSONSerializer)
        super().__init__(*args, **kwargs)


# rq 2.12's CronJob.enqueue builds a plain Queue and ignores `rq cron --serializer`, so its
# jobs would be pickled and our JSON workers could not read them.
cron.Queue = JsonQueue  # type: ignore[misc]

_config = create_app().config

cron.register(
    send_deadline_reminders,
    queue_name=TASKS,
    interval=_config["DSAR_REMINDER_INTERVAL"],
    job_timeout=600,
)
cron.register(
    chase_manual_tasks,
    queue_name=TASKS,
    interval=_config["DSAR_REMINDER_INTERVAL"],
    job_timeout=600,
)
cron.register(
    reconcile_tasks, queue_name=TASKS, interval=_config["DSAR_RECONCILE_INTERVAL"], job_timeout=300
)
cron.register(
    purge_expired_data,
    queue_name=TASKS,
    interval=_config["DSAR_RETENTION_INTERVAL"],
    job_timeout=3600,
)
cron.register(
    checkpoint_audit_chain,
    queue_name=TASKS,
    interval=_config["DSAR_CHECKPOINT_INTERVAL"],
    job_timeout=300,
)
cron.register(
    send_notification_digests,
    queue_name=TASKS,
    cron=_config["DSAR_DIGEST_CRON"],
    job_timeout=600,
)
