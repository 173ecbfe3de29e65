"""The ``ppa`` command line: serve, demo, db upgrade, user and API client management."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from server.config import Settings, get_settings
from server.exports_api.cli import export_command

if TYPE_CHECKING:
    from server.models import AuditEvent

app = typer.Typer(help="ppa-collab: Projet Personnalisé d'Accompagnement collaboratif.")
db_app = typer.Typer(help="Database management.")
user_app = typer.Typer(help="User accounts.")
client_app = typer.Typer(help="API clients of structures' software (ESMS / DUI).")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(client_app, name="client")
audit_app = typer.Typer(help="Audit bundles of PPAs, verified offline.")
app.add_typer(audit_app, name="audit")
app.command("export")(export_command)


@app.callback()
def _setup() -> None:
    from server.logging import configure_logging

    configure_logging(json=get_settings().log_json)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _fail(text: str) -> typer.Exit:
    """Print a French error on stderr; the caller raises the returned exit (code 1)."""
    sys.stderr.write(f"Erreur : {text}\n")
    return typer.Exit(1)


def _operator() -> str:
    """Who runs the command, for the audit trail (the OS user name)."""
    import getpass

    return (getpass.getuser() or "operator")[:36]


def _admin_trace(action: str, object_type: str, object_id: str) -> AuditEvent:
    """The audit row of an account administration run from the command line (role admin)."""
    from server.db import utcnow
    from server.models import AuditEvent
    from server.people.accounts import ADMIN_ROLE

    return AuditEvent(
        at=utcnow(),
        actor_type="cli",
        actor_id=_operator(),
        role=ADMIN_ROLE,
        action=action,
        object_type=object_type,
        object_id=object_id,
        person_id=None,
    )


def _upgrade(settings: Settings) -> None:
    from server.files import private_data_dir
    from server.migrate import upgrade

    private_data_dir(settings.data_dir)
    upgrade(settings.resolved_database_url())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every Alembic migration to the configured database."""
    settings = get_settings()
    _upgrade(settings)
    _out("Base de données à jour.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port")] = None,
    migrate: Annotated[bool, typer.Option(help="Apply migrations before serving")] = True,
) -> None:
    """Run the service (REST API, WebSocket collaboration, browser editor)."""
    import uvicorn

    from server.web.proxy import uvicorn_options

    # The app (built by uvicorn's factory below) reads its settings again: the listen address
    # given here must be the one it derives its public URL from when PPA_PUBLIC_URL is unset.
    if host is not None:
        os.environ["PPA_HOST"] = host
    if port is not None:
        os.environ["PPA_PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    if migrate:
        _upgrade(settings)
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        access_log=False,
        ws_max_size=16 * 1024 * 1024,
        timeout_graceful_shutdown=10,
        **uvicorn_options(),  # forwarded headers: the app's PPA_FORWARDED_ALLOW_IPS decides
    )


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print logins and ids as JSON")] = False,
) -> None:
    """Seed the demo (idempotent) and print its logins."""
    from server.demo import seed_demo_database

    settings = get_settings()
    _upgrade(settings)
    data = asyncio.run(seed_demo_database(settings)).as_dict()
    if as_json:
        _out(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _out("Démo prête. Comptes (identifiant / mot de passe / rôle) :")
    for login in data["logins"]:  # type: ignore[attr-defined]
        _out(f"  {login['username']:<20} {login['password']:<32} {login['role']}")
    _out(f"Personne : {data['person_id']}  PPA : {data['ppa_id']}")
    if data.get("validated_ppa_id"):
        _out(
            f"PPA validé (historique, avenant en cours) : {data['validated_ppa_id']}  "
            f"version validée : {data['validated_version']}"
        )


@audit_app.command("verify")
def audit_verify(
    bundle: Annotated[Path, typer.Argument(help="Audit bundle (zip) of a PPA")],
    key_id: Annotated[
        str | None,
        typer.Option("--key-id", help="Key id the service publishes (GET /api/log/key)"),
    ] = None,
    known_head: Annotated[
        list[Path] | None,
        typer.Option(
            "--known-head",
            help="A signed tree head obtained earlier (JSON: GET /api/log/heads/latest, or a "
            "sth-<size>.json file of PPA_LOG_PUBLISH_DIR): the bundle must hold it with the same "
            "root, linked by consistency proofs (download the bundle with ?known_size=<size>) "
            "(repeatable)",
        ),
    ] = None,
) -> None:
    """Verify an audit bundle offline: exit 0 when intact, 1 naming the first broken link."""
    from versions.bundle import verify_bundle
    from versions.signing import SignedTreeHead

    heads = [h for h in _read_heads(known_head) if isinstance(h, SignedTreeHead)]
    report = verify_bundle(bundle, trusted_key_id=key_id, known_heads=heads)
    _out(report.render())
    raise typer.Exit(report.exit_code)


def _read_heads(paths: list[Path] | None) -> list[object]:
    from versions.signing import SignatureError, SignedTreeHead

    heads: list[object] = []
    for path in paths or []:
        try:
            heads.append(SignedTreeHead.from_json(json.loads(path.read_text())))
        except (OSError, ValueError, RecursionError, SignatureError) as exc:
            raise typer.BadParameter(f"tête signée illisible : {path}") from exc
    return heads


@audit_app.command("seal")
def audit_seal() -> None:
    """Seal the audit events not sealed yet into the global log (signed checkpoints)."""
    from server.audit.seal import seal
    from server.db import Database
    from server.ledger.log import signing_key

    settings = get_settings()
    _upgrade(settings)

    async def _run() -> tuple[int, int]:
        db = Database(settings.resolved_database_url())
        checkpoints = events = 0
        try:
            while True:
                async with db.transaction() as session:
                    row = await seal(
                        session, signing_key(settings), publish_dir=settings.log_publish_dir
                    )
                    if row is None:
                        return checkpoints, events
                    checkpoints += 1
                    events += row.last_seq - row.first_seq + 1
        finally:
            await db.dispose()

    checkpoints, events = asyncio.run(_run())
    _out(
        f"{events} événement(s) d'audit scellé(s) en {checkpoints} point(s) de scellement.\n"
        f"{events} audit event(s) sealed in {checkpoints} checkpoint(s)."
    )


@audit_app.command("verify-trail")
def audit_verify_trail(
    known_head: Annotated[
        list[Path] | None,
        typer.Option(
            "--known-head",
            help="A signed tree head published earlier (sth-<size>.json): the log must still "
            "agree with it (repeatable)",
        ),
    ] = None,
) -> None:
    """Check the service's own audit trail against its sealed checkpoints: exit 0 when intact,
    1 naming the first broken checkpoint."""
    from server.audit.seal import TrailReport, verify_trail
    from server.db import Database
    from versions.signing import SignedTreeHead

    heads = [h for h in _read_heads(known_head) if isinstance(h, SignedTreeHead)]
    settings = get_settings()

    async def _run() -> TrailReport:
        db = Database(settings.resolved_database_url())
        try:
            async with db.transaction() as session:
                return await verify_trail(session, heads)
        finally:
            await db.dispose()

    report = asyncio.run(_run())
    _out(report.render())
    raise typer.Exit(0 if report.ok else 1)


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Option(help="Login")],
    display_name: Annotated[str, typer.Option(help="Name shown to others")],
    kind: Annotated[str, typer.Option(help="professional, person, aidant, auditor or admin")] = (
        "professional"
    ),
    professional_id: Annotated[str | None, typer.Option(help="Linked professional id")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Password (prompted when absent)", envvar="PPA_NEW_PASSWORD"),
    ] = None,
) -> None:
    """Create a user account (the password is stored argon2-hashed)."""
    from sqlalchemy import select

    from server.auth.security import hash_password
    from server.db import Database
    from server.models import Professional, User
    from server.models.identity import UserKind

    if kind not in {k.value for k in UserKind}:
        raise typer.BadParameter(f"type de compte inconnu : {kind}")
    if password is None:
        password = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise typer.BadParameter("le mot de passe doit faire au moins 8 caractères")
    settings = get_settings()
    _upgrade(settings)

    async def _run() -> str:
        db = Database(settings.resolved_database_url())
        try:
            async with db.transaction() as session:
                if await session.scalar(select(User.id).where(User.username == username)):
                    raise typer.BadParameter(f"l'identifiant {username} existe déjà")
                if professional_id and await session.get(Professional, professional_id) is None:
                    raise typer.BadParameter("professionnel introuvable")
                user = User(
                    username=username,
                    password_hash=hash_password(password),
                    display_name=display_name,
                    kind=kind,
                    professional_id=professional_id,
                )
                session.add(user)
                await session.flush()
                return user.id
        finally:
            await db.dispose()

    _out(asyncio.run(_run()))


