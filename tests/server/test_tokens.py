"""Access tokens: they expire, they must carry the service's signature, and they stop working
for a deactivated account or a revoked API client. Expired tokens are minted with the server's
own signing function and an ``exp`` in the past (no waiting, no clock)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import sqlalchemy as sa

from editor.collab.errors import CloseCode
from server.auth.security import create_access_token
from server.models import User
from tests.collab.live import WsClient
from tests.conftest import DatabaseInfo, LiveServer
from tests.server.helpers import build_cercle, sql_login

REFUSED = {"error": "Unauthenticated", "detail": "Jeton invalide ou expiré : reconnectez-vous."}


@pytest.fixture
def engine(database: DatabaseInfo) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database.sync_url)
    yield engine
    engine.dispose()


def me(live_server: LiveServer, token: str) -> httpx.Response:
    return httpx.get(
        f"{live_server.url}/api/auth/me",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def user_id(api_as: Any, username: str) -> str:
    uid: str = api_as(username).get("/api/auth/me").json()["id"]
    return uid


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == REFUSED


class TestSignedTokens:
    def test_expired_token_is_refused(
        self, live_server: LiveServer, settings: Any, api_as: Any
    ) -> None:
        secret = settings.resolved_secret_key()
        uid = user_id(api_as, "coordinatrice")
        valid = create_access_token(secret, uid, "user", 60)
        assert me(live_server, valid).status_code == 200
        expired = create_access_token(secret, uid, "user", -60)
        claims = jwt.decode(expired, options={"verify_signature": False})
        assert claims["exp"] < datetime.now(UTC).timestamp()
        assert_refused(me(live_server, expired))
        assert_refused(
            api_as("anonymous").get("/api/persons", headers={"Authorization": f"Bearer {expired}"})
        )

    def test_login_token_lives_access_token_minutes(
        self, live_server: LiveServer, settings: Any, demo: dict[str, Any]
    ) -> None:
        password = next(x["password"] for x in demo["logins"] if x["username"] == "infirmier")
        response = httpx.post(
            f"{live_server.url}/api/auth/token",
            data={"username": "infirmier", "password": password},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        claims = jwt.decode(
            body["access_token"], settings.resolved_secret_key(), algorithms=["HS256"]
        )
        assert claims["exp"] - claims["iat"] == settings.access_token_minutes * 60
        assert body["expires_in"] == settings.access_token_minutes * 60

    def test_token_signed_with_another_secret_is_refused(
        self, live_server: LiveServer, settings: Any, api_as: Any
    ) -> None:
        other = "une-autre-cle-secrete-qui-n-est-pas-celle-du-service-0123456789"
        assert other != settings.resolved_secret_key()
        forged = create_access_token(other, user_id(api_as, "coordinatrice"), "user", 60)
        assert_refused(me(live_server, forged))

    def test_unsigned_token_is_refused(self, live_server: LiveServer, api_as: Any) -> None:
        claims = {
            "sub": user_id(api_as, "coordinatrice"),
            "typ": "user",
            "exp": int((datetime.now(UTC) + timedelta(hours=1)).timestamp()),
        }
        assert_refused(me(live_server, jwt.encode(claims, "", algorithm="none")))

    def test_token_without_expiry_is_refused(
        self, live_server: LiveServer, settings: Any, api_as: Any
    ) -> None:
        claims = {"sub": user_id(api_as, "coordinatrice"), "typ": "user"}
        token = jwt.encode(claims, settings.resolved_secret_key(), algorithm="HS256")
        assert_refused(me(live_server, token))

    def test_token_of_another_subject_type_is_refused(
        self, live_server: LiveServer, settings: Any, api_as: Any
    ) -> None:
        uid = user_id(api_as, "coordinatrice")
        token = create_access_token(settings.resolved_secret_key(), uid, "api_client", 60)
        assert_refused(me(live_server, token))

    def test_token_of_an_unknown_user_is_refused(
        self, live_server: LiveServer, settings: Any
    ) -> None:
        # What a deleted account's token designates: a user id that no longer exists.
        token = create_access_token(settings.resolved_secret_key(), str(uuid.uuid4()), "user", 60)
        assert_refused(me(live_server, token))


def test_deactivated_user_is_refused(live_server: LiveServer, engine: sa.Engine) -> None:
    """The server honours ``users.is_active`` itself, however it was set (here in SQL; the
    admin route and ``ppa user deactivate``: test_account_admin.py, test_cli.py)."""
    password = "mot de passe de test"
    uid, username = sql_login(engine, password, "Compte à désactiver")
    response = httpx.post(
        f"{live_server.url}/api/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert me(live_server, token).json()["id"] == uid

    with engine.begin() as conn:
        conn.execute(sa.update(User).where(User.id == uid).values(is_active=False))
    assert_refused(me(live_server, token))
    again = httpx.post(
        f"{live_server.url}/api/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )
    assert again.status_code == 401


def test_revoked_api_client_is_refused(
    live_server: LiveServer, api_as: Any, engine: sa.Engine
) -> None:
    created = api_as("admin").post("/api/api-clients", json={"name": "Logiciel à révoquer"})
    assert created.status_code == 201, created.text
    token, client_id = created.json()["token"], created.json()["id"]
    assert me(live_server, token).json()["id"] == client_id
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE api_clients SET revoked_at = :now WHERE id = :id"),
            {"now": datetime.now(UTC), "id": client_id},
        )
    assert_refused(me(live_server, token))


async def test_expired_token_cannot_open_a_live_session(
    live_server: LiveServer, settings: Any, api_as: Any, demo: dict[str, Any]
) -> None:
    cercle = build_cercle(api_as, demo)
    secret = settings.resolved_secret_key()
    uid = user_id(api_as, "coordinatrice")
    url = f"{live_server.ws_url}/ws/ppa"

    valid = WsClient(url, cercle.ppa_id, create_access_token(secret, uid, "user", 60))
    await valid.connect()
    try:
        await asyncio.wait_for(valid.synced.wait(), 30)
    finally:
        await valid.close()

    expired = WsClient(url, cercle.ppa_id, create_access_token(secret, uid, "user", -60))
    await expired.connect()
    try:
        assert await expired.wait_closed(30) == CloseCode.UNAUTHENTICATED
        assert expired.received_updates == []
    finally:
        await expired.close()
