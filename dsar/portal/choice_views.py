"""The preference centre: a person sees and changes their choices, opting in as they opt
out, after opening a one-time link emailed to them (dsar.services.choice_links)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, session, url_for
from flask_babel import get_locale, gettext, ngettext

from dsar.documents import words
from dsar.extensions import limiter
from dsar.portal import kept
from dsar.portal.choice_forms import ChoiceLinkForm, choices_form
from dsar.portal.views import bp, gpc_signal
from dsar.rules.choices import BY_KEY
from dsar.services import choice_links, choice_sync, consent, preferences
from dsar.services.consent import ChoiceRefused

SESSION_KEY = "choices_link"


def _email() -> str | None:
    return choice_links.email_for(session.get(SESSION_KEY))


@bp.get("/choices")
def choices_start() -> Any:
    if _email() is not None:
        return redirect(url_for("portal.my_choices"))
    return _ask_page(ChoiceLinkForm(), 200)


@bp.post("/choices")
@limiter.limit("10 per hour")
def choices_ask() -> Any:
    form = ChoiceLinkForm()
    if form.validate_on_submit():
        try:
            choice_links.ask(form.email.data, language=str(get_locale() or "en"))
        except ChoiceRefused as exc:
            form.email.errors.append(gettext(exc.template, **exc.values))
        else:
            return render_template("portal/choices_sent.html", hours=24)
    return _ask_page(form, 422)


@kept.refills("portal.choices_ask")
def _ask_page(form: ChoiceLinkForm | None = None, status: int = 422) -> tuple[str, int]:
    return render_template("portal/choices_ask.html", form=form or ChoiceLinkForm()), status


@bp.get("/choices/open/<token>")
def choices_open(token: str) -> Any:
    link = choice_links.open_link(token)
    if link is None:
        flash(
            gettext(
                "This link is not valid: it may have expired or been used already. Ask for a "
                "new one below."
            ),
            "error",
        )
        return _ask_page(ChoiceLinkForm(), 404)
    session[SESSION_KEY] = link.id
    return redirect(url_for("portal.my_choices"))


def _no_session() -> Any:
    flash(gettext("Your time with that link has ended. Ask for a new link below."), "error")
    return redirect(url_for("portal.choices_start"))


@bp.get("/choices/mine")
def my_choices() -> Any:
    email = _email()
    if email is None:
        return _no_session()
    if gpc_signal():
        preferences.honour_gpc(email)
    return _page(email, None, 200)


def _page(email: str, form: Any, status: int) -> tuple[str, int]:
    rows = preferences.rows(email)
    form = form or choices_form(rows)
    history = consent.ledger(email)
    latest = [r.entry for r in rows if r.entry is not None and r.entry.receipts]
    return render_template(
        "portal/choices.html",
        email=email,
        rows=rows,
        form=form,
        history=history,
        latest=latest,
        working=choice_sync.waiting(latest),
        gpc=gpc_signal(),
        choice_of=BY_KEY.__getitem__,
        name_of=lambda system: words.labels(system).get("name") or system.name,
    ), status


@bp.post("/choices/mine")
@limiter.limit("30 per hour")
def save_choices() -> Any:
    email = _email()
    if email is None:
        return _no_session()
    rows = preferences.rows(email)
    form = choices_form(rows)
    if not form.validate_on_submit():
        return _page(email, form, 422)
    wanted = {
        r.choice.key: form[r.choice.key].data == "yes" for r in rows if form[r.choice.key].data
    }
    actor = preferences.WITH_GPC if gpc_signal() else "person"
    changed = preferences.change(email, wanted, source="portal", actor=actor)
    if changed:
        flash(
            ngettext(
                "Saved: %(num)d choice changed. Each system's receipt is below.",
                "Saved: %(num)d choices changed. Each system's receipt is below.",
                len(changed),
            ),
            "info",
        )
    else:
        flash(gettext("Nothing changed: your choices were already as you set them."), "info")
    return redirect(url_for("portal.my_choices"), 303)


@kept.refills("portal.save_choices")
def _saved_page() -> tuple[str, int]:
    email = _email()
    if email is None:
        return render_template("portal/choices_ask.html", form=ChoiceLinkForm()), 403
    return _page(email, choices_form(preferences.rows(email), posted=True), 422)


@bp.get("/choices/mine/progress")
def choices_progress() -> Any:
    email = _email()
    if email is None:
        return {"waiting": False, "ended": True}, 403
    latest = [e for e in consent.current(email).values() if e.receipts]
    return {"waiting": choice_sync.waiting(latest), "ended": False}


@bp.post("/choices/leave")
def leave_choices() -> Any:
    session.pop(SESSION_KEY, None)
    flash(
        gettext("You have left your choices. Nobody using this browser can see them now."), "info"
    )
    return redirect(url_for("portal.home"))