def _set_active(username: str, active: bool) -> None:
    """Deactivate or reactivate the login ``username`` (traced as the operator, role admin)."""
    from sqlalchemy import select

    from server.auth.browser_session import end_user_sessions
    from server.db import Database
    from server.models import User
    from server.people.accounts import (
        DEACTIVATED_REASON,
        end_live_sessions_from_cli,
        set_user_active,
        user_action,
    )

    settings = get_settings()
    _upgrade(settings)

    async def _run() -> bool | None:
        db = Database(settings.resolved_database_url())
        try:
            async with db.transaction() as session:
                user = await session.scalar(select(User).where(User.username == username))
                if user is None:
                    return None
                if not set_user_active(user, active):
                    return False
                if not active:
                    await end_user_sessions(session, user.id)
                session.add(_admin_trace(user_action(active), "user", user.id))
            if not active:  # committed: its live connections, over Redis if configured
                await end_live_sessions_from_cli(settings, user.id, DEACTIVATED_REASON)
            return True
        finally:
            await db.dispose()

    changed = asyncio.run(_run())
    if changed is None:
        raise _fail(f"aucun compte avec l'identifiant {username}.")
    state = "activé" if active else "désactivé"
    if changed:
        _out(f"Compte {username} {state}.")
    else:
        _out(f"Le compte {username} était déjà {state} : rien n'a changé.")


