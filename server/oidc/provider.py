"""The configured OpenID provider seen from here: discovery, signing keys (rotation followed),
client authentication, and the back-channel calls (token, userinfo) of a login."""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeyParameters, KeySet, OKPKey, RSAKey

from server.config import Settings, provider_url_allowed
from server.oidc import tokens
from server.oidc.errors import LoginRefused, provider_unreachable, token_refused

log = structlog.get_logger(__name__)

METADATA_SECONDS = 3600.0
"""How long discovery is believed before it is read again."""
MAX_ANSWER_BYTES = 1024 * 1024
"""Largest answer read from the provider (discovery, keys, tokens, userinfo)."""


@dataclass(frozen=True)
class Metadata:
    """What discovery (``/.well-known/openid-configuration``) says and this client uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    id_token_algorithms: tuple[str, ...]
    userinfo_algorithms: tuple[str, ...]
    token_auth_methods: tuple[str, ...]
    iss_parameter: bool
    """``authorization_response_iss_parameter_supported`` (RFC 9207: mix-up defence)."""


@dataclass(frozen=True)
class Answer:
    """A provider's HTTP answer, read whole (up to :data:`MAX_ANSWER_BYTES`)."""

    status: int
    media_type: str
    body: bytes

    def json(self) -> Any:
        """The body as JSON (``None`` if it is not)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class TokenAnswer:
    id_token: str
    access_token: str | None


def _endpoint(document: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not provider_url_allowed(value):
        raise provider_unreachable(f"discovery_bad_{name}")
    return value


def _strings(document: dict[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = document.get(name)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise provider_unreachable(f"discovery_bad_{name}")
    return tuple(value)


def parse_metadata(issuer: str, document: dict[str, Any]) -> Metadata:
    """Discovery's answer, checked: its issuer is exactly ours (OpenID Connect Discovery §4.3),
    every endpoint https (http on loopback only), at least one acceptable signature algorithm."""
    if document.get("issuer") != issuer:
        raise provider_unreachable("discovery_other_issuer")
    id_token_algorithms = tokens.usable_algorithms(
        _strings(document, "id_token_signing_alg_values_supported", ("RS256",))
    )
    if not id_token_algorithms:
        raise provider_unreachable("discovery_no_usable_alg")
    userinfo_algorithms = tokens.usable_algorithms(
        _strings(document, "userinfo_signing_alg_values_supported", id_token_algorithms)
    )
    return Metadata(
        issuer=issuer,
        authorization_endpoint=str(_endpoint(document, "authorization_endpoint", required=True)),
        token_endpoint=str(_endpoint(document, "token_endpoint", required=True)),
        jwks_uri=str(_endpoint(document, "jwks_uri", required=True)),
        userinfo_endpoint=_endpoint(document, "userinfo_endpoint", required=False),
        end_session_endpoint=_endpoint(document, "end_session_endpoint", required=False),
        id_token_algorithms=id_token_algorithms,
        userinfo_algorithms=userinfo_algorithms or id_token_algorithms,
        token_auth_methods=_strings(
            document, "token_endpoint_auth_methods_supported", ("client_secret_basic",)
        ),
        iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
    )


def load_client_key(settings: Settings) -> tuple[Key, str]:
    """The private_key_jwt signing key and its algorithm (RS256, ES256 or EdDSA by key type)."""
    if settings.oidc_private_key_path is None:
        raise ValueError("PPA_OIDC_PRIVATE_KEY_PATH is not set")
    pem = settings.oidc_private_key_path.read_bytes()
    native = serialization.load_pem_private_key(pem, password=None)
    parameters: KeyParameters | None = (
        {"kid": settings.oidc_private_key_id} if settings.oidc_private_key_id else None
    )
    if isinstance(native, rsa.RSAPrivateKey):
        return RSAKey.import_key(pem, parameters), "RS256"
    if isinstance(native, ec.EllipticCurvePrivateKey) and native.curve.name == "secp256r1":
        return ECKey.import_key(pem, parameters), "ES256"
    if isinstance(native, ed25519.Ed25519PrivateKey):
        return OKPKey.import_key(pem, parameters), "EdDSA"
    raise ValueError("PPA_OIDC_PRIVATE_KEY_PATH: an RSA, EC P-256 or Ed25519 key is expected")


class Provider:
    """One process's view of the configured provider (metadata and keys cached)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("no OpenID provider configured (PPA_OIDC_ISSUER, _CLIENT_ID)")
        self.settings = settings
        self.issuer = settings.oidc_issuer
        self.client_id = settings.oidc_client_id
        self._metadata: Metadata | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._client_key = load_client_key(settings) if settings.oidc_private_key_path else None

    # -- HTTP ------------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        verify: ssl.SSLContext | bool = True
        if self.settings.oidc_ca_file is not None:
            verify = ssl.create_default_context(cafile=str(self.settings.oidc_ca_file))
        return httpx.AsyncClient(
            timeout=self.settings.oidc_timeout_seconds, follow_redirects=False, verify=verify
        )

    async def _call(self, what: str, request: httpx.Request) -> Answer:
        try:
            async with self._client() as client:
                response = await client.send(request, stream=True)
                try:
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > MAX_ANSWER_BYTES:
                            raise provider_unreachable(f"{what}_too_large")
                finally:
                    await response.aclose()
        except httpx.HTTPError as error:
            log.warning("oidc.provider_unreachable", call=what, error=type(error).__name__)
            raise provider_unreachable(f"{what}_unreachable") from error
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Answer(response.status_code, media_type, b"".join(chunks))

    async def _json(self, what: str, url: str) -> dict[str, Any]:
        answer = await self._call(what, httpx.Request("GET", url))
        if answer.status != 200:
            log.warning("oidc.provider_error", call=what, status=answer.status)
            raise provider_unreachable(f"{what}_status_{answer.status}")
        document = answer.json()
        if not isinstance(document, dict):
            raise provider_unreachable(f"{what}_not_json_object")
        return document

    # -- discovery and keys ----------------------------------------------------------------------

    async def metadata(self) -> Metadata:
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            self._metadata = parse_metadata(self.issuer, await self._json("discovery", url))
            self._metadata_at = time.monotonic()
        return self._metadata

    async def _fetch_keys(self) -> KeySet:
        document = await self._json("jwks", (await self.metadata()).jwks_uri)
        try:
            self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise provider_unreachable("jwks_unusable") from error
        return self._keys

    async def verify(self, token: str, algorithms: tuple[str, ...]) -> dict[str, Any]:
        """The claims of a token the provider signed, with one of ``algorithms``; a key not
        known yet has the key set read again once (the provider rotated its keys)."""
        header = tokens.header_of(token)
        alg = tokens.algorithm_of(header, algorithms)
        keys = self._keys or await self._fetch_keys()
        key = tokens.key_for(keys, header, alg)
        if key is None:
            key = tokens.key_for(await self._fetch_keys(), header, alg)
        if key is None:
            raise token_refused("unknown_signing_key")
        return tokens.verified_claims(token, key, alg)

    # -- a login's back-channel calls ------------------------------------------------------------

    def _client_authentication(self, metadata: Metadata, form: dict[str, str]) -> dict[str, str]:
        """Headers (and form fields, added to ``form``) authenticating this client."""
        if self._client_key is not None:
            key, alg = self._client_key
            now = int(time.time())
            assertion = jwt.encode(
                {"alg": alg, **({"kid": key.kid} if key.kid else {})},
                {
                    "iss": self.client_id,
                    "sub": self.client_id,
                    "aud": metadata.issuer,
                    "jti": secrets.token_urlsafe(24),
                    "iat": now,
                    "exp": now + 60,
                },
                key,
                algorithms=[alg],
            )
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            form["client_assertion"] = assertion
            return {}
        secret = self.settings.oidc_client_secret
        if secret is None:  # Settings checks that one of the two is set
            raise ValueError("neither a client secret nor a private key is configured")
        if "client_secret_basic" not in metadata.token_auth_methods and (
            "client_secret_post" in metadata.token_auth_methods
        ):
            form["client_id"] = self.client_id
            form["client_secret"] = secret.get_secret_value()
            return {}
        # RFC 6749 §2.3.1: both parts form-encoded before the Basic encoding.
        pair = f"{quote(self.client_id, safe='')}:{quote(secret.get_secret_value(), safe='')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    async def redeem(self, code: str, verifier: str, redirect_uri: str) -> TokenAnswer:
        """Exchange the authorization code (with its PKCE verifier) at the token endpoint."""
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json", **self._client_authentication(metadata, form)}
        request = httpx.Request("POST", metadata.token_endpoint, data=form, headers=headers)
        response = await self._call("token", request)
        answer = response.json()
        if isinstance(answer, dict) and answer.get("error") == "invalid_grant":
            raise LoginRefused(
                "code_refused",
                "Pro Santé Connect a refusé ce code de connexion (déjà utilisé ou expiré) : "
                "recommencez la connexion depuis la page d'accueil du service.",
            )
        if response.status != 200 or not isinstance(answer, dict):
            log.warning("oidc.token_error", status=response.status)
            raise provider_unreachable(f"token_status_{response.status}")
        id_token, access_token = answer.get("id_token"), answer.get("access_token")
        if not isinstance(id_token, str):
            raise token_refused("id_token_missing")
        return TokenAnswer(id_token, access_token if isinstance(access_token, str) else None)

    async def userinfo(self, access_token: str, subject: str) -> dict[str, Any]:
        """The userinfo answer (JSON, or a JWT the provider signed: PSC sends one), checked to
        be about ``subject``."""
        metadata = await self.metadata()
        if metadata.userinfo_endpoint is None:
            return {}
        request = httpx.Request(
            "GET",
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        response = await self._call("userinfo", request)
        if response.status != 200:
            log.warning("oidc.userinfo_error", status=response.status)
            raise provider_unreachable(f"userinfo_status_{response.status}")
        if response.media_type == "application/jwt":
            signed = response.body.decode("ascii", errors="replace").strip()
            claims = await self.verify(signed, metadata.userinfo_algorithms)
            tokens.check_signed_userinfo(claims, self.issuer, self.client_id, subject)
            return claims
        claims = response.json()
        if not isinstance(claims, dict):
            raise provider_unreachable("userinfo_not_json_object")
        if claims.get("sub") != subject:
            raise token_refused("userinfo_other_subject")
        return claims
