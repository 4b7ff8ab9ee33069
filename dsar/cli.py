"""`flask --app wsgi dsar ...`: accounts, API keys, data systems, the demo world."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from dsar import deadlines, rules
from dsar.models import ApiKey, RequestKind, Role
from dsar.services import accounts, api_keys

group = AppGroup("dsar", help="dsar administration.")


def register(app: Flask) -> None:
    from dsar import cli_systems

    for command in cli_systems.COMMANDS:
        group.add_command(command)
    app.cli.add_command(group)


@group.command("create-user")
@click.option("--email", required=True)
@click.option("--name", default="", help="How histories and evidence name the person.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option(
    "--password",
    help="Prompted for (typed twice, not shown) when omitted; press Enter to generate one.",
)
def create_user(email: str, name: str, role: str, password: str | None) -> None:
    """Create a staff account."""
    if password is None:
        password = _ask_password()
    generated = not password
    password = password or secrets.token_urlsafe(18)
    try:
        user = accounts.create_user(email, Role(role), password, name=name)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role.value} account {user.email}.")
    if generated:
        click.echo(f"Password (shown once): {password}")


def _ask_password() -> str:
    """The password typed twice (not shown), or "" to generate one."""
    while True:
        first = click.prompt(
            "Password (at least 12 characters; press Enter to generate one)",
            default="",
            show_default=False,
            hide_input=True,
        )
        if not first:
            return ""
        if click.prompt("Repeat the password", hide_input=True) == first:
            return str(first)
        click.echo("The two passwords differ; please type them again.", err=True)


def _scope_option(default: tuple[str, ...]) -> Any:
    return click.option(
        "--scope",
        "scopes",
        multiple=True,
        default=default,
        show_default=True,
        type=click.Choice(list(api_keys.SCOPES)),
        help="What the key may do; repeat for several. "
        + "; ".join(f"{name}: {words}" for name, words in api_keys.SCOPES.items()),
    )


def _key(key_id: int) -> ApiKey:
    try:
        return api_keys.get(key_id)
    except api_keys.ApiKeyError as exc:
        raise click.BadParameter(str(exc), param_hint="KEY_ID") from None


@group.command("create-api-key")
@click.option("--name", default="integration", help="Who or what the key is for.")
@_scope_option(api_keys.DEFAULT_SCOPES)
def create_api_key(name: str, scopes: tuple[str, ...]) -> None:
    """Create an API key; the key is printed alone on the last line, once."""
    key, secret = api_keys.create(name, scopes=scopes)
    click.echo(
        f"API key #{key.id} ({key.name}) created with scopes {', '.join(key.scopes)}. "
        "Store it now; it is not shown again:"
    )
    click.echo(secret)


@group.command("list-api-keys")
def list_api_keys() -> None:
    """List the API keys: id, name, prefix, scopes, last use, and whether revoked."""
    for key in api_keys.listed():
        used = f"{key.last_used_at:%Y-%m-%d %H:%M} UTC" if key.last_used_at else "never"
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(
            f"#{key.id}\t{key.name}\tdsar_{key.prefix}_…\t{','.join(key.scopes)}\t"
            f"last used {used}\t{state}"
        )


@group.command("rotate-api-key")
@click.argument("key_id", type=click.IntRange(min=1, max=2**63 - 1))
def rotate_api_key(key_id: int) -> None:
    """Give a key a new secret (printed alone on the last line); the old one stops at once."""
    key = _key(key_id)
    try:
        secret = api_keys.rotate(key, actor="cli")
    except api_keys.ApiKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"API key #{key.id} ({key.name}) rotated; the old secret no longer works:")
    click.echo(secret)


@group.command("revoke-api-key")
@click.argument("key_id", type=click.IntRange(min=1, max=2**63 - 1))
def revoke_api_key(key_id: int) -> None:
    """Stop a key for good."""
    key = _key(key_id)
    api_keys.revoke(key, actor="cli")
    click.echo(f"API key #{key.id} ({key.name}) is revoked.")


@group.command("set-api-key-scopes")
@click.argument("key_id", type=click.IntRange(min=1, max=2**63 - 1))
@_scope_option(())
def set_api_key_scopes(key_id: int, scopes: tuple[str, ...]) -> None:
    """Replace what a key may do, e.g. --scope requests:create --scope answers:download."""
    key = _key(key_id)
    try:
        api_keys.set_scopes(key, scopes, actor="cli")
    except api_keys.ApiKeyError as exc:
        raise click.BadParameter(str(exc), param_hint="--scope") from None
    click.echo(f"API key #{key.id} ({key.name}) may now: {', '.join(key.scopes)}.")


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
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A signed checkpoint file to check the chain against (default: the newest one in "
    "DSAR_AUDIT_DIR, if any).",
)
def audit_verify(checkpoint_file: Path | None) -> None:
    """Check the hash chain of every event, then against a checkpoint kept outside the
    database; exit 1 and name the first broken event if either fails."""
    from flask import current_app

    from dsar.services import audit_checks, checkpoints

    checkpoint = None
    if checkpoint_file is not None:
        try:
            checkpoint = checkpoints.read(checkpoint_file)
        except checkpoints.CheckpointInvalid as exc:
            message = f"{checkpoint_file} is not a dsar audit checkpoint: {exc}"
            raise click.BadParameter(message, param_hint="--checkpoint") from None
    verdict = audit_checks.check(
        checkpoint=checkpoint,
        source=str(checkpoint_file or ""),
        folder=current_app.config["DSAR_AUDIT_DIR"],
    )
    for line in verdict.lines:
        click.echo(line)
    if not verdict.ok:
        raise SystemExit(1)


@group.command("audit-checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's head now and keep it in DSAR_AUDIT_DIR; print where."""
    from dsar.services import checkpoints

    try:
        checkpoint, path = checkpoints.write()
    except checkpoints.CheckpointError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Checkpoint of seq {checkpoint.seq} (hash {checkpoint.hash}, {checkpoint.written}) "
        f"written to {path} and {path.parent / checkpoints.LATEST}."
    )


@group.command("demo")
@click.option("--people", default=3000, show_default=True)
@click.option("--rebuild", is_flag=True, help="Rebuild the demo data systems from the seed.")
def demo(people: int, rebuild: bool) -> None:
    """Create the demo world: data systems, their registry entries and staff logins."""
    from dsar.demo.seed import DemoRefused, ensure_demo

    try:
        for line in ensure_demo(people=people, rebuild=rebuild):
            click.echo(line)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None


@group.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
def purge(dry_run: bool) -> None:
    """Apply the retention policy: purge located data, then identities past the record period."""
    from dsar.services import retention

    counts = retention.run(dry_run=dry_run)
    click.echo(("would purge: " if dry_run else "purged: ") + json.dumps(counts))
