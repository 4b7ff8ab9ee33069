"""The authorised agents who filed requests, with their requests; an officer may withdraw
an agent's authority."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import login_required

from dsar.exceptions import DecisionRefused
from dsar.extensions import db
from dsar.models import Agent
from dsar.services import agents
from dsar.staff.forms import CancelForm
from dsar.staff.views import ACTORS, actor, bp, roles_required


@bp.get("/agents")
@login_required
def agents_list() -> str:
    return render_template("staff/agents.html", rows=agents.listing(), form=CancelForm())


@bp.post("/agents/<int:agent_id>/revoke")
@roles_required(*ACTORS)
def revoke_agent(agent_id: int) -> Any:
    agent = db.session.get(Agent, agent_id)
    if agent is None:
        abort(404, "There is no such agent.")
    form = CancelForm()
    try:
        if not form.validate_on_submit():
            raise DecisionRefused(next(iter(form.errors.values()))[0])
        closed = agents.revoke(agent, form.reason.data, actor=actor())
    except DecisionRefused as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return render_template("staff/agents.html", rows=agents.listing(), form=form), 422
    flash(
        f"{agent.name} can no longer act for anyone; {closed} request"
        f"{'s' if closed != 1 else ''} still waiting for the person's confirmation closed.",
        "info",
    )
    return redirect(url_for("staff.agents_list"))
