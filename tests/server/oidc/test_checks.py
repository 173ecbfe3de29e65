"""The relying party's checks one by one, on tokens and answers built here (the whole flow runs
against a real provider in test_psc_login.py and test_psc_refusals.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from pydantic import SecretStr

from server.config import Settings, provider_url_allowed
from server.oidc import flow, psc
from server.oidc.errors import LoginRefused
from server.oidc.provider import parse_metadata
from server.oidc.tokens import (
    Expected,
    acr_satisfies,
    algorithm_of,
    check_id_token,
    header_of,
    key_for,
    verified_claims,
)

ISSUER = "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"
EXPECTED = Expected(ISSUER, "ppa", "n-123", "eidas1", 600)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": "ppa",
        "sub": "f:abc",
        "exp": now + 300,
        "iat": now,
        "nonce": "n-123",
        "acr": "eidas1",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def reason(call: Any, *args: Any) -> str:
    with pytest.raises(LoginRefused) as refused:
        call(*args)
    return refused.value.reason


def test_valid_claims_pass() -> None:
    check_id_token(claims(), EXPECTED)
    check_id_token(claims(aud=["ppa"], azp="ppa"), EXPECTED)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"iss": ISSUER + "/"}, "wrong_issuer"),
        ({"aud": "autre"}, "wrong_audience"),
        ({"aud": ["ppa", "autre"]}, "wrong_audience"),
        ({"aud": ["ppa"], "azp": "autre"}, "wrong_audience"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": None}, "exp_missing"),
        ({"exp": True}, "exp_missing"),
        ({"iat": int(time.time()) + 3600}, "issued_out_of_window"),
        ({"iat": int(time.time()) - 3600}, "issued_out_of_window"),
        ({"nbf": int(time.time()) + 3600}, "not_yet_valid"),
        ({"nonce": "autre"}, "wrong_nonce"),
        ({"nonce": None}, "wrong_nonce"),
        ({"sub": ""}, "sub_missing"),
        ({"acr": None}, "acr_too_weak"),
    ],
)
def test_each_claim_is_checked(changes: dict[str, Any], expected: str) -> None:
    assert reason(check_id_token, claims(**changes), EXPECTED) == expected


def test_acr_levels() -> None:
    assert acr_satisfies("eidas1", "eidas1")
    assert acr_satisfies("eidas1", "eidas3")
    assert not acr_satisfies("eidas2", "eidas1")
    assert not acr_satisfies("eidas1", None)
    assert acr_satisfies("urn:x:fort", "urn:x:fort")
    assert not acr_satisfies("urn:x:fort", "eidas3")


def test_algorithms_from_the_list_only_never_none() -> None:
    assert algorithm_of({"alg": "RS256"}, ("RS256",)) == "RS256"
    assert reason(algorithm_of, {"alg": "none"}, ("RS256", "none")) == "alg_none"
    assert reason(algorithm_of, {"alg": "HS256"}, ("HS256", "RS256")) == "alg_not_allowed"
    assert reason(algorithm_of, {"alg": "PS256"}, ("RS256",)) == "alg_not_allowed"


def test_an_hmac_token_keyed_with_a_public_key_is_refused() -> None:
    """Key confusion: an HS256 token whose HMAC key would be the provider's public key."""
    key = RSAKey.generate_key(2048, {"kid": "k1"})

    def encode(value: bytes) -> bytes:
        return base64.urlsafe_b64encode(value).rstrip(b"=")

    signing_input = b".".join(
        encode(json.dumps(part).encode()) for part in ({"alg": "HS256", "kid": "k1"}, claims())
    )
    mac = hmac.new(key.as_pem(private=False), signing_input, hashlib.sha256).digest()
    forged = (signing_input + b"." + encode(mac)).decode()
    assert reason(algorithm_of, header_of(forged), ("RS256",)) == "alg_not_allowed"