@user_app.command("deactivate")
def user_deactivate(username: Annotated[str, typer.Argument(help="Login")]) -> None:
    """Deactivate a login: its tokens and new logins are refused from now on (exit 1: unknown)."""
    _set_active(username, False)


@user_app.command("activate")
def user_activate(username: Annotated[str, typer.Argument(help="Login")]) -> None:
    """Reactivate a deactivated login (exit 1: unknown login)."""
    _set_active(username, True)


@client_app.command("create")
def client_create(
    name: Annotated[str, typer.Option(help="Software name")],
    structure_id: Annotated[str | None, typer.Option(help="Structure id")] = None,
) -> None:
    """Create an API client; prints its token once (only a hash is stored)."""
    from server.auth.security import new_api_token
    from server.db import Database
    from server.models import ApiClient

    settings = get_settings()
    _upgrade(settings)
    token, prefix, token_hash = new_api_token()

    async def _run() -> None:
        db = Database(settings.resolved_database_url())
        try:
            async with db.transaction() as session:
                session.add(
                    ApiClient(
                        name=name,
                        structure_id=structure_id,
                        token_prefix=prefix,
                        token_hash=token_hash,
                    )
                )
        finally:
            await db.dispose()

    asyncio.run(_run())
    _out(token)


@client_app.command("list")
def client_list() -> None:
    """List the API clients (id, name, structure, created, revoked); no token is shown."""
    from sqlalchemy import select

    from server.db import Database
    from server.models import ApiClient

    settings = get_settings()
    _upgrade(settings)

    async def _run() -> list[ApiClient]:
        db = Database(settings.resolved_database_url())
        try:
            async with db.transaction() as session:
                query = select(ApiClient).order_by(ApiClient.created_at, ApiClient.id)
                return list(await session.scalars(query))
        finally:
            await db.dispose()

    for client in asyncio.run(_run()):
        revoked = f"révoqué le {client.revoked_at:%Y-%m-%d %H:%M}" if client.revoked_at else "actif"
        structure = client.structure_id or "-"
        _out(f"{client.id}  {client.name}  structure {structure}  {revoked}")


@client_app.command("revoke")
def client_revoke(client_id: Annotated[str, typer.Argument(help="API client id")]) -> None:
    """Revoke an API client: its token is refused from now on (exit 1: unknown id)."""
    from server.db import Database
    from server.models import ApiClient
    from server.people.accounts import (
        REVOKED_REASON,
        end_live_sessions_from_cli,
        revoke_client,
    )

    settings = get_settings()
    _upgrade(settings)

    async def _run() -> bool | None:
        db = Database(settings.resolved_database_url())
        try:
            async with db.transaction() as session:
                client = await session.get(ApiClient, client_id)
                if client is None:
                    return None
                if not revoke_client(client):
                    return False
                session.add(_admin_trace("api_client.revoke", "api_client", client.id))
            # committed: its live connections, over Redis if configured
            await end_live_sessions_from_cli(settings, client.id, REVOKED_REASON)
            return True
        finally:
            await db.dispose()

    revoked = asyncio.run(_run())
    if revoked is None:
        raise _fail(f"aucun client d'API avec l'identifiant {client_id}.")
    if revoked:
        _out(f"Client d'API {client_id} révoqué.")
    else:
        _out(f"Le client d'API {client_id} était déjà révoqué : rien n'a changé.")


if __name__ == "__main__":  # pragma: no cover
    app()
