"""`flask --app wsgi dsar ...` for data systems: register from a file, list, enable, disable."""

from __future__ import annotations

from pathlib import Path

import click

from dsar.exceptions import ConfigFileError
from dsar.services import registry, systems


@click.command("load-systems")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def load_systems(path: Path) -> None:
    """Register or update the data systems described in a TOML file."""
    try:
        report = registry.load_file(path)
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"added: {', '.join(report.added) or '-'}; updated: {', '.join(report.updated) or '-'}; "
        f"unchanged: {', '.join(report.unchanged) or '-'}"
    )


@click.command("list-systems")
def list_systems() -> None:
    """The registered data systems: key, kind, enabled or disabled, name."""
    for system in systems.all_systems():
        state = "enabled" if system.enabled else "disabled"
        click.echo(f"{system.key}\t{system.kind.value}\t{state}\t{system.name}")


def _set_enabled(key: str, enabled: bool) -> None:
    system = systems.get(key)
    if system is None:
        raise click.BadParameter(f"no data system {key!r}; see list-systems", param_hint="KEY")
    changed = systems.set_enabled(system, enabled, actor="cli")
    state = "enabled" if enabled else "disabled"
    click.echo(f"{key} {'is now' if changed else 'was already'} {state}.")


@click.command("disable-system")
@click.argument("key")
def disable_system(key: str) -> None:
    """Stop giving new requests tasks in a system (tasks already made run on)."""
    _set_enabled(key, False)


@click.command("enable-system")
@click.argument("key")
def enable_system(key: str) -> None:
    """Give new requests tasks in a system again."""
    _set_enabled(key, True)


COMMANDS = (load_systems, list_systems, disable_system, enable_system)