def test_the_key_is_the_one_named() -> None:
    one = RSAKey.generate_key(2048, {"kid": "one", "use": "sig"})
    two = RSAKey.generate_key(2048, {"kid": "two", "use": "enc"})
    keys = KeySet.import_key_set({"keys": [one.as_dict(), two.as_dict()]})
    assert key_for(keys, {"kid": "one"}, "RS256") is not None
    assert key_for(keys, {"kid": "two"}, "RS256") is None  # an encryption key
    assert key_for(keys, {"kid": "three"}, "RS256") is None
    assert key_for(keys, {}, "ES256") is None  # no EC key
    token = jwt.encode({"alg": "RS256", "kid": "one"}, claims(), one)
    found = key_for(keys, header_of(token), "RS256")
    assert found is not None
    assert verified_claims(token, found, "RS256")["sub"] == "f:abc"
    stranger = RSAKey.generate_key(2048, {"kid": "one"})
    forged = jwt.encode({"alg": "RS256", "kid": "one"}, claims(sub="f:autre"), stranger)
    assert reason(verified_claims, forged, found, "RS256") == "bad_signature"


def test_a_jwe_or_garbage_is_not_a_jws() -> None:
    assert reason(header_of, "a.b.c.d.e") == "token_not_jws"
    assert reason(header_of, "!!.??.**") == "token_malformed"


def discovery(**changes: Any) -> dict[str, Any]:
    document = {
        "issuer": ISSUER,
        "authorization_endpoint": "https://wallet.esw.esante.gouv.fr/auth",
        "token_endpoint": ISSUER + "/protocol/openid-connect/token",
        "jwks_uri": ISSUER + "/protocol/openid-connect/certs",
        "userinfo_endpoint": ISSUER + "/protocol/openid-connect/userinfo",
        "end_session_endpoint": ISSUER + "/protocol/openid-connect/logout",
        "id_token_signing_alg_values_supported": ["none", "HS256", "RS256", "ES256"],
    }
    document.update(changes)
    return document


def test_discovery_is_checked() -> None:
    metadata = parse_metadata(ISSUER, discovery())
    assert metadata.id_token_algorithms == ("RS256", "ES256")
    assert metadata.userinfo_algorithms == ("RS256", "ES256")
    assert reason(parse_metadata, ISSUER, discovery(issuer="https://ailleurs.example")) == (
        "discovery_other_issuer"
    )
    plain = discovery(token_endpoint="http://auth.example/token")
    assert reason(parse_metadata, ISSUER, plain) == "discovery_bad_token_endpoint"
    only_none = discovery(id_token_signing_alg_values_supported=["none", "HS256"])
    assert reason(parse_metadata, ISSUER, only_none) == "discovery_no_usable_alg"


def test_provider_urls_are_https_or_loopback() -> None:
    assert provider_url_allowed("https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet")
    assert provider_url_allowed("http://127.0.0.1:8080")
    assert provider_url_allowed("http://[::1]:8080/realm")
    assert not provider_url_allowed("http://auth.example")
    assert not provider_url_allowed("http://192.168.1.10")
    assert not provider_url_allowed("https://user:pass@auth.example")
    with pytest.raises(ValueError, match="https"):
        Settings(
            oidc_issuer="http://auth.example",
            oidc_client_id="x",
            oidc_client_secret=SecretStr("y"),
        )
    with pytest.raises(ValueError, match="exactly one"):
        Settings(oidc_issuer=ISSUER, oidc_client_id="x")


def test_return_routes_stay_in_the_editor() -> None:
    assert flow.safe_return("#/ppa/abc-123") == "#/ppa/abc-123"
    for hostile in ("https://evil.example", "//evil.example", "/#/x", "#/x y", "#/\\evil", None):
        assert flow.safe_return(hostile) == "#/"


def test_pkce_challenge_is_s256() -> None:
    # RFC 7636 appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert flow.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_psc_claims_are_read_defensively() -> None:
    identity = psc.psc_identity(
        {"sub": "f:abc", "SubjectNameID": "810001234567"},
        {
            "sub": "f:abc",
            "given_name": "Claire",
            "SubjectRefPro": '{"exercices": [{"codeProfession": "42", "activities": ['
            '{"enseigneCommercialeSite": "Cabinet"}, "pas un objet"]}, 7]}',
        },
    )
    assert identity.rpps == "10001234567"
    [exercise] = identity.exercises
    assert exercise.profession == "Profession (code 42)"
    assert [a.structure for a in exercise.activities] == ["Cabinet"]
    adeli = psc.psc_identity({"sub": "f:x", "SubjectNameID": "0123456789"}, {})
    assert adeli.rpps is None
    assert reason(psc.psc_identity, {"sub": "f:x"}, {}) == "national_id_missing"
