"""`rq cron workers.cron`: the periodic jobs (RQ's cron scheduler enqueues, workers run).

Several schedulers may run at once (one per host): every periodic job is idempotent.
"""

from rq import Queue, cron
from rq.serializers import JSONSerializer

from dsar import create_app
from dsar.queue import TASKS
from workers.jobs import send_deadline_reminders


class JsonQueue(Queue):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        kwargs.setdefault("serializer", JSONSerializer)
        super().__init__(*args, **kwargs)


# rq 2.12's CronJob.enqueue builds a plain Queue and ignores `rq cron --serializer`, so its
# jobs would be pickled and our JSON workers could not read them.
cron.Queue = JsonQueue  # type: ignore[misc]

_interval = create_app().config["DSAR_REMINDER_INTERVAL"]

cron.register(send_deadline_reminders, queue_name=TASKS, interval=_interval, job_timeout=600)
