"""`flask --app wsgi certificates ...`: generate a round's certificates in this process with a
progress bar, show where a round stands, and remake the subset fonts."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from competition.certificates.issuing import CHOICES
from competition.extensions import db

certificates_group = AppGroup("certificates", help="Certificates: bulk generation, status, fonts.")


def register(app: Flask) -> None:
    # importing the job module registers the job handler, for web processes and workers alike
    from competition.certificates import jobs  # noqa: F401

    app.cli.add_command(certificates_group)


def _round(code: str, round_id: int):
    from competition.competitions.models import Competition
    from competition.rounds.models import Round

    competition = db.session.scalar(select(Competition).where(Competition.code == code))
    if competition is None:
        raise click.ClickException(f"No competition with the code {code!r}.")
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.competition_id != competition.id:
        raise click.ClickException(f"Competition {code} has no round {round_id}.")
    return round_


@certificates_group.command("generate")
@click.option("--competition", "code", required=True, help="The competition's code, e.g. CY2026.")
@click.option("--round", "round_id", required=True, type=int, help="The round's id.")
@click.option(
    "--only",
    "choices",
    multiple=True,
    type=click.Choice(CHOICES),
    help="Issue only these kinds (repeat the option); every kind when omitted.",
)
@click.option("--date", "issued_on", type=click.DateTime(formats=["%Y-%m-%d"]), help="Date printed (YYYY-MM-DD).")
def generate(code: str, round_id: int, choices: tuple[str, ...], issued_on) -> None:
    """Issue a round's certificates from its published results, here and now.

    Safe to rerun: it adds what is missing and renders only what is not issued yet."""
    from competition.certificates import issuing
    from competition.certificates import jobs as certificate_jobs
    from competition.core.errors import DomainError

    round_ = _round(code, round_id)
    settings = issuing.IssueSettings(
        choices=frozenset(choices or issuing.CHOICES), issued_on=issued_on.date() if issued_on else None
    )
    bar = None
    shown = 0

    def on_start(done: int, total: int) -> None:
        nonlocal bar, shown
        bar = click.progressbar(length=total, label="Rendering certificates", show_pos=True)
        bar.__enter__()
        bar.update(done)
        shown = done

    def progress(done: int, total: int) -> None:
        nonlocal shown
        bar.update(done - shown)
        shown = done

    try:
        planned, rendered = certificate_jobs.run(round_, settings, progress=progress, on_start=on_start)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error.message)) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(
        f"planned: {planned.created} new, {planned.updated} updated, {planned.removed} removed, "
        f"{planned.total} in all; rendered: {rendered.issued} issued, {rendered.failed} failed"
    )
    for serial, reason, detail in rendered.failures:
        shown = (
            " ".join(f"{char} (U+{ord(char):04X})" for char in detail) if reason == "uncovered_characters" else detail
        )
        click.echo(f"  {serial}: {reason}: {shown}", err=True)
    if rendered.failed:
        raise SystemExit(1)


@certificates_group.command("status")
@click.option("--competition", "code", required=True)
@click.option("--round", "round_id", required=True, type=int)
def status(code: str, round_id: int) -> None:
    """Count a round's certificates by state."""
    from competition.certificates.services import round_counts

    counts = round_counts(_round(code, round_id))
    click.echo(" ".join(f"{state}={count}" for state, count in counts.items()))


@certificates_group.command("subset-fonts")
def subset_fonts() -> None:
    """Make the pre-subset CJK faces in static/fonts/ from Debian's fonts-noto-cjk."""
    from competition.certificates import fonts

    for name, size in fonts.make_subsets():
        click.echo(f"{name}: {size / 1024 / 1024:.1f} MB")
