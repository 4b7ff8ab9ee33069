"""Put the demo world in place, idempotently: data files, registry entries, staff logins."""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from sqlalchemy import select

from dsar.config import ROOT
from dsar.demo import world
from dsar.extensions import db
from dsar.models import Role, User
from dsar.services import accounts, registry

DEMO_SYSTEMS = ROOT / "dsar" / "demo" / "systems.toml"
DEMO_STAFF = {
    "admin@example.com": (Role.ADMIN, "demo-admin-password"),
    "officer@example.com": (Role.OFFICER, "demo-officer-password"),
    "auditor@example.com": (Role.AUDITOR, "demo-auditor-password"),
}
DEMO_NAMES = {
    "admin@example.com": "Alex Admin",
    "officer@example.com": "Olivia Officer",
    "auditor@example.com": "Audrey Auditor",
}


class DemoRefused(RuntimeError):
    """The demo is not for production: its staff passwords are published."""


def ensure_demo(*, people: int = 3000, rebuild: bool = False) -> Iterator[str]:
    """Create what is missing and say what was done; running it twice adds nothing."""
    if current_app.config["DSAR_ENV"] == "production":
        raise DemoRefused(
            "The demo world is not for production (DSAR_ENV=production): its staff accounts "
            "have published passwords. Register your own systems with `flask dsar "
            "load-systems FILE` and make your admin with `flask dsar create-user`."
        )
    folder = current_app.config["DSAR_DEMO_DIR"]
    if rebuild or not world.exists(folder):
        counts = world.build(folder, people=people)
        yield "Demo data systems built: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    else:
        yield f"Demo data systems found in {folder}"
    report = registry.load_file(DEMO_SYSTEMS, actor="demo")
    yield (
        f"Data systems registered: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged"
    )
    for email, (role, password) in DEMO_STAFF.items():
        if db.session.scalar(select(User).where(User.email == email)) is None:
            name = DEMO_NAMES[email]
            accounts.create_user(email, role, password, actor="demo", demo=True, name=name)
            yield f"Demo staff account created: {email}"
