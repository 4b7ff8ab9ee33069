"""`rq worker --worker-class workers.worker.DsarWorker`: jobs run inside a dsar app context.

The app is built once in the parent; each forked work horse drops the inherited database
connections (they must not be shared across processes) and pushes an app context. The jobs
module (and through it the connectors and WeasyPrint) is imported here, in the parent, so
that no work horse spends its first half second importing them again.
"""

from __future__ import annotations

from typing import Any

from rq import Worker
from rq.serializers import JSONSerializer

import workers.jobs  # noqa: F401 - imported once, inherited by every work horse
from dsar import create_app
from dsar.extensions import db


class DsarWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)
        self.app = create_app()

    def main_work_horse(self, *args: Any, **kwargs: Any) -> None:
        with self.app.app_context():
            db.engine.dispose(close=False)
        super().main_work_horse(*args, **kwargs)

    def perform_job(self, *args: Any, **kwargs: Any) -> bool:
        with self.app.app_context():
            try:
                return super().perform_job(*args, **kwargs)
            finally:
                db.session.remove()
