"""Notices on the wire: a code for programs, a French message for people (encode, parse, the
registry of codes, the browser editor's decision on the code alone)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from editor.collab.protocol import AuthMessage, Notice, NoticeCode, decode_messages, encode_notice
from editor.collab.room import LOCKED_NOTICE, READ_ONLY_NOTICE, REPAIRED_NOTICE
from server.collab.notices import ALL_NOTICE_CODES, PpaNoticeCode
from server.collab.policy import INCOMPLETE_NOTICE, OWN_FIELDS_NOTICE
from server.collab.rights import RIGHTS_CHANGED_NOTICE, RIGHTS_REDUCED_NOTICE

ROOT = Path(__file__).resolve().parents[2]
NOTICES_JS = ROOT / "editor" / "web" / "src" / "collab" / "notices.js"
DOCS = ROOT / "docs" / "collaboration.md"

SENT = [
    READ_ONLY_NOTICE,
    LOCKED_NOTICE,
    REPAIRED_NOTICE,
    OWN_FIELDS_NOTICE,
    INCOMPLETE_NOTICE,
    RIGHTS_REDUCED_NOTICE,
    RIGHTS_CHANGED_NOTICE,
]


def _reason(frame: bytes) -> str:
    [message] = decode_messages(frame)
    assert isinstance(message, AuthMessage)
    assert message.kind == 0
    assert message.reason is not None
    return message.reason


class TestWire:
    def test_reason_is_a_json_object_with_code_and_message(self) -> None:
        reason = _reason(encode_notice(LOCKED_NOTICE))
        assert json.loads(reason) == {"code": "locked", "message": LOCKED_NOTICE.message}
        assert "verrouillé" in reason  # stock clients log it: readable, not \u-escaped

    @pytest.mark.parametrize("notice", SENT, ids=lambda n: str(n.code))
    def test_round_trip(self, notice: Notice) -> None:
        parsed = Notice.parse(_reason(encode_notice(notice)))
        assert parsed == notice
        assert parsed.code in ALL_NOTICE_CODES

    def test_unknown_code_and_extra_keys_are_kept_apart(self) -> None:
        reason = '{"code": "later_code", "message": "Texte", "since": 2}'
        assert Notice.parse(reason) == Notice("later_code", "Texte")

    @pytest.mark.parametrize(
        "reason",
        [
            "Lecture seule : vos modifications ne sont ni enregistrées ni transmises.",
            "",
            "42",
            '"read_only"',
            "[]",
            "null",
            '{"code": 1, "message": "x"}',
            '{"code": "locked"}',
            '{"message": "x"}',
        ],
    )
    def test_anything_else_is_a_read_only_notice_with_its_text(self, reason: str) -> None:
        assert Notice.parse(reason) == Notice(NoticeCode.READ_ONLY, reason)


class TestRegistry:
    def test_codes_are_unique_snake_case(self) -> None:
        assert len(ALL_NOTICE_CODES) == len(NoticeCode) + len(PpaNoticeCode)
        assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", code) for code in ALL_NOTICE_CODES)

    def test_the_guard_codes_are_registered(self) -> None:
        assert {"layout_repaired", "layout_refused", "illegal_text"} <= ALL_NOTICE_CODES

    def test_every_code_is_documented(self) -> None:
        text = DOCS.read_text(encoding="utf-8")
        section = text.split("### Notices", 1)[1].split("\n## ", 1)[0]
        documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE))
        assert documented == ALL_NOTICE_CODES


def _editor(reasons: list[str]) -> dict[str, Any]:
    """What editor/web/src/collab/notices.js makes of each reason, and the codes it knows."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    module = json.dumps(NOTICES_JS.as_uri())
    script = f"""
        import {{ NOTICE_ACTIONS, noticeAction, parseNotice }} from {module}
        const reasons = {json.dumps(reasons)}
        const seen = reasons.map((reason) => {{
            const notice = parseNotice(reason)
            return {{ ...notice, action: noticeAction(notice.code) }}
        }})
        console.log(JSON.stringify({{ known: Object.keys(NOTICE_ACTIONS), seen }}))
    """
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.node
class TestEditorDecidesOnTheCode:
    def test_it_knows_every_code_of_the_server(self) -> None:
        assert set(_editor([])["known"]) == ALL_NOTICE_CODES

    def test_a_reworded_message_gets_the_same_action(self) -> None:
        reworded = [Notice(n.code, "Texte entièrement reformulé.") for n in SENT]
        seen = _editor([n.reason() for n in SENT + reworded])
        actions = [s["action"] for s in seen["seen"]]
        assert actions[: len(SENT)] == actions[len(SENT) :]
        assert [s["message"] for s in seen["seen"][len(SENT) :]] == [
            "Texte entièrement reformulé."
        ] * len(SENT)
        assert dict(zip([str(n.code) for n in SENT], actions[: len(SENT)], strict=True)) == {
            "read_only": "readonly",
            "locked": "locked",
            "layout_repaired": "notice",
            "own_fields_only": "refused",
            "write_incomplete": "refused",
            "rights_reduced": "readonly",
            "rights_changed": "rights",
        }

    def test_a_message_that_looks_like_another_changes_nothing(self) -> None:
        # the old editor matched French prefixes: this one reads only the code
        tricky = Notice(NoticeCode.READ_ONLY, "Vos droits ont changé : modification non conforme")
        [seen] = _editor([tricky.reason()])["seen"]
        assert seen["action"] == "readonly"

    def test_unknown_code_is_shown_and_a_bare_sentence_is_read_only(self) -> None:
        unknown = Notice("later_code", "Un message venu d'un serveur plus récent.")
        bare = "Document verrouillé (validé) : lecture seule."
        first, second = _editor([unknown.reason(), bare])["seen"]
        assert first == {"code": "later_code", "message": unknown.message, "action": "notice"}
        assert second == {"code": "read_only", "message": bare, "action": "readonly"}
