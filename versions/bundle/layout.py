"""Layout of an audit bundle: member names, limits, and the deterministic zip.

Layout (every JSON member is canonical JSON, :mod:`versions.canonical`; ``NNNN`` is 1-based and
zero-padded)::

    manifest.json                 {"format", "ppa_id", "key_id", "versions", "heads", "tree_size",
                                   "audit_events", "audit_checkpoints"}
    public_key.pem                the service's Ed25519 public key (SubjectPublicKeyInfo PEM)
    heads/NNNN.json               signed tree heads, oldest first (the last one is "latest")
    consistency/NNNN.json         {"old_size", "new_size", "path"}: head NNNN -> head NNNN+1
    versions/NNNN/content.json    the version's canonical content, byte for byte as stored
    versions/NNNN/meta.json       metadata and hashes (VersionRecord without the accords)
    versions/NNNN/accords.json    agreements recorded with the version ([] if none)
    versions/NNNN/leaf.json       the version's leaf data in the global log (bytes as hashed)
    versions/NNNN/inclusion.json  {"leaf_index", "tree_size", "path"}: leaf -> latest head
    audit/checkpoints/KKKK/leaf.json       an audit checkpoint's leaf data (bytes as hashed)
    audit/checkpoints/KKKK/inclusion.json  {"leaf_index", "tree_size", "path"}: -> latest head
    audit/events/NNNN/event.json  an audit event of the PPA, canonical (versions.audit)
    audit/events/NNNN/seal.json   {"checkpoint", "position", "path"}: event -> batch digest of
                                  checkpoint KKKK = "checkpoint" (all null/[] when not sealed yet)

The PPA's audit events are those whose object is the PPA (``object_type`` ``"ppa"``,
``object_id`` = the PPA's id: reads, saves, validations, live writes, exports of this PPA), in
increasing id order; never the traces of the person's other PPAs or of other persons. An event
carries ids, action, instant and outcome only (the audit table holds no document content). A
sealed event comes with the RFC 9162 inclusion proof of its canonical encoding in its batch
(:func:`versions.audit.batch_digest`; the batch size is ``last_seq - first_seq + 1`` of the
checkpoint), and the checkpoint leaf with its inclusion proof into the bundle's latest signed head
- the same head that covers the versions. Only the checkpoints sealing at least one shown event
are included, oldest first. Events not sealed yet (committed after the last seal, or sealed after
the latest head) are listed with a null seal: the verifier counts them as "non scellés", not as
failures. Format 1 bundles (no ``audit/`` members, no audit counts in the manifest) still verify.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping

from versions.bundle.report import BrokenLinkError, Subject

BUNDLE_FORMAT = "ppa-collab-audit-bundle/2"
"""Value of ``format`` in the manifest of the bundles built now (with the PPA's audit trail)."""

BUNDLE_FORMAT_V1 = "ppa-collab-audit-bundle/1"
"""Format of the earlier bundles (versions and proofs only), still verified."""

AUDIT_OBJECT_TYPE = "ppa"
"""``object_type`` of the audit events a PPA's bundle shows (with ``object_id`` = the PPA)."""

MAX_MEMBERS = 100_000
"""Most members a bundle may hold (refuses zip bombs)."""

MAX_TOTAL_BYTES = 512 * 1024 * 1024
"""Most uncompressed bytes a bundle may hold."""

HEX32 = re.compile(r"^[0-9a-f]{64}$")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def member_name(prefix: str, number: int, suffix: str = "") -> str:
    """Return ``prefix/NNNN`` + ``suffix`` (1-based, zero-padded number)."""
    return f"{prefix}/{number:04d}{suffix}"


def zip_members(members: Mapping[str, bytes]) -> bytes:
    """Return a deterministic zip of ``members`` (sorted names, fixed dates, deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])
    return buffer.getvalue()


def read_zip(data: bytes) -> dict[str, bytes]:
    """The members of zip ``data``; raise :class:`BrokenLinkError` if unreadable or too large."""
    archive_subject = Subject("bundle", "archive")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            if len(set(names)) != len(names):
                raise archive_subject.fail("duplicate member", "membre en double")
            if len(infos) > MAX_MEMBERS or sum(i.file_size for i in infos) > MAX_TOTAL_BYTES:
                raise archive_subject.fail("too large", "trop volumineuse")
            members: dict[str, bytes] = {}
            total = 0
            for info in infos:
                with archive.open(info) as stream:
                    content = stream.read(MAX_TOTAL_BYTES - total + 1)
                total += len(content)
                if total > MAX_TOTAL_BYTES:
                    raise archive_subject.fail("too large", "trop volumineuse")
                members[info.filename] = content
            return members
    except BrokenLinkError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise archive_subject.fail("unreadable zip", "zip illisible") from exc
    except Exception as exc:  # zlib errors and other decoder failures on a corrupted archive
        raise archive_subject.fail("unreadable zip", "zip illisible") from exc
