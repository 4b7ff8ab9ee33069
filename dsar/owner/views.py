"""The owner's one-time link: GET shows the task and changes nothing, POST reports.

The page speaks the owner's language (dsar.i18n.select_locale): the switcher's, else the
registry's `owner_language` for the system, else the browser's.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request

from dsar import i18n
from dsar.documents.words import system_name
from dsar.exceptions import LinkInvalid, ManualTaskRefused
from dsar.extensions import limiter
from dsar.models import Task, TaskAction
from dsar.owner.forms import ReportForm
from dsar.rules import withholding
from dsar.services import manual, manual_reports, manual_words, uploads

bp = Blueprint("owner", __name__)


def _gone() -> tuple[str, int]:
    """Used, expired and unknown links look alike: a guesser learns nothing."""
    return render_template("owner/gone.html"), 404


def _page(task: Task, form: ReportForm) -> tuple[str, int]:
    return render_template(
        "owner/task.html",
        task=task,
        req=task.request,
        system=task.system,
        form=form,
        system_name=system_name(task.system),
        task_words=manual_words.task_phrase(task),
        steps=manual_words.steps(task),
        whom=manual_words.whom(task),
        due=manual.due_date(task),
        instructions=manual.instructions(task.system),
        changes=manual_words.changes_to_make(task),
        note_limit=manual.MAX_NOTE,  # a variable: Jinja would fold a literal's filter once
        max_files=uploads.MAX_FILES,
    ), 422 if form.errors else 200


def _form(task: Task) -> ReportForm:
    reasons = withholding.kept_reasons(task.request.regime)
    erasing = task.action is TaskAction.ERASE
    return ReportForm(
        outcomes=manual.OUTCOMES[task.action], kept_reasons=reasons if erasing else ()
    )


def _sent(form: ReportForm) -> manual_reports.Report:
    files = [
        uploads.Incoming(f.filename or "file", f.read())
        for f in (form.files.data or [])
        if getattr(f, "filename", "")
    ]
    return manual_reports.Report(
        outcome=form.outcome.data,
        count=form.count.data,
        note=form.note.data or "",
        rows=form.rows.data or "",
        files=files,
        kept=form.kept.data,
        kept_reason=form.kept_reason.data or "",
    )


# Per address: the token is unguessable; the limit keeps anyone from trying.
@bp.route("/task/<token>", methods=["GET", "POST"])
@limiter.limit("60 per hour")
def task(token: str) -> Any:
    try:
        found = manual.find_task(token)
    except LinkInvalid:
        return _gone()
    g.owner_language = manual_words.registry_language(found.system)
    form = _form(found)
    if not form.validate_on_submit():
        return _page(found, form)
    try:
        manual_reports.report(found, _sent(form))
    except LinkInvalid:
        return _gone()
    except ManualTaskRefused as exc:
        getattr(form, exc.field or "outcome").errors.append(exc.translated())
        return _page(found, form)
    return render_template(
        "owner/done.html",
        task=found,
        req=found.request,
        system_name=system_name(found.system),
        outcome=manual_words.outcome(form.outcome.data),
    )


@bp.after_request
def private(response: Any) -> Any:
    """The page shows whom to look for: no cache may keep it, no link may leak its address."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"  # never to another site
    chosen = i18n.chosen(request.args.get("lang"))
    if chosen:  # the switcher on this page: remembered as the portal's switcher is
        i18n.remember(response, chosen)
    return response
