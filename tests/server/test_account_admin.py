"""Administrators revoke API clients and deactivate or reactivate logins over the API; the
server refuses the revoked token and the deactivated account from the very next request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from server.models import User
from tests.conftest import DatabaseInfo, LiveServer
from tests.server.helpers import sql_login

REFUSED = {"error": "Unauthenticated", "detail": "Jeton invalide ou expiré : reconnectez-vous."}
PASSWORD = "mot de passe du compte"


@pytest.fixture(scope="module")
def engine(database: DatabaseInfo) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database.sync_url)
    yield engine
    engine.dispose()


def me(live_server: LiveServer, token: str) -> httpx.Response:
    return httpx.get(
        f"{live_server.url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def login(live_server: LiveServer, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{live_server.url}/api/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )


def new_user(engine: sa.Engine) -> tuple[str, str]:
    """(id, username) of a fresh active professional login."""
    return sql_login(engine, PASSWORD, "Compte administré")


def is_active(engine: sa.Engine, user_id: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(sa.select(User.is_active).where(User.id == user_id)))


def test_revoked_client_is_refused_right_after_the_delete(
    live_server: LiveServer, api_as: Any
) -> None:
    admin = api_as("admin")
    created = admin.post("/api/api-clients", json={"name": "Logiciel révoqué par l'API"})
    assert created.status_code == 201, created.text
    token, client_id = created.json()["token"], created.json()["id"]
    assert me(live_server, token).json()["id"] == client_id

    assert admin.delete(f"/api/api-clients/{client_id}").status_code == 204
    refused = me(live_server, token)
    assert refused.status_code == 401, refused.text
    assert refused.json() == REFUSED
    # Idempotent: revoking again changes nothing.
    listed = {c["id"]: c for c in admin.get("/api/api-clients").json()}
    revoked_at = listed[client_id]["revoked_at"]
    assert revoked_at is not None
    assert admin.delete(f"/api/api-clients/{client_id}").status_code == 204
    listed = {c["id"]: c for c in admin.get("/api/api-clients").json()}
    assert listed[client_id]["revoked_at"] == revoked_at
    assert me(live_server, token).status_code == 401


def test_client_list_shows_no_secret(live_server: LiveServer, api_as: Any) -> None:
    admin = api_as("admin")
    created = admin.post("/api/api-clients", json={"name": "Logiciel listé"}).json()
    listed = admin.get("/api/api-clients")
    assert listed.status_code == 200, listed.text
    row = next(c for c in listed.json() if c["id"] == created["id"])
    assert set(row) == {"id", "name", "structure_id", "created_at", "revoked_at"}
    assert (row["name"], row["structure_id"], row["revoked_at"]) == ("Logiciel listé", None, None)
    datetime.fromisoformat(row["created_at"])
    prefix = created["token"].split("_")[1]
    assert created["token"] not in listed.text
    assert prefix not in listed.text
    # The demo's ESMS client is listed too, still active.
    esms_id = api_as("esms").get("/api/auth/me").json()["id"]
    assert next(c for c in listed.json() if c["id"] == esms_id)["revoked_at"] is None


def test_unknown_client_is_404(api_as: Any) -> None:
    response = api_as("admin").delete(f"/api/api-clients/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "Client d'API introuvable."}


def test_deactivation_refuses_tokens_and_logins_and_reactivation_restores_them(
    live_server: LiveServer, api_as: Any, engine: sa.Engine
) -> None:
    user_id, username = new_user(engine)
    response = login(live_server, username, PASSWORD)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert me(live_server, token).json()["id"] == user_id

    admin = api_as("admin")
    deactivated = admin.patch(f"/api/users/{user_id}", json={"is_active": False})
    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json() == {
        "id": user_id,
        "username": username,
        "display_name": "Compte administré",
        "kind": "professional",
        "professional_id": None,
        "is_active": False,
    }
    assert not is_active(engine, user_id)
    refused = me(live_server, token)
    assert refused.status_code == 401, refused.text
    assert refused.json() == REFUSED
    # A new login is refused with the very answer an unknown login and a wrong password get:
    # it says the account may be deactivated without telling whether it exists.
    relogin = login(live_server, username, PASSWORD)
    unknown = login(live_server, f"inconnu-{uuid.uuid4().hex[:8]}", PASSWORD)
    wrong = login(live_server, "coordinatrice", "mauvais mot de passe")
    assert relogin.status_code == unknown.status_code == wrong.status_code == 401
    assert relogin.json() == unknown.json() == wrong.json()
    assert "compte désactivé" in relogin.json()["detail"]

    reactivated = admin.patch(f"/api/users/{user_id}", json={"is_active": True})
    assert reactivated.status_code == 200, reactivated.text
    assert reactivated.json()["is_active"] is True
    assert me(live_server, token).json()["id"] == user_id
    again = login(live_server, username, PASSWORD)
    assert again.status_code == 200, again.text
    assert me(live_server, again.json()["access_token"]).status_code == 200


def test_admin_cannot_deactivate_their_own_account(api_as: Any, engine: sa.Engine) -> None:
    admin = api_as("admin")
    admin_id = admin.get("/api/auth/me").json()["id"]
    response = admin.patch(f"/api/users/{admin_id}", json={"is_active": False})
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == "Vous ne pouvez pas désactiver votre propre compte."
    assert is_active(engine, admin_id)
    assert admin.get("/api/auth/me").status_code == 200


def test_unknown_user_and_bad_bodies(api_as: Any, engine: sa.Engine) -> None:
    admin = api_as("admin")
    unknown = admin.patch(f"/api/users/{uuid.uuid4()}", json={"is_active": False})
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "NotFound", "detail": "Compte utilisateur introuvable."}
    user_id, _username = new_user(engine)
    for body in ({}, {"is_active": "peut-être"}, {"is_active": False, "kind": "admin"}):
        response = admin.patch(f"/api/users/{user_id}", json=body)
        assert response.status_code == 422, (body, response.text)
    assert is_active(engine, user_id)
