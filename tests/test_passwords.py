"""Password hashes keep werkzeug's format: old hashes still verify, new ones verify there too."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from gridmap.passwords import check_password, hash_password


def test_new_hash_is_salted_scrypt_that_werkzeug_accepts():
    first, second = hash_password("geheim-123"), hash_password("geheim-123")
    assert first.startswith("scrypt:32768:8:1$") and first != second
    assert check_password(first, "geheim-123")
    assert not check_password(first, "geheim-124")
    assert check_password_hash(first, "geheim-123")


def test_hashes_stored_by_werkzeug_still_verify():
    for method in ("scrypt", "pbkdf2:sha256:1000", "pbkdf2"):
        stored = generate_password_hash("口令-abc", method=method)
        assert check_password(stored, "口令-abc"), method
        assert not check_password(stored, "口令-abd"), method


def test_malformed_hash_never_matches():
    assert not check_password("", "x")
    assert not check_password("no-dollar-signs", "x")
