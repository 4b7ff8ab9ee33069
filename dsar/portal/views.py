"""Portal views: parse input, call one service, render or redirect."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from dsar import deadlines, rules, transitions
from dsar.exceptions import IntakeRefused, LinkInvalid
from dsar.extensions import limiter
from dsar.models import (
    FINAL_TASK_STATUSES,
    Request,
    RequestKind,
    RequestStatus,
    Task,
    TaskAction,
    TaskStatus,
)
from dsar.portal.forms import ConfirmForm, GpcForm, RequestForm
from dsar.rules import Unit
from dsar.rules import agents as agent_rules
from dsar.services import appeals, delivery, intake

bp = Blueprint("portal", __name__)

STATUS_WORDS = {
    RequestStatus.RECEIVED: "Received",
    RequestStatus.AWAITING_VERIFICATION: "Waiting for you to confirm your email address",
    RequestStatus.AWAITING_APPROVAL: "In progress: our privacy team is checking what to erase",
    RequestStatus.AWAITING_DECISION: (
        "Your appeal is with a member of our privacy team who did not take the first decision"
    ),
    RequestStatus.IN_PROGRESS: "In progress: searching our systems",
    RequestStatus.ACTION_REQUIRED: "In progress: our privacy team is handling a delay",
    RequestStatus.COMPILING: "In progress: preparing your answer",
    RequestStatus.READY_FOR_REVIEW: "In progress: your answer is being checked",
    RequestStatus.COMPLETED: "Completed: your answer is ready",
    RequestStatus.DENIED: "Closed: we could not carry out this request",
    RequestStatus.CANCELLED: "Cancelled",
    RequestStatus.DUPLICATE: "Closed: this repeats an earlier request",
}

# While an officer decides after the search, in the words of what was asked.
DECIDING_WORDS = {
    RequestKind.CORRECTION: "In progress: our privacy team is checking the changes you asked for",
    RequestKind.OBJECTION: "In progress: our privacy team is considering your objection",
}

TASK_WORDS = {
    TaskStatus.PENDING: "Waiting",
    TaskStatus.QUEUED: "Waiting",
    TaskStatus.RUNNING: "Working",
    TaskStatus.SUCCEEDED: "Done",
    TaskStatus.RETRYING: "Retrying",
    TaskStatus.FAILED: "Delayed: our team is on it",
    TaskStatus.SKIPPED: "Not needed",
    TaskStatus.ACTION_REQUIRED: "Waiting for a colleague",
}


def english() -> bool:
    return str(get_locale() or "en") == "en"


def region_name(code: str) -> str:
    """A country code in the page's language ("US" -> "États-Unis"); English pages, and an
    unknown code, keep the code as it is."""
    locale = get_locale()
    if locale is None or english():
        return code
    return locale.territories.get(code.upper(), code)


def request_or_404(token: str) -> Request:
    try:
        return intake.find_by_tracking(token)
    except LinkInvalid:
        abort(404, "This tracking link is not valid. Check that you copied it whole.")


_SPANS = {Unit.MONTHS: "calendar month", Unit.DAYS: "day", Unit.BUSINESS_DAYS: "working day"}


def why_this_date(req: Request) -> list[str]:
    """The due date explained in plain words for the person (officers see the full trace)."""
    rule_set = rules.regime(req.regime)
    period = rule_set.respond_period(req.kind, appeal=req.is_appeal)
    span = f"{period.amount} {_SPANS[period.unit]}{'s' if period.amount != 1 else ''}"
    received = deadlines.received_on(req.received_at, current_app.config["DSAR_TIMEZONE"])
    what, to = ("appeal", "decide an appeal") if req.is_appeal else ("request", "answer")
    lines = [
        f"We received your {what} on {received:%-d %B %Y}.",
        f"{rule_set.name} gives us {span} to {to} ({period.citation}).",
    ]
    if period.roll_to_working_day:
        lines.append("When that day is a weekend or a bank holiday, the next working day counts.")
    if req.paused_since:
        lines.append(
            f"The clock has been paused since {req.paused_since:%-d %B %Y} while we wait for "
            "information from you; it starts again as soon as we have it."
        )
    if req.extended_due_on:
        lines.append("We have extended the time to answer, as the law allows; we emailed you why.")
    lines.append(f"So we must answer by {req.due_on:%A %-d %B %Y}.")
    return lines


def _task_words(req: Request, task: Task) -> tuple[str, int]:
    """What the person reads for one system, and the number that goes with it.

    A deletion first searches (a dry run) and waits for an officer: its systems say what
    was found and that we are checking it, never "Done" with nothing erased.
    """
    dry_run = req.kind in rules.APPROVAL_KINDS and task.action is TaskAction.LOCATE
    if dry_run and task.status is TaskStatus.SUCCEEDED:
        waiting = "approval" if req.kind is RequestKind.DELETION else "decision"
        return f"Found {task.found_count}, waiting for our {waiting}", task.found_count
    if dry_run and task.status in (TaskStatus.QUEUED, TaskStatus.RUNNING):
        return "Searching", 0
    erasing = req.kind is RequestKind.DELETION
    return TASK_WORDS[task.status], task.erased_count if erasing else task.found_count


def _progress(req: Request) -> dict[str, Any]:
    tasks = []
    for t in req.tasks:
        words, records = _task_words(req, t)
        tasks.append(
            {
                "system": t.system.name,
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
        return DECIDING_WORDS.get(req.kind, STATUS_WORDS[req.status])
    if req.agent is not None and req.status is RequestStatus.AWAITING_VERIFICATION:
        return f"Waiting for {req.name} to confirm that they asked {req.agent.name}"
    if req.is_appeal and req.status is RequestStatus.DENIED:
        return "Closed: after your appeal, we upheld our decision"
    return STATUS_WORDS[req.status]


def gpc_signal() -> bool:
    """Whether the browser sent a Global Privacy Control signal; only `Sec-GPC: 1` is one."""
    return request.headers.get("Sec-GPC", "").strip() == "1"


def _gpc_form() -> GpcForm | None:
    return GpcForm(prefix="gpc") if gpc_signal() else None


@bp.get("/")
def home() -> str:
    return render_template(
        "portal/home.html",
        regimes=rules.REGIMES.values(),
        labels=rules.KIND_LABELS,
        offered=rules.OFFERED_KINDS,
        gpc_form=_gpc_form(),
    )


@bp.post("/gpc")
@limiter.limit("20 per hour")
def gpc_opt_out() -> Any:
    """File the one-step opt-out a GPC signal asks for: no verification may be required."""
    if not gpc_signal():
        abort(
            400,
            "Your browser did not send a Global Privacy Control signal with this form, so "
            "nothing was saved. To opt out, use the request form.",
        )
    form = GpcForm(prefix="gpc")
    if form.validate_on_submit():
        try:
            receipt = intake.submit_gpc_opt_out(email=form.email.data, phone=form.phone.data or "")
        except IntakeRefused as exc:
            form.email.errors.append(exc.message)
        else:
            flash("submitted", "receipt")
            return redirect(url_for("portal.status", token=receipt.tracking_token))
    return render_template("portal/gpc.html", gpc_form=form), 422


@bp.route("/request", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def new_request() -> Any:
    form = RequestForm()
    if not form.is_submitted():  # "Ask online" on the home page names the right and the law
        if request.args.get("regime") in rules.REGIMES:
            form.regime.data = request.args["regime"]
        if request.args.get("kind") in {k.value for k in rules.OFFERED_KINDS}:
            form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            receipt = intake.submit(
                intake.Submission(
                    kind=form.kind.data,
                    regime=form.regime.data,
                    name=form.name.data,
                    email=form.email.data,
                    phone=form.phone.data or "",
                    country=form.country.data or "",
                    details=form.details.data or "",
                    correction=form.correction() if form.kind.data == "correction" else None,
                    # A hidden field (another kind chosen) is not sent: as for corrections.
                    transfer_url=(form.transfer_url.data or "")
                    if form.kind.data == "portability"
                    else "",
                    agent=form.agent(),
                    language=str(get_locale() or "en"),
                ),
                channel="portal",
            )
        except IntakeRefused as exc:
            name = exc.field or "kind"
            if name.startswith("correction"):
                name = form.correction_field(name)
            getattr(form, name).errors.append(exc.message)
        else:
            flash("submitted", "receipt")
            return redirect(url_for("portal.status", token=receipt.tracking_token))
    status = 422 if form.errors else 200
    return render_template(
        "portal/request_form.html",
        form=form,
        gpc_form=_gpc_form(),
        laws=_laws_by_kind(),
        correction_label=rules.KIND_LABELS[RequestKind.CORRECTION],
        opt_out_label=rules.KIND_LABELS[RequestKind.OPT_OUT],
        agent_laws=agent_rules.summary(
            rules.REGIMES, rules.KIND_LABELS, translate=None if english() else gettext
        ),
        region_name=region_name(current_app.config["DSAR_PHONE_REGION"]),
    ), status


def _laws_by_kind() -> dict[str, str]:
    """For each right taken online, the laws that grant it (the form shows only those)."""
    return {
        kind.value: " ".join(r.key for r in rules.REGIMES.values() if kind in r.kinds)
        for kind in rules.OFFERED_KINDS
    }


@bp.get("/r/<token>")
def status(token: str) -> str:
    req = request_or_404(token)
    regime = rules.regime(req.regime)
    return render_template(
        "portal/status.html",
        req=req,
        token=token,
        regime=regime,
        kind_label=rules.KIND_LABELS[req.kind],
        progress=_progress(req),
        why=why_this_date(req),
        delivery_state=delivery.state(req),
        granted=delivery_views.granted(req),
        send_form=ConfirmForm(),
        denial=regime.denial(req.denial_reason) if req.status is RequestStatus.DENIED else None,
        may_appeal=appeals.may_appeal(req),
    )


@bp.get("/r/<token>/progress")
def progress(token: str) -> Any:
    return _progress(request_or_404(token))


@bp.route("/r/<token>/verify/<code>", methods=["GET", "POST"])
def verify(token: str, code: str) -> Any:
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            intake.verify(token, code)
        except LinkInvalid as exc:
            abort(404, str(exc))
        flash("verified", "receipt")
        return redirect(url_for("portal.status", token=token))
    req = request_or_404(token)
    return render_template("portal/verify.html", req=req, form=form, token=token, code=code)


@bp.post("/r/<token>/verify/<code>/disown")
def disown(token: str, code: str) -> Any:
    """The person did not ask the agent who filed this request: it is closed."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, "The form expired. Open the link in our email again.")
    try:
        intake.disown(token, code)
    except LinkInvalid as exc:
        abort(404, str(exc))
    flash("disowned", "receipt")
    return redirect(url_for("portal.status", token=token))


@bp.after_request
def no_store(response: Any) -> Any:
    """Tracking pages and answers hold personal data: no browser or proxy may keep a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


# The answer's delivery (download codes, grants, files) and the appeal form register on
# `bp` when imported.
from dsar.portal import appeal_views, delivery_views, language_views  # noqa: E402, F401
