"""`flask --app wsgi backup create|restore PATH` and `flask --app wsgi check`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from competition.extensions import db

backup_group = AppGroup("backup", help="One portable archive of the database and the stored files.")


def register(app: Flask) -> None:
    app.cli.add_command(backup_group)
    app.cli.add_command(check)


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


@backup_group.command("create")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def create(path: str) -> None:
    """Write a backup archive (a ZIP file) to PATH while the app keeps running.

    It holds every table (portable between SQLite and PostgreSQL), every stored file the rows name
    and a manifest with a SHA-256 per entry. Exits with 1 when a file was missing or damaged (the
    archive is written all the same, and lists them)."""
    from competition.operations.backup import BackupError, create_backup

    try:
        report = create_backup(path)
    except BackupError as error:
        raise click.ClickException(error.message) from None
    click.echo(
        f"Backup written to {report.path}: {sum(report.rows.values())} rows in {len(report.rows)} tables, "
        f"{report.files} files ({_megabytes(report.file_bytes)}), schema revision {report.revision}."
    )
    for problem in report.problems:
        click.echo(f"  problem: {problem}", err=True)
    if report.problems:
        raise SystemExit(1)


@backup_group.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--skip-files", is_flag=True, help="Do not hash every stored file in the final check.")
def restore(path: str, skip_files: bool) -> None:
    """Fill this empty instance from the backup archive at PATH, then check the invariants.

    Refuses a damaged or changed archive (checked before anything is touched) and a database that
    already has rows."""
    from competition.operations.backup import BackupError, restore_backup

    try:
        report = restore_backup(path)
    except BackupError as error:
        raise click.ClickException(error.message) from None
    click.echo(
        f"Restored {sum(report.rows.values())} rows in {len(report.rows)} tables and {report.files} files "
        f"(schema revision {report.revision}{', then upgraded to the newest' if report.migrated_to_head else ''})."
    )
    if not _report_invariants(skip=("files",) if skip_files else ()):
        raise SystemExit(1)


@click.command("check")
@click.option("--skip-files", is_flag=True, help="Do not hash every stored file (the slow part).")
@click.option("--only", "names", multiple=True, help="Run only this invariant (repeat the option).")
def check(skip_files: bool, names: tuple[str, ...]) -> None:
    """Check the invariants of the data: scores and assignments, conflicts, stored files and their
    SHA-256, published results against a recomputation, certificate serials, team sizes.

    Exits with 0 when everything holds, 1 with the list of violations otherwise."""
    from competition.operations.invariants import INVARIANTS

    unknown = [name for name in names if name not in INVARIANTS]
    if unknown:
        raise click.BadParameter(
            f"unknown invariant {', '.join(unknown)}; choose from {', '.join(INVARIANTS)}", param_hint="--only"
        )
    if not _report_invariants(names=names, skip=("files",) if skip_files else ()):
        raise SystemExit(1)


def _report_invariants(*, names: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> bool:
    from competition.operations.invariants import INVARIANTS, run

    found = run(names or None, skip=skip)
    db.session.rollback()
    for name, problems in found.items():
        status = "ok" if not problems else f"{len(problems)} violation(s)"
        click.echo(f"{name}: {status} — {INVARIANTS[name].description}")
        for problem in problems:
            click.echo(f"  - {problem}")
    for name in skip:
        click.echo(f"{name}: skipped")
    clean = not any(found.values())
    click.echo("All invariants hold." if clean else "Some invariants do not hold.")
    return clean
