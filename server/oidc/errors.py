"""Why a login through the provider is refused: a code for the logs, a sentence for the person."""

from __future__ import annotations

GENERIC_ADVICE = "Réessayez ; si le problème persiste, contactez l'administrateur du service."


class LoginRefused(Exception):  # noqa: N818 - a refusal, shown as a page, not a program error
    """A login through the provider that ends without access.

    ``reason`` is a fixed code (logged, shown for support, never personal data); ``detail`` is
    the French sentence the person reads; ``status`` the HTTP status of the page.
    """

    def __init__(self, reason: str, detail: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.status = status


def token_refused(reason: str) -> LoginRefused:
    """An ID token or a userinfo answer that must not be believed (signature, claims)."""
    return LoginRefused(
        reason,
        "La réponse de Pro Santé Connect n'a pas pu être vérifiée : la connexion est refusée. "
        + GENERIC_ADVICE,
        status=502,
    )


def provider_unreachable(reason: str) -> LoginRefused:
    """The provider could not be reached or answered something unusable."""
    return LoginRefused(
        reason,
        "Pro Santé Connect ne répond pas comme attendu pour le moment : la connexion n'a pas pu "
        "aboutir. " + GENERIC_ADVICE,
        status=502,
    )
