"""Files of a case on disk (R5): one directory per case under a configurable root, SHA-256 on every read.

Settings (environment, prefix ARREARS_): `ARREARS_DOCUMENTS_DIR` (default ./documents),
`ARREARS_DOCUMENTS_MAX_BYTES` (default 10 MiB per upload). Files are written to a temporary name and
renamed into place, so a reader never sees half a file. A file written inside a database transaction
that then rolls back is removed again (`track_in`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import event
from sqlalchemy.orm import Session

from arrears.core.errors import ArrearsError, NotFound, ValidationFailed

DEFAULT_MAX_BYTES = 10 * 1024 * 1024

# Upload types: declared content type → (extensions, magic-byte check).
UPLOAD_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "text/plain": (".txt",),
    "audio/wav": (".wav",),
    "audio/mpeg": (".mp3",),
}


class DocumentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARREARS_", extra="ignore")

    documents_dir: Path = Path("./documents")
    documents_max_bytes: int = DEFAULT_MAX_BYTES


class DamagedDocument(ArrearsError):
    """A stored file whose bytes no longer match the hash recorded when it was written."""

    status_code = 500
    code = "document_damaged"


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DocumentStore:
    root: Path
    max_bytes: int = DEFAULT_MAX_BYTES

    def _path(self, key: str) -> Path:
        root = self.root.resolve()
        path = (root / key).resolve()
        if root not in path.parents:
            raise NotFound("document not found")
        return path

    def put(self, case_id: int, data: bytes, suffix: str) -> StoredFile:
        if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
            raise ValidationFailed(f"file suffix {suffix!r} is not allowed")
        key = f"cases/{int(case_id)}/{uuid.uuid4().hex}{suffix}"
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return StoredFile(key, hashlib.sha256(data).hexdigest(), len(data))

    def read(self, key: str, sha256: str) -> bytes:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DamagedDocument(f"the stored file {key} is missing") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise DamagedDocument(f"the stored file {key} does not match its recorded SHA-256")
        return data

    def remove(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()


def store_for(ctx: Any) -> DocumentStore:
    """The store of an application context: `documents_dir` from the context's settings if it has one,
    else from the environment."""
    env = DocumentSettings()
    root = getattr(getattr(ctx, "settings", None), "documents_dir", None) or env.documents_dir
    max_bytes = (
        getattr(getattr(ctx, "settings", None), "documents_max_bytes", None) or env.documents_max_bytes
    )
    return DocumentStore(Path(root), int(max_bytes))


_PENDING = "arrears.documents.pending"


def track_in(session: Session, store: DocumentStore, key: str) -> None:
    """Remove `key` from disk if the session's transaction rolls back (nothing half-written)."""
    pending: list[tuple[DocumentStore, str]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = []
        session.info[_PENDING] = pending

        def _committed(_s: Session) -> None:
            pending.clear()

        def _rolled_back(_s: Session) -> None:
            for st, k in pending:
                st.remove(k)
            pending.clear()

        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_rollback", _rolled_back)
    pending.append((store, key))


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves show (None when none of the accepted types)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "text/plain"
    return None


def check_upload(file_name: str, declared: str | None, data: bytes, max_bytes: int) -> str:
    """The accepted content type of an upload, or a ValidationFailed naming what is wrong."""
    name = file_name.strip()
    if not name or len(name) > 200 or any(c in name for c in "/\\\x00"):
        raise ValidationFailed("file name: 1–200 characters without path separators")
    if len(data) == 0:
        raise ValidationFailed(f"{name}: the file is empty")
    if len(data) > max_bytes:
        raise ValidationFailed(f"{name}: {len(data)} bytes is over the limit of {max_bytes} bytes")
    suffix = os.path.splitext(name)[1].lower()
    found = sniff(data)
    if found is None:
        raise ValidationFailed(
            f"{name}: not an accepted file type (accepted: {', '.join(sorted(UPLOAD_TYPES))})"
        )
    if suffix not in UPLOAD_TYPES[found]:
        raise ValidationFailed(
            f"{name}: the content is {found}, which does not match the extension {suffix or '(none)'}"
        )
    base = (declared or "").split(";")[0].strip().lower()
    if base and base not in ("application/octet-stream", found):
        raise ValidationFailed(f"{name}: declared as {base} but the content is {found}")
    return found
