"""Who or what a request waits on, in words: the queue's "Waiting on" column and its CSV.

The same reading as the queue's `waiting` filter (dsar.services.queue_query): a failed
system first (someone must act), then a system owner who has not reported, then the person,
then the officer's step the status names, then dsar's own work.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsar import transitions
from dsar.models import Request, RequestStatus, TaskStatus

_OFFICER_STEPS = {
    RequestStatus.RECEIVED: "to look at a new request",
    RequestStatus.AWAITING_APPROVAL: "to approve the dry run",
    RequestStatus.AWAITING_DECISION: "to decide the appeal",
    RequestStatus.READY_FOR_REVIEW: "to review the answer",
    RequestStatus.ACTION_REQUIRED: "to act on the request",
}
_DONE = {TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.SKIPPED}


@dataclass(frozen=True)
class Waiting:
    who: str  # "Failed system", "System owner", "The person", "Officer", "dsar", ""
    what: str  # the systems, owners or step, in words

    def __str__(self) -> str:
        return f"{self.who}: {self.what}" if self.who else ""


def _names(values: list[str]) -> str:
    unique = list(dict.fromkeys(v for v in values if v))
    return ", ".join(unique)


def waiting_on(req: Request) -> Waiting:
    if req.status not in transitions.OPEN_STATUSES:
        return Waiting("", "")
    failed = [t.system.name for t in req.tasks if t.status == TaskStatus.FAILED]
    if failed:
        return Waiting("Failed system", _names(failed))
    owners = [
        t.system.owner or t.system.name for t in req.tasks if t.status == TaskStatus.ACTION_REQUIRED
    ]
    if owners:
        return Waiting("System owner", _names(owners))
    if req.status == RequestStatus.AWAITING_VERIFICATION:
        return Waiting("The person", "to confirm who they are")
    if req.paused_since is not None:
        return Waiting("The person", "to send what was asked (clock paused)")
    if req.status in _OFFICER_STEPS:
        return Waiting("Officer", _OFFICER_STEPS[req.status])
    if req.status == RequestStatus.COMPILING:
        return Waiting("dsar", "writing the answer")
    if not req.tasks:
        return Waiting("dsar", "starting the work in each system")
    done = sum(1 for t in req.tasks if t.status in _DONE)
    return Waiting("Data systems", f"{done} of {len(req.tasks)} done")
