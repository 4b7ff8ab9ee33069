"""What a decision that cannot be undone will do, in words, for the officer to confirm:
approving an erasure (or upholding an objection), denying, cancelling, disabling a system.

Also which closing moves the transition table allows now, so that the request's page offers
only those (dsar.transitions is the one table of moves).
"""

from __future__ import annotations

from dsar import transitions
from dsar.models import (
    FINAL_TASK_STATUSES,
    DataSystem,
    Request,
    RequestKind,
    RequestStatus,
    SystemKind,
    Task,
    TaskStatus,
)
from dsar.rules import regime


def moves(req: Request) -> dict[str, bool]:
    """The closing moves the request's page may offer now."""
    nexts = transitions.TRANSITIONS[req.status]
    return {
        "deny": RequestStatus.DENIED in nexts and not req.is_appeal,
        "duplicate": RequestStatus.DUPLICATE in nexts,
        "cancel": RequestStatus.CANCELLED in nexts,
        "spam": RequestStatus.CANCELLED in nexts,
    }


def _records(n: int) -> str:
    return f"{n:,} record{'s' if n != 1 else ''}"


def _open_tasks(req: Request) -> list[Task]:
    return [t for t in req.tasks if t.status not in FINAL_TASK_STATUSES]


def approve(req: Request) -> list[str]:
    """Approving the erasure (or upholding the objection): what each system will do."""
    lines = []
    objection = req.kind is RequestKind.OBJECTION
    for task in req.tasks:
        if task.status is TaskStatus.SKIPPED:
            lines.append(f"{task.system.name}: nothing (skipped).")
            continue
        found = task.found_count
        kept = task.retained_count or 0
        by_hand = task.system.kind is SystemKind.MANUAL
        if objection:
            what = f"mark {_records(found)} as no longer used for the processing objected to"
        else:
            what = f"erase {_records(found)}"
            if kept:
                what += f", except {kept:,} the law requires us to keep"
        who = "its owner is emailed to " if by_hand else ""
        lines.append(f"{task.system.name}: {who}{what}.")
    if objection:
        lines.append("The person is emailed the confirmation when every system has finished.")
    else:
        lines.append(
            "The person is emailed the certificate of erasure when every system has finished."
        )
        lines.append("Erased records cannot be brought back.")
    return lines


def deny(req: Request, reason_key: str) -> list[str]:
    rules = regime(req.regime)
    reason = rules.denial(reason_key)
    lines = [
        f"The request closes as denied: {reason.label} ({reason.citation})."
        if reason
        else "The request closes as denied."
    ]
    lines.append(
        "The person is emailed the reason, your explanation below, and how to complain"
        + (" or appeal" if rules.appeal else "")
        + "."
    )
    skipped = len(_open_tasks(req))
    if skipped:
        lines.append(f"{skipped} system task{'s' if skipped != 1 else ''} not yet run are skipped.")
    lines.append("A denial cannot be taken back; an appeal, where the law gives one, can undo it.")
    return lines


def cancel(req: Request) -> list[str]:
    skipped = len(_open_tasks(req))
    lines = ["The request closes as cancelled; the person is emailed your reason below."]
    if skipped:
        lines.append(f"{skipped} system task{'s' if skipped != 1 else ''} not yet run are skipped.")
    lines.append("A cancelled request cannot be reopened.")
    return lines


def disable(system: DataSystem, open_tasks: int) -> list[str]:
    return [
        f"New requests create no task for {system.name}.",
        f"{open_tasks} task{'s' if open_tasks != 1 else ''} already created for requests under "
        "way " + ("runs" if open_tasks == 1 else "run") + " on.",
        "It leaves the public page “What we hold about you, and why” (a new version).",
        "You can enable it again at any time.",
    ]
