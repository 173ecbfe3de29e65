"""``PPA_MSS_*``, ``PPA_DMP_*`` and ``PPA_TRANSMIT_*`` settings of the transmissions."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class TransmissionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PPA_", env_file=".env", extra="ignore")

    mss_smtp_host: str | None = None
    """The MSSanté operator's submission server; unset: no MSSanté transmission (409)."""
    mss_smtp_port: int = Field(default=587, ge=1, le=65535)
    mss_smtp_tls: Literal["starttls", "implicit"] = "starttls"
    mss_cert: Path | None = None
    """PEM certificate of the structure's applicative mailbox (client certificate, mutual TLS)."""
    mss_key: Path | None = None
    mss_ca_file: Path | None = None
    """CA bundle the operator's server certificates are checked against (default: system store)."""
    mss_from: str | None = None
    """The structure's applicative MSSanté mailbox (``From``, ``Disposition-Notification-To``)."""
    mss_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """MSSanté domains a free address may belong to (comma-separated)."""
    mss_imap_host: str | None = None
    """IMAP server of the applicative mailbox, read for receipts (MDN); unset: not read."""
    mss_imap_port: int = Field(default=993, ge=1, le=65535)
    mss_imap_user: str | None = None
    mss_imap_password: str | None = None
    mss_imap_folder: str = "INBOX"
    mss_imap_poll_seconds: float = Field(default=60.0, gt=0)
    dmp_fhir_url: str | None = None
    """PDSm (IHE MHD ITI-65) endpoint; unset: no DMP deposit (409)."""
    dmp_cert: Path | None = None
    """Client certificate for the DMP (default: ``PPA_MSS_CERT``)."""
    dmp_key: Path | None = None
    dmp_ca_file: Path | None = None
    transmit_enabled: bool = True
    """Run the transmission worker in this process."""
    transmit_retry_base_seconds: float = Field(default=30.0, gt=0)
    transmit_retry_max_seconds: float = Field(default=3600.0, gt=0)
    transmit_max_attempts: int = Field(default=12, ge=1)
    transmit_timeout_seconds: float = Field(default=60.0, gt=0)
    transmit_poll_seconds: float = Field(default=5.0, gt=0)
    transmit_lease_seconds: float = Field(default=300.0, gt=0)

    @field_validator("mss_domains", mode="before")
    @classmethod
    def _domains(cls, value: object) -> object:
        if isinstance(value, str):
            return [d.strip().lower() for d in value.split(",") if d.strip()]
        return value

    @property
    def mss_ready(self) -> bool:
        return bool(self.mss_smtp_host and self.mss_from and self.mss_cert and self.mss_key)

    @property
    def dmp_ready(self) -> bool:
        return bool(self.dmp_fhir_url and (self.dmp_cert or self.mss_cert))


def client_tls(cert: Path | None, key: Path | None, ca_file: Path | None) -> ssl.SSLContext:
    """TLS 1.2+ context presenting the structure's certificate and checking the server's
    certificate and host name (against ``ca_file`` or the system store)."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        context.load_cert_chain(str(cert), str(key) if key else None)
    return context
