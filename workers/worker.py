"""`rq worker --worker-class workers.worker.DsarWorker | DsarTaskWorker`: jobs inside a dsar app.

Two kinds of worker, by the work they do:

- `DsarTaskWorker` runs the data systems' jobs (`tasks` queue) in its own process, one after
  another, without forking: those jobs wait on other systems' answers, and a warm process
  starts each in milliseconds, with its imports done and its database connections pooled.
  A worker that dies mid-job loses nothing: the reconciler sends the task again.
- `DsarWorker` forks a work horse per job, as RQ does by default: PDFs (`documents` queue)
  render in a process that gives its memory back when the render ends. The app is built
  once in the parent; each horse drops the inherited database connections (they must not be
  shared across processes).

The jobs module (and through it the connectors and WeasyPrint) is imported here, once.
"""

from __future__ import annotations

from typing import Any

from rq import SimpleWorker, Worker
from rq.serializers import JSONSerializer

import workers.jobs  # noqa: F401 - imported once, inherited by every work horse
from dsar import create_app
from dsar.extensions import db


class _InApp:
    """Build the app once; run every job inside its app context, with a fresh session."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.app = create_app()

    def perform_job(self, *args: Any, **kwargs: Any) -> bool:
        with self.app.app_context():
            try:
                return super().perform_job(*args, **kwargs)  # type: ignore[misc]
            finally:
                db.session.remove()


class DsarWorker(_InApp, Worker):
    def main_work_horse(self, *args: Any, **kwargs: Any) -> None:
        with self.app.app_context():
            db.engine.dispose(close=False)
        super().main_work_horse(*args, **kwargs)


class DsarTaskWorker(_InApp, SimpleWorker):
    pass
