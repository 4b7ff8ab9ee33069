"""What the person reads about their request's progress, in their language: its status in
words, each system's state, and why the due date is what it is."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l

from dsar import deadlines, i18n, rules, transitions
from dsar.documents.words import system_name
from dsar.models import (
    FINAL_TASK_STATUSES,
    Request,
    RequestKind,
    RequestStatus,
    Task,
    TaskAction,
    TaskStatus,
)
from dsar.portal.notices import notices
from dsar.rules import Unit, citations
from dsar.services import delivery

STATUS_WORDS = {
    RequestStatus.RECEIVED: _l("Received"),
    RequestStatus.AWAITING_VERIFICATION: _l("Waiting for you to confirm your email address"),
    RequestStatus.AWAITING_APPROVAL: _l("In progress: our privacy team is checking what to erase"),
    RequestStatus.AWAITING_DECISION: _l(
        "Your appeal is with a member of our privacy team who did not take the first decision"
    ),
    RequestStatus.IN_PROGRESS: _l("In progress: searching our systems"),
    RequestStatus.ACTION_REQUIRED: _l("In progress: our privacy team is handling a delay"),
    RequestStatus.COMPILING: _l("In progress: preparing your answer"),
    RequestStatus.READY_FOR_REVIEW: _l("In progress: your answer is being checked"),
    RequestStatus.COMPLETED: _l("Completed: your answer is ready"),
    RequestStatus.DENIED: _l("Closed: we could not carry out this request"),
    RequestStatus.CANCELLED: _l("Cancelled"),
    RequestStatus.DUPLICATE: _l("Closed: this repeats an earlier request"),
}

# While an officer decides after the search, in the words of what was asked.
DECIDING_WORDS = {
    RequestKind.CORRECTION: _l(
        "In progress: our privacy team is checking the changes you asked for"
    ),
    RequestKind.OBJECTION: _l("In progress: our privacy team is considering your objection"),
}

TASK_WORDS = {
    TaskStatus.PENDING: _l("Waiting"),
    TaskStatus.QUEUED: _l("Waiting"),
    TaskStatus.RUNNING: _l("Working"),
    TaskStatus.SUCCEEDED: _l("Done"),
    TaskStatus.RETRYING: _l("Retrying"),
    TaskStatus.FAILED: _l("Delayed: our team is on it"),
    TaskStatus.SKIPPED: _l("Not needed"),
    TaskStatus.ACTION_REQUIRED: _l("Waiting for a colleague"),
}


def region_name(code: str) -> str:
    """A country code in the page's language ("US" -> "États-Unis"); English pages, and an
    unknown code, keep the code as it is."""
    locale = get_locale()
    if locale is None or i18n.english():
        return code
    return locale.territories.get(code.upper(), code)


def _period_line(law: str, period: rules.Period, *, appeal: bool) -> str:
    """The law's time to answer (or to decide an appeal), one whole sentence per unit."""
    n, values = period.amount, {"law": law, "citation": citations.cited(period.citation)}
    if appeal:
        if period.unit is Unit.MONTHS:
            return ngettext(
                "%(law)s gives us %(num)d calendar month to decide an appeal (%(citation)s).",
                "%(law)s gives us %(num)d calendar months to decide an appeal (%(citation)s).",
                n,
                **values,
            )
        if period.unit is Unit.BUSINESS_DAYS:
            return ngettext(
                "%(law)s gives us %(num)d working day to decide an appeal (%(citation)s).",
                "%(law)s gives us %(num)d working days to decide an appeal (%(citation)s).",
                n,
                **values,
            )
        return ngettext(
            "%(law)s gives us %(num)d day to decide an appeal (%(citation)s).",
            "%(law)s gives us %(num)d days to decide an appeal (%(citation)s).",
            n,
            **values,
        )
    if period.unit is Unit.MONTHS:
        return ngettext(
            "%(law)s gives us %(num)d calendar month to answer (%(citation)s).",
            "%(law)s gives us %(num)d calendar months to answer (%(citation)s).",
            n,
            **values,
        )
    if period.unit is Unit.BUSINESS_DAYS:
        return ngettext(
            "%(law)s gives us %(num)d working day to answer (%(citation)s).",
            "%(law)s gives us %(num)d working days to answer (%(citation)s).",
            n,
            **values,
        )
    return ngettext(
        "%(law)s gives us %(num)d day to answer (%(citation)s).",
        "%(law)s gives us %(num)d days to answer (%(citation)s).",
        n,
        **values,
    )


