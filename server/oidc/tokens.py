"""Signed tokens from the provider (ID token, userinfo as a JWT): signature and claims checked as
OpenID Connect Core 1.0 §3.1.3.7 and §5.3.2 ask; JOSE itself is joserfc's."""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet
from joserfc.jws import JWSRegistry, extract_compact

from server.oidc.errors import LoginRefused, token_refused

CLOCK_SKEW_SECONDS = 60
"""Tolerated difference between the provider's clock and ours."""
KEY_TYPES = {
    **dict.fromkeys(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "RSA"),
    **dict.fromkeys(("ES256", "ES384", "ES512"), "EC"),
    **dict.fromkeys(("EdDSA", "Ed25519"), "OKP"),
}
"""The signature algorithms accepted, by the key type each needs: asymmetric ones only (never
``none``; no HMAC keyed with the client secret)."""
_EIDAS = re.compile(r"eidas([1-9])")


def usable_algorithms(advertised: Collection[str]) -> tuple[str, ...]:
    """The provider's advertised algorithms this relying party accepts, in its order."""
    return tuple(alg for alg in advertised if alg in KEY_TYPES)


def header_of(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS (not verified yet)."""
    if token.count(".") != 2:
        raise token_refused("token_not_jws")
    try:
        header: dict[str, Any] = extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as error:
        raise token_refused("token_malformed") from error
    return header


def algorithm_of(header: dict[str, Any], allowed: Collection[str]) -> str:
    """The header's ``alg`` if the provider advertises it and it is asymmetric (never none)."""
    alg = header.get("alg")
    if alg == "none" or not isinstance(alg, str):
        raise token_refused("alg_none")
    if alg not in allowed or alg not in KEY_TYPES:
        raise token_refused("alg_not_allowed")
    return alg


def key_for(keys: KeySet, header: dict[str, Any], alg: str) -> Key | None:
    """The provider's signing key the header designates: by ``kid``, or the only key of the
    algorithm's type when the header names none; ``None`` if there is no such key."""
    kid = header.get("kid")
    candidates = [
        key
        for key in keys
        if key.key_type == KEY_TYPES[alg]
        and key.get("use") in (None, "sig")
        and key.get("alg") in (None, alg)
        and (kid is None or key.kid == kid)
    ]
    if kid is None and len(candidates) != 1:
        return None
    return candidates[0] if candidates else None


def verified_claims(token: str, key: Key, alg: str) -> dict[str, Any]:
    """The claims of a token whose signature ``key`` verifies with ``alg`` (and only it)."""
    registry = JWSRegistry(algorithms=[alg], strict_check_header=False)
    try:
        decoded = jwt.decode(token, key, algorithms=[alg], registry=registry)
    except JoseError as error:
        raise token_refused("bad_signature") from error
    claims: dict[str, Any] = decoded.claims
    return claims


@dataclass(frozen=True)
class Expected:
    """What an ID token of this login must say."""

    issuer: str
    client_id: str
    nonce: str
    acr: str | None
    max_age_seconds: float
    """How long ago it may have been issued (the login's own lifetime)."""


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise token_refused(f"{name}_missing")
    return float(value)


def _audience_is(claims: dict[str, Any], client_id: str) -> bool:
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    # Only us: a token also meant for another client could be that client's, replayed here.
    return audiences == [client_id] and claims.get("azp") in (None, client_id)


def acr_satisfies(required: str, presented: object) -> bool:
    """Whether ``presented`` is at least ``required``: eIDAS levels (``eidas1`` < ``eidas2`` <
    ``eidas3``) by rank, any other value only by equality."""
    if not isinstance(presented, str):
        return False
    want, got = _EIDAS.fullmatch(required), _EIDAS.fullmatch(presented)
    if want and got:
        return int(got.group(1)) >= int(want.group(1))
    return presented == required


def check_id_token(claims: dict[str, Any], expected: Expected, now: float | None = None) -> None:
    """OpenID Connect Core §3.1.3.7 on verified claims: iss, aud (and azp), exp, iat, nonce,
    sub, and the authentication level (acr)."""
    now = time.time() if now is None else now
    if claims.get("iss") != expected.issuer:
        raise token_refused("wrong_issuer")
    if not _audience_is(claims, expected.client_id):
        raise token_refused("wrong_audience")
    if _number(claims, "exp") <= now - CLOCK_SKEW_SECONDS:
        raise token_refused("expired")
    issued = _number(claims, "iat")
    if issued > now + CLOCK_SKEW_SECONDS or issued < now - expected.max_age_seconds:
        raise token_refused("issued_out_of_window")
    if "nbf" in claims and _number(claims, "nbf") > now + CLOCK_SKEW_SECONDS:
        raise token_refused("not_yet_valid")
    if claims.get("nonce") != expected.nonce:
        raise token_refused("wrong_nonce")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise token_refused("sub_missing")
    if expected.acr and not acr_satisfies(expected.acr, claims.get("acr")):
        presented = claims.get("acr") if isinstance(claims.get("acr"), str) else "aucun"
        raise LoginRefused(
            "acr_too_weak",
            f"Le niveau d'authentification utilisé ({presented}) est insuffisant pour ce "
            f"service, qui demande {expected.acr} au moins : reconnectez-vous avec un moyen "
            "d'authentification plus sûr (carte CPS ou application e-CPS).",
            status=403,
        )


def check_signed_userinfo(
    claims: dict[str, Any], issuer: str, client_id: str, subject: str, now: float | None = None
) -> None:
    """OpenID Connect Core §5.3.2 on a signed userinfo answer: its ``sub`` is the ID token's;
    ``iss`` and ``aud``, when there, are the provider and us; not expired."""
    now = time.time() if now is None else now
    if claims.get("sub") != subject:
        raise token_refused("userinfo_other_subject")
    if "iss" in claims and claims["iss"] != issuer:
        raise token_refused("userinfo_wrong_issuer")
    if "aud" in claims and not _audience_is(claims, client_id):
        raise token_refused("userinfo_wrong_audience")
    if "exp" in claims and _number(claims, "exp") <= now - CLOCK_SKEW_SECONDS:
        raise token_refused("userinfo_expired")
