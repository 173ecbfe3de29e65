"""Close codes and the connection-level errors of the collaboration endpoint."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """WebSocket close codes used by the collaboration endpoint."""

    GOING_AWAY = 1001
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    MALFORMED_MESSAGE = 4400
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    UNKNOWN_DOCUMENT = 4404
    SLOW_CONSUMER = 4408
    MESSAGE_TOO_LARGE = 4413
    RATE_LIMITED = 4429
    TOO_MANY_USER_CONNECTIONS = 4430
    TOO_MANY_DOCUMENT_CONNECTIONS = 4431
    DOCUMENT_TOO_LARGE = 4507


class SyncError(Exception):
    """A connection-level failure; the server closes the socket with ``code`` and ``reason``."""

    code: CloseCode = CloseCode.INTERNAL_ERROR

    def __init__(self, reason: str, code: CloseCode | None = None) -> None:
        super().__init__(reason)
        if code is not None:
            self.code = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={int(self.code)}, reason={self.reason!r})"


class MalformedMessageError(SyncError):
    code = CloseCode.MALFORMED_MESSAGE


class LimitExceededError(SyncError):
    pass


class StoreUnavailableError(SyncError):
    code = CloseCode.INTERNAL_ERROR
