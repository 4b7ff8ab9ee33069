"""`flask --app wsgi dsar ...`: accounts, API keys, data systems, the demo world."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from dsar import deadlines, rules
from dsar.exceptions import ConfigFileError
from dsar.models import RequestKind, Role
from dsar.services import accounts, systems

group = AppGroup("dsar", help="dsar administration.")


def register(app: Flask) -> None:
    app.cli.add_command(group)


@group.command("create-user")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option(
    "--password",
    help="Prompted for when omitted; generated when left empty.",
    prompt=True,
    prompt_required=False,
    hide_input=True,
    default="",
)
def create_user(email: str, role: str, password: str) -> None:
    """Create a staff account."""
    generated = not password
    password = password or secrets.token_urlsafe(18)
    try:
        user = accounts.create_user(email, Role(role), password)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role.value} account {user.email}.")
    if generated:
        click.echo(f"Password (shown once): {password}")


@group.command("create-api-key")
@click.option("--name", default="integration", help="Who or what the key is for.")
def create_api_key(name: str) -> None:
    """Create an API key; the key is printed alone on the last line, once."""
    key, secret = accounts.create_api_key(name)
    click.echo(f"API key #{key.id} ({key.name}) created. Store it now; it is not shown again:")
    click.echo(secret)


@group.command("load-systems")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def load_systems(path: Path) -> None:
    """Register or update the data systems described in a TOML file."""
    try:
        report = systems.load_file(path)
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"added: {', '.join(report.added) or '-'}; updated: {', '.join(report.updated) or '-'}; "
        f"unchanged: {', '.join(report.unchanged) or '-'}"
    )


@group.command("reconcile")
def reconcile_cmd() -> None:
    """Send again the tasks whose jobs Redis lost (run it after a Redis restart or flush)."""
    from dsar.services import reconcile

    counts = reconcile.run()
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))


@group.command("explain-deadline")
@click.option("--regime", required=True, type=click.Choice(sorted(rules.REGIMES)))
@click.option("--kind", required=True, type=click.Choice([k.value for k in RequestKind]))
@click.option(
    "--received",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The day of receipt, YYYY-MM-DD, in the company's time zone.",
)
@click.option("--extended", is_flag=True, help="Show the dates after the regime's extension.")
def explain_deadline(regime: str, kind: str, received: datetime, extended: bool) -> None:
    """Print a request's due dates and how they were reached, as one JSON object."""
    rule_set = rules.regime(regime)
    request_kind = RequestKind(kind)
    if request_kind not in rule_set.kinds:
        raise click.BadParameter(f"{rule_set.name} gives no {kind} right", param_hint="--kind")
    day = received.date()
    events = [deadlines.ClockEvent("extend", day, "extension requested")] if extended else []
    try:
        due = deadlines.explain(regime, request_kind, day, events=events, today=day)
    except deadlines.ClockError as exc:
        raise click.BadParameter(str(exc), param_hint="--extended") from None
    click.echo(
        json.dumps(
            {
                "acknowledge_by": _iso(due.acknowledge_by),
                "respond_by": due.respond_by.isoformat(),
                "extended_respond_by": _iso(due.extended_respond_by),
                "trace": due.trace,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@group.command("audit-verify")
def audit_verify() -> None:
    """Check the hash chain of every event; exit 1 and name the first broken event if not."""
    from dsar.services import audit

    result = audit.verify()
    click.echo(result.message)
    if not result.ok:
        raise SystemExit(1)


@group.command("demo")
@click.option("--people", default=3000, show_default=True)
@click.option("--rebuild", is_flag=True, help="Rebuild the demo data systems from the seed.")
def demo(people: int, rebuild: bool) -> None:
    """Create the demo world: data systems, their registry entries and staff logins."""
    from dsar.demo.seed import ensure_demo

    for line in ensure_demo(people=people, rebuild=rebuild):
        click.echo(line)


@group.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
def purge(dry_run: bool) -> None:
    """Apply the retention policy: purge located data, then identities past the record period."""
    from dsar.services import retention

    counts = retention.run(dry_run=dry_run)
    click.echo(("would purge: " if dry_run else "purged: ") + json.dumps(counts))
