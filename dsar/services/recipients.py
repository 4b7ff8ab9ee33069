"""Whom to tell about a request: its assignee, else every active officer, else the admins."""

from __future__ import annotations

from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Request, Role, User


def people(req: Request) -> list[User]:
    if req.assignee is not None and req.assignee.active:
        return [req.assignee]
    for role in (Role.OFFICER, Role.ADMIN):
        found = db.session.scalars(
            select(User).where(User.role == role, User.active.is_(True)).order_by(User.id)
        ).all()
        if found:
            return list(found)
    return []


def officers(req: Request) -> list[str]:
    return [user.email for user in people(req)]
