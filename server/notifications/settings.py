"""``PPA_SMTP_*``, ``PPA_MAIL_FROM``, ``PPA_SMS_*`` and ``PPA_NOTIFY_*`` settings."""

from __future__ import annotations

from datetime import time

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.notifications.schedule import DigestSchedule


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PPA_", env_file=".env", extra="ignore")

    smtp_host: str | None = Field(
        default=None, description="SMTP server sending notification emails; unset: no email"
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS")
    smtp_ca_file: str | None = Field(
        default=None,
        description="CA bundle the SMTP server's certificate is checked against; unset: the "
        "system's trust store",
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = Field(
        default="PPA collaboratif <ne-pas-repondre@localhost>",
        description="From: of notification emails",
    )
    sms_url: str | None = Field(
        default=None, description="HTTP gateway sending SMS (JSON {to, text}); unset: no SMS"
    )
    sms_token: SecretStr | None = Field(default=None, description="Bearer token of the gateway")
    notify_enabled: bool = Field(
        default=True, description="Run the notification worker in this process"
    )
    notify_timezone: str = "Europe/Paris"
    notify_daily_at: time = Field(default=time(18, 0), description="Daily digest, local time")
    notify_weekly_day: int = Field(default=0, ge=0, le=6, description="Weekly digest: 0 = Monday")
    notify_weekly_at: time = Field(default=time(8, 0), description="Weekly digest, local time")
    notify_retry_base_seconds: float = Field(default=30.0, gt=0)
    notify_retry_max_seconds: float = Field(default=3600.0, gt=0)
    notify_max_attempts: int = Field(default=10, ge=1)
    notify_poll_seconds: float = Field(default=30.0, gt=0)
    notify_lease_seconds: float = Field(default=120.0, gt=0)
    notify_batch: int = Field(default=50, ge=1)

    def schedule(self) -> DigestSchedule:
        return DigestSchedule(
            self.notify_timezone,
            self.notify_daily_at,
            self.notify_weekly_day,
            self.notify_weekly_at,
        )

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def sms_enabled(self) -> bool:
        return bool(self.sms_url)
