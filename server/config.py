"""Service settings (environment variables with the ``PPA_`` prefix)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.db import PoolSizing


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PPA_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file ppa.sqlite3 in data_dir"
    )
    db_pool_size: int = Field(
        default=10, ge=1, description="Database connections each process keeps open"
    )
    db_max_overflow: int = Field(
        default=20, ge=0, description="Connections opened beyond db_pool_size under load"
    )
    db_pool_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a request waits for a free connection before failing (HTTP 500)",
    )
    collab_db_concurrency: int = Field(
        default=4,
        ge=1,
        description="Connections the collaboration's joins, room loads and write audits hold at "
        "once (the others wait their turn, never fail); keep it under db_pool_size",
    )
    redis_url: str | None = None
    redis_channel_prefix: str = Field(
        default="ppa-collab",
        description="Prefix of the Redis keys and pub/sub channels of the collaboration fan-out",
    )
    # Live collaboration (WebSocket /ws/ppa/{id}); each limit closes with its own code
    collab_max_message_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    collab_max_document_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    collab_max_connections_per_ppa: int = Field(default=256, ge=1)
    collab_max_connections_per_user: int = Field(default=32, ge=1)
    collab_updates_per_second: float = Field(default=60.0, gt=0)
    collab_update_burst: int = Field(default=600, ge=1)
    collab_max_send_buffer_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=65536,
        description="Unsent bytes before a slow client is closed",
    )
    collab_commit_gather_ms: float = Field(
        default=2.0,
        ge=0,
        le=50,
        description="Milliseconds a group commit waits for more documents' writes under load",
    )
    collab_compact_every: int = Field(default=1000, ge=1)
    collab_unload_after_seconds: float = Field(default=30.0, ge=0)
    collab_update_retention_days: float = Field(
        default=400.0,
        ge=0,
        description="Days the bytes of a folded update are kept (authorship is kept for ever)",
    )
    secret_key: str | None = Field(
        default=None,
        description="Token signing key; default: generated once and kept in data_dir/secret.key",
    )
    access_token_minutes: int = Field(default=60 * 8, ge=1)
    session_idle_minutes: float = Field(
        default=30.0, gt=0, description="Browser session ended after this long without a request"
    )
    session_max_hours: float = Field(
        default=12.0,
        gt=0,
        description="Browser session ended this long after its login, in use or not",
    )
    session_rotate_minutes: float = Field(
        default=15.0,
        gt=0,
        description="Browser session id replaced this often while in use (the previous one "
        "stays valid a short while for the requests already under way)",
    )
    password_login: bool | None = Field(
        default=None,
        description="Local password login of professionals (browser and /api/auth/token); "
        "default: on when no OpenID provider (PPA_OIDC_ISSUER) is set",
    )
    oidc_issuer: str | None = Field(
        default=None, description="OpenID Connect provider (Pro Santé Connect) issuer URL"
    )
    # The rest of the OpenID Connect relying party (server/oidc, docs/authentication.md)
    oidc_client_id: str | None = Field(default=None, description="Client id at the provider")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Client secret (client_secret_basic, or _post if that only)"
    )
    oidc_private_key_path: Path | None = Field(
        default=None,
        description="PEM private key (RSA, EC P-256 or Ed25519) authenticating the client with "
        "private_key_jwt instead of a secret; its public key is registered at the provider",
    )
    oidc_private_key_id: str | None = Field(
        default=None, description="kid of that key as registered at the provider"
    )
    oidc_scopes: str = Field(
        default="openid scope_all", description="Scopes asked (space-separated; openid added)"
    )
    oidc_acr: str | None = Field(
        default="eidas1",
        description="Authentication level asked (acr_values) and required in the ID token "
        "(eidasN: that level or higher); empty: none",
    )
    oidc_ca_file: Path | None = Field(
        default=None, description="CA bundle (PEM) the provider's TLS certificate chains to"
    )
    oidc_timeout_seconds: float = Field(default=10.0, gt=0, description="Per call to the provider")
    oidc_login_minutes: float = Field(
        default=10.0, gt=0, description="How long a login started at the provider may take"
    )

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        """An issuer needs a client id and one way to authenticate the client."""
        if not self.oidc_issuer:
            return self
        if not self.oidc_client_id:
            raise ValueError("PPA_OIDC_ISSUER is set: PPA_OIDC_CLIENT_ID is required")
        if (self.oidc_client_secret is None) == (self.oidc_private_key_path is None):
            raise ValueError(
                "PPA_OIDC_ISSUER is set: give PPA_OIDC_CLIENT_SECRET or "
                "PPA_OIDC_PRIVATE_KEY_PATH (exactly one)"
            )
        if not provider_url_allowed(self.oidc_issuer):
            raise ValueError("PPA_OIDC_ISSUER must be https:// (http:// on loopback only)")
        return self

    webhook_allow_private_networks: bool = Field(
        default=False,
        description="Let webhooks call http:// loopback URLs and private, loopback or link-local "
        "addresses (development and tests only: otherwise an API client could make the server "
        "call internal services)",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        default=None,
        description="Address people and software reach the service at (https://... behind a "
        "proxy); the only source of the absolute URLs it hands out; default: from host and port",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated addresses (or networks) of the reverse proxies whose "
        "X-Forwarded-For/-Proto are believed; default: none (the peer address is the client's)",
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted (413 beyond, refused before it is read)",
    )
    api_docs: bool = Field(default=True, description="Serve the API documentation at /docs")
    login_free_failures: int = Field(
        default=5,
        ge=1,
        description="Failed logins per account and per client address before each next "
        "attempt waits (429 with Retry-After)",
    )
    login_backoff_seconds: float = Field(
        default=1.0, gt=0, description="First wait after the free failures, doubled each failure"
    )
    login_backoff_max_seconds: float = Field(
        default=15 * 60.0, gt=0, description="Longest wait between login attempts"
    )
    login_failure_memory_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Quiet time after which an account's or address's failures are forgotten",
    )
    log_json: bool = False
    signing_key_path: Path | None = Field(
        default=None, description="Ed25519 private key (PEM) for signed tree heads"
    )
    log_publish_dir: Path | None = Field(
        default=None,
        description="Directory where every new signed tree head is also written "
        "(sth-<size>.json, atomically) for an operator to sync to a witness",
    )

    def pool_sizing(self) -> PoolSizing:
        return PoolSizing(
            self.db_pool_size,
            self.db_max_overflow,
            self.db_pool_timeout,
            self.collab_db_concurrency,
        )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'ppa.sqlite3').resolve()}"

    def resolved_public_url(self) -> str:
        """``public_url`` without its trailing slash, or ``http://host:port``."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def password_login_enabled(self) -> bool:
        """``password_login``, or on exactly when no OpenID provider is configured."""
        if self.password_login is not None:
            return self.password_login
        return not self.oidc_issuer

    def trusted_proxies(self) -> list[str]:
        return [part.strip() for part in self.forwarded_allow_ips.split(",") if part.strip()]

    def resolved_secret_key(self) -> str:
        if self.secret_key:
            return self.secret_key
        from server.files import private_data_dir, read_or_create_private_file

        private_data_dir(self.data_dir)
        return read_or_create_private_file(self.data_dir / "secret.key").decode().strip()


def provider_url_allowed(url: str) -> bool:
    """An identity provider's URL: ``https``, or plain ``http`` on a loopback address (tests,
    a local provider); never anything else (codes and tokens would cross the network in clear)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
