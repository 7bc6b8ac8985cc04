"""Personal data at rest (CN-D1, R21): AES-256-GCM with a key id for rotation, plus a keyed blind index.

Ciphertext layout: b"\x01" | key-id length (1 byte) | key id | 12-byte nonce | ciphertext+tag.
The blind index is HMAC-SHA256 over a normalised value with its own key, so exact-match search
(find a debtor by phone or national ID) never needs the plaintext in the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = b"\x01"
NONCE_BYTES = 12
HMAC_BLOCK = 64  # SHA-256 block size: the HMAC key is padded to it (RFC 2104)


class KeyError_(Exception):
    """The key file is missing, unreadable or lacks the key a ciphertext names."""


@dataclass
class KeyRing:
    current: str
    keys: dict[str, bytes]
    index_key: bytes
    _aead: dict[str, AESGCM] = field(default_factory=dict, repr=False)

    @classmethod
    def generate(cls) -> KeyRing:
        kid = "k1"
        return cls(current=kid, keys={kid: AESGCM.generate_key(256)}, index_key=secrets.token_bytes(32))

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                current=data["current"],
                keys={k: base64.b64decode(v) for k, v in data["keys"].items()},
                index_key=base64.b64decode(data["index_key"]),
            )
        except (OSError, ValueError, KeyError) as exc:
            raise KeyError_(f"cannot read key file {path}: {exc}") from exc

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {
            "current": self.current,
            "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
            "index_key": base64.b64encode(self.index_key).decode(),
        }
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh)
        tmp.replace(path)

    def rotate(self) -> str:
        """Add a new data key and make it current; old keys stay to decrypt until re-encryption."""
        n = 1 + max(int(k[1:]) for k in self.keys if k[1:].isdigit())
        kid = f"k{n}"
        self.keys[kid] = AESGCM.generate_key(256)
        self.current = kid
        self._aead.clear()
        return kid

    def retire(self, kids: list[str]) -> list[str]:
        """Drop data keys no ciphertext uses any more (after re-encryption); never the current key."""
        gone = [k for k in kids if k in self.keys and k != self.current]
        for k in gone:
            del self.keys[k]
        self._aead.clear()
        return gone

    def _cipher(self, kid: str) -> AESGCM:
        aead = self._aead.get(kid)
        if aead is None:
            try:
                aead = self._aead[kid] = AESGCM(self.keys[kid])
            except KeyError as exc:
                raise KeyError_(f"no key {kid!r} in the key ring") from exc
        return aead

    def encrypt(self, plaintext: str) -> bytes:
        kid = self.current.encode()
        nonce = os.urandom(12)
        ct = self._cipher(self.current).encrypt(nonce, plaintext.encode("utf-8"), kid)
        return VERSION + bytes([len(kid)]) + kid + nonce + ct

    def encrypt_many(self, plaintexts: Sequence[str]) -> list[bytes]:
        """`encrypt` for many values at once: the same layout, a fresh random nonce per value (drawn from
        one `urandom` call), the cipher and header built once (CN-D1)."""
        n = len(plaintexts)
        if n == 0:
            return []
        kid = self.current.encode()
        header = VERSION + bytes([len(kid)]) + kid
        seal = self._cipher(self.current).encrypt
        pool = os.urandom(NONCE_BYTES * n)
        nonces = [pool[i : i + NONCE_BYTES] for i in range(0, NONCE_BYTES * n, NONCE_BYTES)]
        return [
            header + nonce + seal(nonce, text.encode("utf-8"), kid)
            for nonce, text in zip(nonces, plaintexts, strict=True)
        ]

    def decrypt(self, blob: bytes) -> str:
        if not blob or blob[:1] != VERSION:
            raise KeyError_("unknown ciphertext format")
        n = blob[1]
        kid = blob[2 : 2 + n]
        nonce = blob[2 + n : 14 + n]
        return self._cipher(kid.decode()).decrypt(nonce, blob[14 + n :], kid).decode("utf-8")

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        return blob[2 : 2 + blob[1]].decode()

    def blind_index(self, kind: str, normalised: str) -> str:
        """Keyed hash for exact-match search; `kind` separates namespaces (phone vs national_id)."""
        mac = hmac.new(self.index_key, f"{kind}\x00{normalised}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]

    def blind_indexer(self, kind: str) -> Callable[[str], str]:
        """`blind_index` for one kind, for many values: the HMAC key schedule and the kind prefix are
        hashed once and copied per value (the same digests: RFC 2104 HMAC spelled out)."""
        key = self.index_key
        if len(key) > HMAC_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(HMAC_BLOCK, b"\0")
        inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        inner.update(f"{kind}\x00".encode())
        outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        icopy, ocopy = inner.copy, outer.copy

        def index(value: str) -> str:
            h = icopy()
            h.update(value.encode())
            o = ocopy()
            o.update(h.digest())
            return o.hexdigest()[:32]

        return index

    def blind_indexes(self, kind: str, values: Sequence[str | None]) -> list[str | None]:
        """`blind_index` of each value (None stays None)."""
        index = self.blind_indexer(kind)
        return [None if v is None else index(v) for v in values]


def load_or_create(path: Path) -> KeyRing:
    if path.exists():
        return KeyRing.load(path)
    ring = KeyRing.generate()
    ring.save(path)
    return ring
