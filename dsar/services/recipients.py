"""Whom to tell about a request: its assignee, else every active officer, else the admins."""

from __future__ import annotations

from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Request, Role, User


def officers(req: Request) -> list[str]:
    if req.assignee is not None and req.assignee.active:
        return [req.assignee.email]
    for role in (Role.OFFICER, Role.ADMIN):
        emails = db.session.scalars(
            select(User.email).where(User.role == role, User.active.is_(True)).order_by(User.id)
        ).all()
        if emails:
            return list(emails)
    return []
