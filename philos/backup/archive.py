"""The backup archive: a gzipped tar of JSON Lines, one member per kind of record, and a
``manifest.json`` naming the format version, the SQL schema revision, and each member's
record count and SHA-256.

Reading an archive checks all of it (the gzip and tar framing, every checksum, every count,
every line parses) before a restore changes anything: a corrupted or truncated archive is
refused as a whole.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

FORMAT = "philos-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Every kind of record Philos keeps, in the order a restore writes them.
KINDS = (
    "concepts",
    "users",
    "refresh_tokens",
    "relations",
    "theses",
    "relation_suggestions",
    "ai_calls",
    "outbox",
)


class ArchiveError(Exception):
    """The archive cannot be restored; the message says why and what to do."""


@dataclass
class Archive:
    """Records by kind (each a JSON-ready dict) and the manifest that describes them."""

    records: dict[str, list[dict[str, Any]]]
    schema_revision: str
    manifest: dict[str, Any] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return len(self.records.get(kind, []))


def _member(kind: str) -> str:
    return f"{kind}.jsonl"


def encode_lines(records: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def write_archive(path: Path, archive: Archive, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Write the archive to ``path`` (through a temporary file renamed at the end, so a
    half-written file never has the final name); returns the manifest."""
    members: dict[str, bytes] = {_member(k): encode_lines(archive.records[k]) for k in KINDS}
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **extra,
        "schema_revision": archive.schema_revision,
        "members": {
            name: {
                "kind": kind,
                "count": archive.count(kind),
                "sha256": hashlib.sha256(members[name]).hexdigest(),
                "bytes": len(members[name]),
            }
            for kind in KINDS
            for name in [_member(kind)]
        },
    }
    blob = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    tmp = path.with_name(path.name + ".partial")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for name, data in [(MANIFEST, blob), *members.items()]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mtime = int(time.time())
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return manifest


def read_archive(path: Path) -> Archive:
    """Read and check the whole archive; ``ArchiveError`` for anything amiss."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from exc
    members = _untar(path, raw)
    manifest = _manifest(path, members)
    records: dict[str, list[dict[str, Any]]] = {}
    for name, meta in manifest["members"].items():
        data = members.get(name)
        if data is None:
            raise ArchiveError(f"{path}: member {name} is missing; the archive is incomplete")
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise ArchiveError(
                f"{path}: checksum mismatch in {name}; the archive is corrupted, "
                "restore another copy"
            )
        try:
            rows = [orjson.loads(line) for line in data.splitlines() if line]
        except orjson.JSONDecodeError as exc:
            raise ArchiveError(f"{path}: {name} does not parse: {exc}") from exc
        if len(rows) != meta["count"]:
            raise ArchiveError(
                f"{path}: {name} holds {len(rows)} records, the manifest says {meta['count']}"
            )
        records[meta["kind"]] = rows
    missing = [k for k in KINDS if k not in records]
    if missing:
        raise ArchiveError(f"{path}: the manifest lists no member for {', '.join(missing)}")
    return Archive(records, str(manifest["schema_revision"]), manifest)


def _untar(path: Path, raw: bytes) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                extracted = tar.extractfile(info)
                if extracted is None:  # pragma: no cover - regular files always extract
                    continue
                members[info.name] = extracted.read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise ArchiveError(
            f"{path} is not a readable Philos backup (truncated or corrupted: {exc})"
        ) from exc
    return members


def _manifest(path: Path, members: Mapping[str, bytes]) -> dict[str, Any]:
    blob = members.get(MANIFEST)
    if blob is None:
        raise ArchiveError(f"{path} has no {MANIFEST}: it is not a Philos backup")
    try:
        manifest = orjson.loads(blob)
    except orjson.JSONDecodeError as exc:
        raise ArchiveError(f"{path}: {MANIFEST} does not parse ({exc}); corrupted") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArchiveError(f"{path} is not a Philos backup (no '{FORMAT}' manifest)")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ArchiveError(
            f"{path} is in backup format version {version!r}; this Philos reads version "
            f"{FORMAT_VERSION} only. Restore it with the Philos release that wrote it."
        )
    if not isinstance(manifest.get("members"), dict) or "schema_revision" not in manifest:
        raise ArchiveError(f"{path}: {MANIFEST} lacks its members or schema revision")
    return manifest