def why_this_date(req: Request) -> list[str]:
    """The due date explained in plain words for the person (officers see the full trace)."""
    rule_set = rules.regime(req.regime)
    period = rule_set.respond_period(req.kind, appeal=req.is_appeal)
    received = deadlines.received_on(req.received_at, current_app.config["DSAR_TIMEZONE"])
    lines = [
        gettext("We received your appeal on %(date)s.", date=i18n.day(received))
        if req.is_appeal
        else gettext("We received your request on %(date)s.", date=i18n.day(received)),
        _period_line(gettext(rule_set.name), period, appeal=req.is_appeal),
    ]
    if period.roll_to_working_day:
        lines.append(
            gettext("When that day is a weekend or a bank holiday, the next working day counts.")
        )
    if req.paused_since:
        lines.append(
            gettext(
                "The clock has been paused since %(date)s while we wait for information from "
                "you; it starts again as soon as we have it.",
                date=i18n.day(req.paused_since),
            )
        )
    if req.extended_due_on:
        lines.append(
            gettext("We have extended the time to answer, as the law allows; we emailed you why.")
        )
    lines.append(gettext("So we must answer by %(date)s.", date=i18n.day(req.due_on, weekday=True)))
    return lines


def _task_words(req: Request, task: Task) -> tuple[str, int]:
    """What the person reads for one system, and the number that goes with it.

    A deletion first searches (a dry run) and waits for an officer: its systems say what
    was found and that we are checking it, never "Done" with nothing erased.
    """
    dry_run = req.kind in rules.APPROVAL_KINDS and task.action is TaskAction.LOCATE
    if dry_run and task.status is TaskStatus.SUCCEEDED:
        found = task.found_count
        if req.kind is RequestKind.DELETION:
            words = ngettext(
                "Found %(num)d, waiting for our approval",
                "Found %(num)d, waiting for our approval",
                found,
            )
        else:
            words = ngettext(
                "Found %(num)d, waiting for our decision",
                "Found %(num)d, waiting for our decision",
                found,
            )
        return words, task.found_count
    if dry_run and task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        return gettext("Searching"), 0
    erasing = req.kind is RequestKind.DELETION
    return str(TASK_WORDS[task.status]), task.erased_count if erasing else task.found_count


def state(req: Request) -> dict[str, Any]:
    tasks = []
    for t in req.tasks:
        words, records = _task_words(req, t)
        tasks.append(
            {
                "system": system_name(t.system),  # in the page's language, where given
                "status": t.status.value,
                "words": words,
                "found": t.found_count,
                "erased": t.erased_count,
                # What the person asked about: erased for a deletion, found otherwise.
                "records": records,
            }
        )
    done = sum(1 for t in req.tasks if t.status in FINAL_TASK_STATUSES)
    return {
        "news": [n.key for n in notices(req)],  # the page reloads when these change
        "status": req.status.value,
        "words": _status_words(req),
        "done": done,
        "total": len(tasks),
        "tasks": tasks,
        "has_response": any(d.kind == "response" for d in req.documents),
        "delivery": delivery.state(req),
        "working": req.status in transitions.OPEN_STATUSES,
    }


def _status_words(req: Request) -> str:
    if req.status is RequestStatus.AWAITING_APPROVAL:
        return str(DECIDING_WORDS.get(req.kind, STATUS_WORDS[req.status]))
    if req.agent is not None and req.status is RequestStatus.AWAITING_VERIFICATION:
        return gettext(
            "Waiting for %(name)s to confirm that they asked %(agent)s",
            name=req.name,
            agent=req.agent.name,
        )
    if req.paused_since and req.status in transitions.OPEN_STATUSES:
        return gettext("Paused: we are waiting for information from you")
    if req.is_appeal and req.status is RequestStatus.DENIED:
        return gettext("Closed: after your appeal, we upheld our decision")
    return str(STATUS_WORDS[req.status])
