"""What the person needs to know now, on their tracking page: a paused clock and why, a
question we asked, an extension and why, part of the search done by hand. Each says what
happened, what they need to do, and by when; each went to them by email too."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext

from dsar import i18n, rules, transitions
from dsar.documents.words import system_name
from dsar.models import Request, SystemKind, TaskStatus
from dsar.rules import citations
from dsar.services import manual, messages
from dsar.services.events import latest


@dataclass(frozen=True)
class Notice:
    key: str  # "paused", "question", "extended", "owner-<system>": the page reloads on change
    title: str
    lines: list[str] = field(default_factory=list)
    quote: str = ""  # our own words to the person (a question), shown as written
    todo: str = ""  # what they need to do, and by when


def notices(req: Request) -> list[Notice]:
    """The notices for an open request, most pressing first (none once it is closed)."""
    if req.status not in transitions.OPEN_STATUSES:
        return []
    out: list[Notice] = []
    question = messages.open_question(req)  # answered on the page, or the clock runs again
    reply = gettext(
        "Please answer below, or reply to that email keeping the reference %(reference)s in "
        "the subject.",
        reference=req.reference,
    )
    if question is not None:
        out.append(
            Notice(
                "question",
                gettext("We asked you a question"),
                [gettext("On %(date)s we emailed you this question:", date=i18n.day(question.at))],
                quote=str((question.detail or {}).get("question", "")),
                todo=reply,
            )
        )
    paused = latest(req, "clock_paused") if req.paused_since else None
    if paused is not None:
        pause = rules.regime(req.regime).pause
        citation = citations.cited(pause.citation) if pause else ""
        out.append(
            Notice(
                "paused",
                gettext("The clock is paused"),
                [
                    gettext(
                        "Since %(date)s the clock on your request has been paused while we wait "
                        "for information from you, as the law allows (%(citation)s).",
                        date=i18n.day(req.paused_since),
                        citation=citation,
                    ),
                    gettext("Why: %(reason)s", reason=gettext((paused.detail or {})["reason"])),
                ],
                todo=gettext(
                    "It starts again as soon as we have what we need. We emailed you on "
                    "%(date)s: please reply to that email.",
                    date=i18n.day(paused.at),
                )
                if question is None
                else gettext("It starts again as soon as we have your answer."),
            )
        )
    extended = latest(req, "deadline_extended") if req.extended_due_on else None
    if extended is not None:
        out.append(
            Notice(
                "extended",
                gettext("We need more time"),
                [
                    gettext(
                        "On %(date)s we extended the time to answer, as the law allows.",
                        date=i18n.day(extended.at),
                    ),
                    gettext("Why: %(reason)s", reason=(extended.detail or {}).get("reason", "")),
                ],
                todo=gettext(
                    "There is nothing you need to do: we will answer by %(date)s at the latest.",
                    date=i18n.day(req.due_on, weekday=True),
                ),
            )
        )
    for task in req.tasks:
        if task.status is TaskStatus.ACTION_REQUIRED and task.system.kind is SystemKind.MANUAL:
            due = manual.due_date(task)
            out.append(
                Notice(
                    f"owner-{task.system.key}",
                    gettext("Part of the search is done by hand"),
                    [
                        gettext(
                            "%(system)s has no connection we can search automatically, so a "
                            "colleague in charge of it is looking.",
                            system=system_name(task.system),
                        ),
                        gettext("They have until %(date)s to report to us.", date=i18n.day(due))
                        if due
                        else "",
                    ],
                    todo=gettext("There is nothing you need to do."),
                )
            )
    return out
