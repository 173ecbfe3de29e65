"""Signed heads published outside the service: latest head and consistency proofs over the API,
every new head written to ``PPA_LOG_PUBLISH_DIR``; a verifier holding an old published head
checks a newer bundle against it, and rejects a forged one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Api, LiveServer
from tests.server.versions.helpers import AUDITOR, CONTRIB, COORD, new_ppa, save, validate
from tests.server.versions.test_bundle import ppa_cli
from versions.merkle import ProofError, verify_consistency
from versions.signing import (
    SignedTreeHead,
    generate_private_key,
    load_public_key_pem,
    sign_tree_head,
    verify_tree_head,
)


@pytest.fixture(scope="module")
def publish_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("published")


@pytest.fixture(scope="module")
def publishing(settings: Any, publish_dir: Path) -> Iterator[LiveServer]:
    """Another app on the same database and key, with PPA_LOG_PUBLISH_DIR set."""
    server = LiveServer(settings.model_copy(update={"log_publish_dir": publish_dir}))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def contrib_on_publishing(publishing: LiveServer, api_as: Any) -> Iterator[Api]:
    """The contributor's session, sent to the publishing server."""
    api = Api(publishing.url, api_as(CONTRIB).token)
    yield api
    api.client.close()


def published(directory: Path) -> dict[int, SignedTreeHead]:
    heads = {}
    for path in directory.glob("sth-*.json"):
        head = SignedTreeHead.from_json(json.loads(path.read_text()))
        assert path.name == f"sth-{head.tree_size}.json"
        heads[head.tree_size] = head
    assert not list(directory.glob(".*tmp")), "temporary files left behind"
    return heads


def test_every_new_head_is_published_as_a_file(
    api_as: Any, demo: dict[str, Any], contrib_on_publishing: Api, publish_dir: Path
) -> None:
    setup = new_ppa(api_as, demo)
    before = set(published(publish_dir))
    version = save(contrib_on_publishing, setup.ppa_id, "Publié")
    heads = published(publish_dir)
    new = set(heads) - before
    # The version's leaf and the audit checkpoint sealed just before it: two heads.
    assert version["leaf_index"] + 1 in new
    assert version["leaf_index"] in new
    key = api_as(AUDITOR).get("/api/log/key").json()
    public_key = load_public_key_pem(key["public_key_pem"].encode())
    for size in new:
        verify_tree_head(heads[size], public_key)
        served = api_as(AUDITOR).get(f"/api/log/heads/{size}").json()
        assert served == heads[size].to_json()
    # Heads signed by the other server (no publish dir) are not written here.
    save(api_as(CONTRIB), setup.ppa_id, "Pas publié")
    assert set(published(publish_dir)) == set(heads)


def test_latest_head_and_consistency_from_a_published_head(
    api_as: Any, demo: dict[str, Any], contrib_on_publishing: Api, publish_dir: Path
) -> None:
    setup = new_ppa(api_as, demo)
    save(contrib_on_publishing, setup.ppa_id, "Premier jet")
    old = published(publish_dir)[max(published(publish_dir))]
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201
    latest = api_as(AUDITOR).get("/api/log/heads/latest")
    assert latest.status_code == 200
    new = SignedTreeHead.from_json(latest.json())
    assert new.tree_size > old.tree_size
    response = api_as(AUDITOR).get("/api/log/consistency", params={"from": old.tree_size})
    assert response.status_code == 200, response.text
    proof = response.json()
    assert (proof["old_size"], proof["new_size"]) == (old.tree_size, new.tree_size)
    path = [bytes.fromhex(p) for p in proof["path"]]
    verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, path)
    with pytest.raises(ProofError):
        verify_consistency(old.tree_size, new.tree_size, b"\x01" * 32, new.root_hash, path)
    bad = api_as(AUDITOR).get(
        "/api/log/consistency", params={"from": new.tree_size, "to": old.tree_size}
    )
    assert bad.status_code == 422
    assert api_as("anonymous").get("/api/log/heads/latest").status_code == 401


def test_verifier_checks_a_newer_bundle_against_an_old_published_head(
    api_as: Any,
    demo: dict[str, Any],
    contrib_on_publishing: Api,
    publish_dir: Path,
    tmp_path: Path,
) -> None:
    setup = new_ppa(api_as, demo)
    save(contrib_on_publishing, setup.ppa_id, "Premier jet")
    size = max(published(publish_dir))
    old_file = publish_dir / f"sth-{size}.json"
    # The log grows afterwards (other PPAs, this one validated).
    other = new_ppa(api_as, demo)
    save(api_as(CONTRIB), other.ppa_id, "Ailleurs")
    assert validate(api_as(COORD), setup.ppa_id).status_code == 201

    bundle = api_as(AUDITOR).get(
        f"/api/ppas/{setup.ppa_id}/audit-bundle", params={"known_size": size}
    )
    assert bundle.status_code == 200, bundle.text
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle.content)
    ok = ppa_cli("audit", "verify", str(path), "--known-head", str(old_file))
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # Forged heads: another root for the same size (re-signed with the service's key would need
    # the key; here the root is swapped), or a head signed by another key.
    head = json.loads(old_file.read_text())
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**head, "root_hash": "ab" * 32}))
    result = ppa_cli("audit", "verify", str(path), "--known-head", str(forged))
    assert result.returncode == 1
    assert "historique réécrit" in result.stdout
    impostor = sign_tree_head(
        generate_private_key(), size, bytes.fromhex(head["root_hash"]), head["timestamp"]
    )
    other_key = tmp_path / "impostor.json"
    other_key.write_text(json.dumps(impostor.to_json()))
    mixed = ppa_cli("audit", "verify", str(path), "--known-head", str(other_key))
    assert mixed.returncode == 0  # same size and root: what matters is the root the log signed
    # Without the known size the bundle does not hold the old head: not covered, exit 1.
    plain = api_as(AUDITOR).get(f"/api/ppas/{setup.ppa_id}/audit-bundle")
    plain_path = tmp_path / "plain.zip"
    plain_path.write_bytes(plain.content)
    missing = ppa_cli("audit", "verify", str(plain_path), "--known-head", str(old_file))
    if size in {v + 1 for v in _leaf_indexes(api_as, setup.ppa_id)}:
        assert missing.returncode == 0  # the head of one of the PPA's versions
    else:
        assert missing.returncode == 1
        assert "absente du bundle" in missing.stdout
    # The verify-trail command also accepts published heads.
    assert (
        api_as(AUDITOR).get(f"/api/ppas/{setup.ppa_id}/audit-bundle", params={"known_size": 0})
    ).status_code == 422


def _leaf_indexes(api_as: Any, ppa_id: str) -> list[int]:
    versions = api_as(COORD).get(f"/api/ppas/{ppa_id}/versions").json()
    return [v["leaf_index"] for v in versions]
