"""The ``mention`` nature: registered with its French words and defaults, and an event told only
to the users it names (``Event.only``), never to an opposed one nor to the author."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.db import Database
from server.models.notifications import Channel, Frequency
from server.models.person import Role
from server.notifications.natures import NATURES, by_code, label_for
from server.notifications.service import Event, emit
from tests.server.helpers import _user_ids, build_cercle
from tests.server.notifications.test_emission import natures, notices_about


def test_mention_is_registered_in_french_with_defaults() -> None:
    mention = NATURES["mention"]
    assert mention.label == "Quelqu'un m'a mentionné dans un commentaire"
    assert label_for("mention", Role.PERSON) == (
        "Quelqu'un a écrit votre nom dans un message. Vous pouvez le lire."
    )
    default = mention.default_for(Role.CONTRIBUTOR)
    assert default.channels == (Channel.APP, Channel.EMAIL)
    assert default.frequency is Frequency.IMMEDIATE


def test_a_mention_is_told_only_to_the_users_it_names(
    api_as: Any, demo: dict[str, Any], settings: Any
) -> None:
    cercle = build_cercle(api_as, demo, opposed=("ergotherapeute",))
    users = _user_ids(api_as, demo)
    named = frozenset({users["infirmier"], users["ergotherapeute"], users["coordinatrice"]})

    async def mention() -> None:
        db = Database(settings.resolved_database_url())
        try:
            async with db.transaction() as session:
                await emit(
                    session,
                    Event(
                        "mention",
                        "ppa",
                        cercle.ppa_id,
                        person_id=cercle.person_id,
                        ppa_id=cercle.ppa_id,
                        actor_id=users["coordinatrice"],
                        only=named,
                    ),
                )
        finally:
            await db.dispose()

    asyncio.run(mention())
    told = [
        n for n in notices_about(api_as("infirmier"), cercle.person_id) if n["nature"] == "mention"
    ]
    assert [n["label"] for n in told] == ["Quelqu'un m'a mentionné dans un commentaire"]
    assert told[0]["link"] == f"#/ppa/{cercle.ppa_id}"
    # not named, opposed, or the author: nothing
    assert "mention" not in natures(api_as("assistante-sociale"), cercle.person_id)
    assert "mention" not in natures(api_as("aidant"), cercle.person_id)
    assert natures(api_as("ergotherapeute"), cercle.person_id) == []
    assert "mention" not in natures(api_as("coordinatrice"), cercle.person_id)


def test_a_nature_registered_twice_is_refused() -> None:
    mention = NATURES["mention"]
    assert by_code((mention,))["mention"] is mention
    with pytest.raises(ValueError, match="mention"):
        by_code((mention, mention))
