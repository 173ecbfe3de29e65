"""A real OpenID provider for the tests (tests/js/oidc_provider.mjs: oidc-provider, OpenID
Certified) shaped like Pro Santé Connect, and an HTTP client that walks its login as a browser
would (cookies, redirects, the provider's login form)."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from server.demo.seed import PROFESSIONALS, STRUCTURES

JS_DIR = Path(__file__).resolve().parents[2] / "js"
CLIENT_ID = "ppa-collab-test"
CLIENT_SECRET = "secret-du-client-de-test-0123456789abcdef"
KEYED_CLIENT_ID = "ppa-collab-test-private-key-jwt"
ACR_VALUES = ["eidas1", "eidas2", "eidas3"]
SCOPE_CLAIMS = {
    "scope_all": [
        "SubjectNameID",
        "SubjectRefPro",
        "given_name",
        "family_name",
        "preferred_username",
        "SubjectOrganization",
    ]
}
UNKNOWN_RPPS = "10009999995"
"""A well-formed RPPS (Luhn key right) of no professional of the demo."""
FORM_ACTION = re.compile(r'action="(/interaction/[^"]+/login)"')


def national_id(rpps: str) -> str:
    return "8" + rpps


def practice(profession: str, first: str, last: str, structure: str) -> dict[str, Any]:
    """A SubjectRefPro as Pro Santé Connect sends it: exercises, activities, structures."""
    finess, name, _ = STRUCTURES[structure]
    return {
        "codeCivilite": "",
        "exercices": [
            {
                "codeProfession": profession,
                "codeCategorieProfessionnelle": "C",
                "nomDexercice": last,
                "prenomDexercice": first,
                "codeSavoirFaire": "",
                "activities": [
                    {
                        "codeModeExercice": "S",
                        "codeSecteurDactivite": "SA16",
                        "numeroFinessSite": finess,
                        "numeroSiretSite": "",
                        "raisonSocialeSite": name,
                        "codePostal": "69003",
                        "bureauCedex": "69003 LYON",
                    }
                ],
            }
        ],
    }


def accounts() -> dict[str, dict[str, Any]]:
    """The provider's accounts, by ``sub``: two demo professionals and one unknown here."""
    pros = {pro.key: pro for pro in PROFESSIONALS}
    result: dict[str, dict[str, Any]] = {}
    for key, profession in (("infirmier", "60"), ("psychologue", "93")):
        pro = pros[key]
        assert pro.rpps is not None
        result[f"f:psc:{key}"] = {
            "SubjectNameID": national_id(pro.rpps),
            "preferred_username": national_id(pro.rpps),
            "given_name": pro.first_name,
            "family_name": pro.last_name,
            "SubjectOrganization": "",
            "SubjectRefPro": practice(profession, pro.first_name, pro.last_name, pro.structure),
        }
    result["f:psc:inconnu"] = {
        "SubjectNameID": national_id(UNKNOWN_RPPS),
        "preferred_username": national_id(UNKNOWN_RPPS),
        "given_name": "Inès",
        "family_name": "Inconnue",
        "SubjectRefPro": practice("60", "Inès", "Inconnue", "savs"),
    }
    return result


def client(rp_url: str, **metadata: Any) -> dict[str, Any]:
    """The relying party's registration at the provider (a PSC-like client by default:
    client_secret_basic, userinfo signed)."""
    return {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{rp_url}/api/auth/psc/callback"],
        "post_logout_redirect_uris": [f"{rp_url}/"],
        "userinfo_signed_response_alg": "RS256",
        **metadata,
    }


def ensure_node_modules() -> None:
    """Install tests/js's pinned packages if the provider is missing."""
    if (JS_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is required for the OpenID provider tests")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True)


@dataclass
class ProviderProcess:
    """The provider's process; ``issuer`` once it listens."""

    process: subprocess.Popen[bytes]
    issuer: str = ""
    config_path: Path | None = None

    @classmethod
    def start(cls, config: dict[str, Any], workdir: Path) -> ProviderProcess:
        ensure_node_modules()
        path = workdir / "op-config.json"
        path.write_text(json.dumps(config))
        process = subprocess.Popen(
            ["node", str(JS_DIR / "oidc_provider.mjs"), str(path)],
            cwd=JS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else b""
        if not line:
            process.kill()
            raise RuntimeError("the test OpenID provider did not start")
        return cls(process, json.loads(line)["issuer"], path)

    def tamper(self, mode: str) -> None:
        """The next ID token the provider issues is rewritten (see oidc_provider.mjs)."""
        response = httpx.post(f"{self.issuer}/__test__/tamper", json={"mode": mode}, timeout=10)
        assert response.status_code == 204, response.text

    def rotate(self) -> str:
        """Sign with a new key from now on; its kid."""
        response = httpx.post(f"{self.issuer}/__test__/rotate", timeout=10)
        assert response.status_code == 200, response.text
        kid: str = response.json()["kid"]
        return kid

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class Walker:
    """An HTTP client with a cookie jar, following redirects one by one like a browser."""

    rp_url: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    visited: list[str] = field(default_factory=list)

    def follow(self, response: httpx.Response, stop_at: str | None = None) -> httpx.Response:
        """Follow redirects until an answer that is not one, or until one to ``stop_at``."""
        while response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if stop_at is not None and target.startswith(stop_at):
                return response
            self.visited.append(target)
            response = self.http.get(target)
        return response

    @property
    def callback_prefix(self) -> str:
        return f"{self.rp_url}/api/auth/psc/callback"

    def start(self, next_route: str = "#/") -> httpx.Response:
        """Click "Se connecter avec Pro Santé Connect": the provider's login page (or, when
        the provider's session is still open, its redirect back to the callback, not taken)."""
        response = self.http.get(f"{self.rp_url}/api/auth/psc/login", params={"next": next_route})
        return self.follow(response, stop_at=self.callback_prefix)

    def authenticate(
        self, login_page: httpx.Response, account: str, acr: str = "eidas2"
    ) -> httpx.Response:
        """Fill the provider's form; the redirect back to the relying party's callback."""
        match = FORM_ACTION.search(login_page.text)
        assert match, login_page.text
        response = self.http.post(
            urljoin(str(login_page.url), match.group(1)), data={"login": account, "acr": acr}
        )
        callback = self.follow(response, stop_at=self.callback_prefix)
        assert callback.is_redirect, callback.text
        return callback

    def callback_url(self, redirect: httpx.Response) -> str:
        return urljoin(str(redirect.url), redirect.headers["location"])

    def finish(self, callback_url: str) -> httpx.Response:
        """Go to the callback: the relying party's answer (a redirect or a page)."""
        return self.http.get(callback_url)

    def login(self, account: str, acr: str = "eidas2") -> httpx.Response:
        """The whole login; the relying party's answer to the callback."""
        return self.finish(self.callback_url(self.authenticate(self.start(), account, acr)))

    def session(self) -> dict[str, Any]:
        """The relying party's ``GET /api/auth/session`` (who, how, the CSRF token)."""
        response = self.http.get(f"{self.rp_url}/api/auth/session")
        assert response.status_code == 200, response.text
        session: dict[str, Any] = response.json()
        return session

    def logout(self) -> httpx.Response:
        """The editor's "Se déconnecter": ``POST /api/auth/logout`` with the CSRF token."""
        token = self.session()["csrf_token"]
        return self.http.post(f"{self.rp_url}/api/auth/logout", headers={"X-CSRF-Token": token})

    def close(self) -> None:
        self.http.close()


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
