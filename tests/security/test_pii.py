"""The key ring's batch helpers (CN-D1, R21): `encrypt_many` and `blind_indexes` give what the one-value
methods give — the same ciphertext layout, a fresh nonce per value, the same keyed hashes."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.exceptions import InvalidTag

from arrears.security.pii import NONCE_BYTES, VERSION, KeyRing

VALUES = [
    "+8613812345678",
    "110105199003071234",
    "上海市浦东新区 世纪大道 100 号",
    "",
    "a@example.com",
    "+8613812345678",
]


def test_encrypt_many_round_trips_through_decrypt() -> None:
    ring = KeyRing.generate()
    blobs = ring.encrypt_many(VALUES)
    assert [ring.decrypt(b) for b in blobs] == VALUES
    assert ring.encrypt_many([]) == []


def test_encrypt_many_has_the_layout_of_encrypt() -> None:
    ring = KeyRing.generate()
    one = ring.encrypt("x")
    many = ring.encrypt_many(["x"])[0]
    assert many[:4] == one[:4] == VERSION + b"\x02k1"
    assert len(many) == len(one)
    assert KeyRing.key_id_of(many) == "k1"


def test_encrypt_many_draws_a_fresh_nonce_for_every_value() -> None:
    ring = KeyRing.generate()
    blobs = ring.encrypt_many(["same"] * 500)
    nonces = {b[4 : 4 + NONCE_BYTES] for b in blobs}
    assert len(nonces) == 500  # equal plaintexts never share a nonce (GCM's one rule)
    assert len(set(blobs)) == 500


def test_encrypt_many_uses_the_current_key_after_rotation() -> None:
    ring = KeyRing.generate()
    ring.rotate()
    blobs = ring.encrypt_many(["a", "b"])
    assert {KeyRing.key_id_of(b) for b in blobs} == {"k2"}
    assert [ring.decrypt(b) for b in blobs] == ["a", "b"]


def test_encrypt_many_binds_the_key_id_as_associated_data() -> None:
    ring = KeyRing.generate()
    blob = bytearray(ring.encrypt_many(["secret"])[0])
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        ring.decrypt(bytes(blob))


def test_blind_indexes_equal_the_one_value_hmac() -> None:
    ring = KeyRing.generate()
    for kind in ("phone", "national_id", "address", ""):
        expected = [
            hmac.new(ring.index_key, f"{kind}\x00{v}".encode(), hashlib.sha256).hexdigest()[:32]
            for v in VALUES
        ]
        assert ring.blind_indexes(kind, VALUES) == expected
        assert [ring.blind_index(kind, v) for v in VALUES] == expected
    assert ring.blind_indexes("phone", [None, "1", None]) == [None, ring.blind_index("phone", "1"), None]


def test_blind_indexer_handles_an_index_key_longer_than_a_block() -> None:
    ring = KeyRing.generate()
    ring.index_key = bytes(range(100))
    assert ring.blind_indexer("phone")("+86138") == ring.blind_index("phone", "+86138")
