"""Command-line tools: `flask --app wsgi <command>`."""

from __future__ import annotations

import secrets

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from competition.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(demo_group)
    app.cli.add_command(jobs_group)
    app.cli.add_command(institutions_group)
    app.cli.add_command(mail_group)


@click.command("create-admin")
@click.argument("email")
@click.option("--name", "real_name", default="平台管理员", show_default=True, help="Real name shown in the app.")
@click.option("--password", help="Password; prompted for when omitted (use '-' to generate one).")
def create_admin(email: str, real_name: str, password: str | None) -> None:
    """Create a platform admin (or make an existing account one)."""
    from competition.accounts.services import create_admin as create
    from competition.core.errors import DomainError

    if password == "-":  # noqa: S105 - the "generate one" marker, not a password  # nosec B105
        password = secrets.token_urlsafe(12)
        click.echo(f"Generated password: {password}")
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create(email=email, password=password, real_name=real_name)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from None
    db.session.commit()
    click.echo(f"{user.email} is a platform admin.")


demo_group = AppGroup("demo", help="Demonstration data.")


@demo_group.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has accounts.")
def demo_load(if_empty: bool) -> None:
    """Load a believable alliance competition with one log-in per role."""
    from competition import demo
    from competition.accounts.models import User

    if if_empty and db.session.scalar(select(func.count(User.id))):
        click.echo("Demo data: the database already has accounts; nothing loaded.")
    else:
        demo.load()
        db.session.commit()
        click.echo("Demo data loaded.")
    demo.print_logins(click.echo)


@demo_group.command("logins")
def demo_logins() -> None:
    """Print the demo log-ins."""
    from competition import demo

    demo.print_logins(click.echo)


jobs_group = AppGroup("jobs", help="Background jobs.")


@jobs_group.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def jobs_worker(burst: bool) -> None:
    """Run an RQ worker (needs REDIS_URL)."""
    from competition.core.jobs import run_worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set; without it jobs run inside the web process.")
    run_worker(current_app._get_current_object(), burst=burst)


@jobs_group.command("tick")
def jobs_tick() -> None:
    """Periodic work (run from cron or a systemd timer every few minutes): due reminders to judges,
    e-mails due for another attempt, jobs that never reached Redis."""
    from competition.core.jobs import run_upkeep
    from competition.core.time import utcnow
    from competition.scoring.services import send_due_reminders

    rounds = send_due_reminders(utcnow())
    db.session.commit()
    click.echo(f"reminders sent for {len(rounds)} round(s)")
    done = run_upkeep()
    click.echo(f"e-mails retried: {done.get('competition.core.mail.retry_due', 0)}")


@jobs_group.command("run-pending")
def jobs_run_pending() -> None:
    """Run every queued job in this process."""
    from competition.core.jobs import run_pending_jobs

    click.echo(f"{run_pending_jobs()} job(s) run.")


mail_group = AppGroup("mail", help="The e-mail outbox.")


@mail_group.command("retry")
def mail_retry() -> None:
    """Send again the e-mails whose next attempt is due (the RQ worker does it every minute; run
    this, or `jobs tick`, from cron when jobs run in the web process)."""
    from competition.core.mail import retry_due

    started = retry_due()
    db.session.commit()
    click.echo(f"{started} e-mail(s) due for another attempt handed to delivery.")


institutions_group = AppGroup("institutions", help="The alliance's institutions.")


@institutions_group.command("load")
def institutions_load() -> None:
    """Insert or update the institutions shipped with the app."""
    from competition.institutions.services import load_institutions

    changed = load_institutions()
    db.session.commit()
    click.echo(f"{changed} institution(s) added or updated.")
