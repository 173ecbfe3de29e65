"""``ppa export``: export one version to a file, or every PPA's current version to a folder.

An operator's tool with direct database access (like ``ppa user create``): no cercle role is
checked, but every file written leaves an audit trace (actor type ``cli``, the OS user name).
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from server.config import get_settings


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


@dataclass
class Job:
    ppa_id: str
    number: int | None
    target: Path
    """A file, or a folder (bulk export: files named by ``registry.filename``)."""


@dataclass
class Outcome:
    written: list[Path]
    skipped: list[tuple[str, str]]
    """(PPA id, French reason)."""


def _progress(jobs: list[Job], label: str) -> Iterator[Job]:
    """Yield ``jobs`` while showing progress on stderr: a bar on a terminal, else (a log, a
    cron mail) one line per PPA done, ``<label> i/n``."""
    if sys.stderr.isatty():
        with typer.progressbar(jobs, label=label, file=sys.stderr, show_pos=True) as bar:
            yield from bar
        return
    for done, job in enumerate(jobs, 1):
        yield job
        _err(f"{label} {done}/{len(jobs)}")


async def _export(jobs: list[Job] | None, format_name: str, out_dir: Path | None) -> Outcome:
    from sqlalchemy import select

    from server.db import Database, utcnow
    from server.errors import AppError
    from server.exports_api import repository, service
    from server.exports_api.context import export_input
    from server.models import PPA, AuditEvent, Version

    settings = get_settings()
    db = Database(settings.resolved_database_url())
    fmt = service.get_format(format_name)
    actor = (getpass.getuser() or "operator")[:36]
    outcome = Outcome([], [])
    try:
        if jobs is None:
            if out_dir is None:
                raise RuntimeError("out_dir is None")
            async with db.transaction() as session:
                ids = list(await session.scalars(select(PPA.id).order_by(PPA.created_at, PPA.id)))
            jobs = [Job(ppa_id, None, out_dir) for ppa_id in ids]
        for job in _progress(jobs, f"Export {fmt.name}"):
            async with db.transaction() as session:
                ppa = await session.get(PPA, job.ppa_id)
                if ppa is None:
                    outcome.skipped.append((job.ppa_id, "PPA introuvable"))
                    continue
                version: Version | None
                if job.number is None:
                    version = await repository.latest_validated(session, ppa.id)
                else:
                    version = await session.get(Version, (ppa.id, job.number))
                if version is None:
                    what = "aucune version validée" if job.number is None else "version absente"
                    outcome.skipped.append((ppa.id, what))
                    continue
                try:
                    service.check_allowed(fmt, version)
                    rendered = await service.render(fmt, await export_input(session, ppa, version))
                except AppError as exc:
                    outcome.skipped.append((ppa.id, exc.detail))
                    continue
                path = job.target
                if path.is_dir():
                    path = path / rendered.filename
                path.write_bytes(rendered.data)
                outcome.written.append(path)
                session.add(
                    AuditEvent(
                        at=utcnow(),
                        actor_type="cli",
                        actor_id=actor,
                        action=f"ppa.export:{fmt.name}:v{version.number}",
                        object_type="ppa",
                        object_id=ppa.id,
                        person_id=ppa.person_id,
                    )
                )
    finally:
        await db.dispose()
    return outcome


def export_command(
    ppa_id: Annotated[str | None, typer.Argument(help="PPA id (omit with --all)")] = None,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="File, or folder (files named like the download)"),
    ] = Path("."),
    format_name: Annotated[
        str, typer.Option("--format", "-f", help="pdf, docx, falc, fhir, cda, xdm, ics, ...")
    ] = "pdf",
    version: Annotated[
        int | None,
        typer.Option("--version", "-n", help="Version number (default: the last validated)"),
    ] = None,
    all_ppas: Annotated[
        bool, typer.Option("--all", help="Every PPA's last validated version, into a folder")
    ] = False,
) -> None:
    """Export a version of a PPA to a file, or every PPA (--all) to a folder, with a progress
    bar. Same bytes as the API download. Each file written is traced in the audit trail."""
    from server.errors import AppError

    if all_ppas == (ppa_id is not None):
        raise typer.BadParameter("indiquez un PPA_ID, ou --all (pas les deux)")
    if all_ppas and version is not None:
        raise typer.BadParameter("--version ne s'emploie pas avec --all")
    if all_ppas:
        output.mkdir(parents=True, exist_ok=True)
        jobs = None
    else:
        if ppa_id is None:
            raise RuntimeError("ppa_id is None")
        jobs = [Job(ppa_id, version, output)]
    try:
        outcome = asyncio.run(_export(jobs, format_name, output if all_ppas else None))
    except AppError as exc:
        _err(exc.detail)
        raise typer.Exit(1) from exc
    for skipped_id, reason in outcome.skipped:
        _err(f"{skipped_id} : {reason}")
    if not all_ppas and not outcome.written:
        raise typer.Exit(1)
    sys.stdout.write(
        f"{len(outcome.written)} fichier(s) écrit(s), {len(outcome.skipped)} ignoré(s).\n"
    )
