"""What a system owner reads: the task in words, in the language the registry gives them.

A manual system's `owner_language` (a shipped language's code, dsar.i18n.LANGUAGES) is the
language of the owner's emails and, unless their browser or the page's switcher says
otherwise, of their task page. Every text here is an `N_` template, translated where shown:
the task as a phrase ("find a person's records in Paper archive", for a subject line or a
heading after a colon), what to do as whole sentences, the answers the owner may give.
"""

from __future__ import annotations

from flask_babel import gettext

from dsar import i18n
from dsar.documents.words import system_name
from dsar.i18n import N_
from dsar.models import DataSystem, RequestKind, Task, TaskAction
from dsar.rules.corrections import LABELS
from dsar.services import correcting

# The task as a phrase that fits after a colon: "Action needed by 5 December 2026: …".
TASKS: dict[TaskAction, str] = {
    TaskAction.LOCATE: N_("find a person's records in %(system)s"),
    TaskAction.ERASE: N_("erase a person's records in %(system)s"),
    TaskAction.OPT_OUT: N_("opt a person out in %(system)s"),
    TaskAction.CORRECT: N_("correct a person's records in %(system)s"),
    TaskAction.RESTRICT: N_("restrict the use of a person's records in %(system)s"),
    TaskAction.OBJECT: N_("honour a person's objection in %(system)s"),
    TaskAction.LIMIT_SENSITIVE: N_("limit the use of a person's sensitive data in %(system)s"),
    TaskAction.LIFT: N_("lift a restriction or objection on a person's records in %(system)s"),
}
# A lift says which: the mark the lifted request set.
LIFT_TASKS: dict[RequestKind, str] = {
    RequestKind.RESTRICTION: N_("lift the restriction on a person's records in %(system)s"),
    RequestKind.OBJECTION: N_("remove the objection mark from a person's records in %(system)s"),
}
# What to do, in whole sentences.
STEPS: dict[TaskAction, str] = {
    TaskAction.LOCATE: N_("Find and count their records; change nothing."),
    TaskAction.ERASE: N_("Destroy or erase every record about them, and count what you erased."),
    TaskAction.OPT_OUT: N_(
        "Mark their records so that they are no longer sold, shared or used for marketing."
    ),
    TaskAction.CORRECT: N_(
        "Change the details below in every record about them, and count the records you changed."
    ),
    TaskAction.RESTRICT: N_(
        "Mark their records as restricted: keep them, but do not use them (except to store "
        "them, for legal claims, or with their consent), and count the records you marked."
    ),
    TaskAction.OBJECT: N_(
        "Mark their records so that they are no longer used for the processing they objected "
        "to, and count the records you marked."
    ),
    TaskAction.LIMIT_SENSITIVE: N_(
        "Mark their records so that sensitive data about them (health, religion, precise "
        "location, account log-in and the like) is used only as strictly needed to serve "
        "them, and count the records you marked."
    ),
    TaskAction.LIFT: N_(
        "Remove the mark you put on their records earlier, so that they may be used again as "
        "before, and count the records you changed."
    ),
}
LIFT_STEPS: dict[RequestKind, str] = {
    RequestKind.RESTRICTION: N_(
        "Remove the restriction mark you put on their records earlier, so that they may be "
        "used again as before, and count the records you changed."
    ),
    RequestKind.OBJECTION: N_(
        "Remove the objection mark you put on their records earlier, so that they may be "
        "used again as before, and count the records you changed."
    ),
}
# The answers an owner may give (dsar.services.manual.OUTCOMES says which, per action).
OUTCOMES: dict[str, str] = {
    "found": N_("I found records about this person"),
    "erased": N_("I erased (destroyed) their records"),
    "opted_out": N_("I marked their records: no sale, sharing or marketing"),
    "corrected": N_("I made the changes listed above in their records"),
    "restricted": N_("I marked their records: kept, but not used"),
    "objected": N_("I marked their records: no longer used for the processing objected to"),
    "limited": N_("I marked their records: sensitive data used only as strictly needed"),
    "lifted": N_("I removed the mark: their records may be used again as before"),
    "nothing": N_("I found nothing about this person"),
}


def registry_language(system: DataSystem) -> str | None:
    """The registry's `owner_language` for the system, if it gives one."""
    return i18n.chosen((system.config or {}).get("owner_language"))


def owner_language(system: DataSystem) -> str:
    """The language of the owner's emails: the registry's `owner_language`, else English."""
    return registry_language(system) or i18n.DEFAULT


def task_phrase(task: Task) -> str:
    """The task as a phrase, in the current language: "find a person's records in …"."""
    template = TASKS[task.action]
    if task.action is TaskAction.LIFT:
        template = LIFT_TASKS.get(task.request.kind, template)
    return gettext(template, system=system_name(task.system))


def steps(task: Task) -> str:
    """What to do, in the current language."""
    template = STEPS[task.action]
    if task.action is TaskAction.LIFT:
        template = LIFT_STEPS.get(task.request.kind, template)
    return gettext(template)


def outcome(key: str) -> str:
    return gettext(OUTCOMES[key])


def changes_to_make(task: Task) -> list[tuple[str, str]]:
    """A correction's accepted changes, as the owner reads them: (what, new value)."""
    if task.action is not TaskAction.CORRECT:
        return []
    return [(gettext(LABELS[k]), v) for k, v in correcting.changes(task.request).items()]


def whom(task: Task) -> list[tuple[str, str]]:
    """Whom to look for, as the owner reads it: (what, value), the person's details as
    given, and for a correction the values as we may hold them."""
    req = task.request
    shown = [(gettext("Name"), req.name), (gettext("Email"), req.email)]
    if req.phone:
        shown.append((gettext("Phone"), req.phone))
    for key, value in ((req.correction or {}).get("held") or {}).items():
        what = gettext(LABELS[key]) if key in LABELS else key
        shown.append((gettext("%(what)s as we may hold it", what=what), str(value)))
    if req.country:
        shown.append((gettext("Country or state"), req.country))
    return shown
