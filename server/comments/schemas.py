"""Request and response bodies of comments and suggestions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from server.comments.anchors import ANCHOR_PATTERN, TEXT_FIELD_PATTERN
from server.text_input import TextInput

MAX_BODY = 5000
MAX_MENTIONS = 20


class CommentCreate(TextInput):
    model_config = ConfigDict(extra="forbid")

    anchor: str = Field(
        max_length=200,
        pattern=ANCHOR_PATTERN,
        description="What the thread is about: 'ppa', 'projet/titre', 'objectifs/<id>', "
        "'objectifs/<id>/titre', 'actions/<id>/planning/lieu' (items by id)",
    )
    text: str = Field(min_length=1, max_length=MAX_BODY)
    mentions: list[str] = Field(
        default_factory=list,
        max_length=MAX_MENTIONS,
        description="User ids of cercle members mentioned (each is notified: nature 'mention')",
    )


class ReplyCreate(TextInput):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_BODY)
    mentions: list[str] = Field(default_factory=list, max_length=MAX_MENTIONS)


class EntryRead(BaseModel):
    id: str
    kind: str = Field(description="'comment' (the first), 'reply', 'resolve' or 'reopen'")
    text: str
    author_id: str
    author_name: str | None
    mentions: list[str]
    created_at: datetime
    version_number: int | None = Field(description="The PPA's latest version when written")


class ThreadRead(BaseModel):
    id: str
    anchor: str
    resolved: bool
    created_at: datetime
    entries: list[EntryRead]


class SuggestionCreate(TextInput):
    model_config = ConfigDict(extra="forbid")

    anchor: str = Field(
        max_length=200,
        pattern=TEXT_FIELD_PATTERN,
        description="A text field: 'projet_de_vie', 'projet/titre', 'objectifs/<id>/titre'...",
    )
    text: str = Field(max_length=20000, description="The field's proposed new text")
    note: str = Field(default="", max_length=MAX_BODY, description="Why (optional)")


class SuggestionRead(BaseModel):
    id: str
    anchor: str = Field(description="The text field (items by id)")
    base: str = Field(description="The field's text when the suggestion was made")
    proposed: str
    note: str
    author_id: str
    author_name: str | None = None
    status: str = Field(description="'pending', 'accepted' or 'rejected'")
    decided_by: str | None
    decided_by_name: str | None = None
    decided_at: datetime | None
    created_at: datetime
    version_number: int | None


class Mentionable(BaseModel):
    user_id: str
    display_name: str


class CommentsRead(BaseModel):
    threads: list[ThreadRead]
    suggestions: list[SuggestionRead]
    mentionable: list[Mentionable] = Field(
        description="Members who may be mentioned now: they read the PPA (not opposed, active)"
    )
    as_of: datetime | None = Field(
        description="With ?version=n: the time of version n; what is shown is as it was then"
    )
