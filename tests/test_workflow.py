"""The engine's guarantees: fan-in exactly once, idempotent jobs, the status table."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from dsar import queue, transitions
from dsar.exceptions import IllegalTransition
from dsar.extensions import db
from dsar.models import (
    DataSystem,
    Document,
    Event,
    Request,
    RequestStatus,
    Task,
    TaskStatus,
)
from dsar.services import answers, fanin, intake, workflow

S = RequestStatus


def vouched_request(app: Flask) -> Request:
    from dsar.services.api_keys import create as create_api_key

    key, _ = create_api_key("tests")
    sub = intake.Submission(
        kind="access", regime="gdpr", name="Jane Doe", email="jane.doe@example.com"
    )
    return intake.submit(sub, channel="api", api_key=key, identity_verified=True).request


def test_fan_in_moves_the_request_exactly_once_under_a_race(
    app: Flask, demo_systems: list[str]
) -> None:
    req = vouched_request(app)
    db.session.execute(update(Task).values(status=TaskStatus.SUCCEEDED))
    db.session.commit()
    request_id = req.id  # read here: the threads must not touch this thread's session
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def finish() -> None:
        with app.app_context():
            try:
                barrier.wait()
                fanin.fan_in(request_id)
            except BaseException as exc:  # collected and reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=finish) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    db.session.refresh(req)
    assert req.status is S.COMPILING
    assert db.session.scalar(select(func.count()).where(Event.action == "fan_in")) == 1
    assert queue.get_queue(queue.DOCUMENTS).job_ids == [f"compile-{req.id}"]


def test_a_request_with_no_enabled_system_goes_straight_to_compiling(app: Flask) -> None:
    req = vouched_request(app)
    assert req.tasks == []
    assert req.status is S.COMPILING


def test_disabled_systems_get_no_task(app: Flask, demo_systems: list[str]) -> None:
    db.session.execute(update(DataSystem).where(DataSystem.key == "events").values(enabled=False))
    db.session.commit()
    req = vouched_request(app)
    assert "events" not in {t.system.key for t in req.tasks}
    assert len(req.tasks) == len(demo_systems) - 1


def test_running_a_finished_task_again_changes_nothing(app: Flask, demo_systems: list[str]) -> None:
    req = vouched_request(app)
    task = req.tasks[0]
    workflow.run_task(task.id, last_attempt=False)
    db.session.refresh(task)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.attempts == 1
    found = task.found_count
    workflow.run_task(task.id, last_attempt=False)
    db.session.refresh(task)
    assert (task.attempts, task.found_count) == (1, found)


def test_compiling_twice_makes_one_document(app: Flask, demo_systems: list[str]) -> None:
    req = vouched_request(app)
    for task in list(req.tasks):
        workflow.run_task(task.id, last_attempt=True)
    db.session.refresh(req)
    assert req.status is S.COMPILING
    answers.compile_response(req.id)
    answers.compile_response(req.id)
    db.session.refresh(req)
    assert req.status is S.COMPLETED
    docs = db.session.scalars(select(Document)).all()
    # One answer: the letter with the data attached, and the data alone as JSON and CSV.
    assert sorted(d.kind for d in docs) == ["data_csv", "data_json", "response"]
    folder = app.config["DSAR_DOCUMENTS_DIR"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(d.filename for d in docs)


LEGAL = [
    (S.RECEIVED, S.AWAITING_VERIFICATION),
    (S.RECEIVED, S.IN_PROGRESS),
    (S.AWAITING_VERIFICATION, S.IN_PROGRESS),
    (S.AWAITING_APPROVAL, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.COMPILING),
    (S.IN_PROGRESS, S.ACTION_REQUIRED),
    (S.ACTION_REQUIRED, S.IN_PROGRESS),
    (S.COMPILING, S.COMPLETED),
    (S.READY_FOR_REVIEW, S.COMPLETED),
]
ILLEGAL = [
    (S.AWAITING_VERIFICATION, S.COMPILING),
    (S.RECEIVED, S.COMPLETED),
    (S.COMPLETED, S.COMPILING),
    (S.COMPLETED, S.DENIED),
    (S.DENIED, S.IN_PROGRESS),
    (S.CANCELLED, S.RECEIVED),
    (S.IN_PROGRESS, S.DENIED),
    (S.COMPILING, S.IN_PROGRESS),
]


@pytest.mark.parametrize(("before", "after"), LEGAL)
def test_legal_moves_are_allowed(before: S, after: S) -> None:
    transitions.check(before, after)


@pytest.mark.parametrize(("before", "after"), ILLEGAL)
def test_illegal_moves_raise(before: S, after: S) -> None:
    with pytest.raises(IllegalTransition, match=f"from {before.value} to {after.value}"):
        transitions.check(before, after)


def test_every_status_has_a_row_and_closed_ones_lead_nowhere_but_a_reopening() -> None:
    assert set(transitions.TRANSITIONS) == set(S)
    for closed in (S.DENIED, S.CANCELLED, S.DUPLICATE):
        assert transitions.TRANSITIONS[closed] == frozenset()
    assert transitions.TRANSITIONS[S.COMPLETED] == {S.IN_PROGRESS, S.AWAITING_APPROVAL}
    assert S.COMPLETED not in transitions.OPEN_STATUSES
    assert set(S) == transitions.CLOSED_STATUSES | transitions.OPEN_STATUSES


def test_move_if_refuses_a_row_that_has_moved_on(app: Flask, demo_systems: list[str]) -> None:
    req = vouched_request(app)
    assert transitions.move_if(req.id, S.IN_PROGRESS, S.ACTION_REQUIRED)
    db.session.commit()
    assert not transitions.move_if(req.id, S.IN_PROGRESS, S.COMPILING)
    db.session.rollback()
    kept: Any = db.session.scalar(select(Request.status).where(Request.id == req.id))
    assert kept is S.ACTION_REQUIRED
