"""Password hashes in werkzeug's format (``method$salt$hex``), so stored hashes stay valid; the app's secret key."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SALT_CHARS = string.ascii_letters + string.digits
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
PBKDF2_ITERATIONS = 1_000_000  # werkzeug's default for "pbkdf2" without a count


def _digest(method: str, salt: str, password: str) -> str:
    name, *args = method.split(":")
    if name == "scrypt":
        n, r, p = map(int, args) if args else (SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return hashlib.scrypt(
            password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p
        ).hex()
    if name == "pbkdf2":
        hash_name = args[0] if args else "sha256"
        iterations = int(args[1]) if len(args) > 1 else PBKDF2_ITERATIONS
        return hashlib.pbkdf2_hmac(hash_name, password.encode(), salt.encode(), iterations).hex()
    msg = f"unknown password hash method {name!r}"
    raise ValueError(msg)


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password`, as ``scrypt:n:r:p$salt$hex``."""
    salt = "".join(secrets.choice(SALT_CHARS) for _ in range(16))
    method = f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}"
    return f"{method}${salt}${_digest(method, salt, password)}"


def check_password(stored: str, password: str) -> bool:
    """Whether `password` matches a hash made by hash_password (or by werkzeug)."""
    if stored.count("$") < 2:
        return False
    method, salt, expected = stored.split("$", 2)
    return hmac.compare_digest(_digest(method, salt, password), expected)


def secret_key(settings: Mapping[str, Any]) -> str:
    """Return the configured secret, or one generated once and kept in the instance folder."""
    if settings.get("GRIDMAP_SECRET_KEY"):
        return str(settings["GRIDMAP_SECRET_KEY"])
    folder = Path(settings["GRIDMAP_INSTANCE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret_key"
    if not path.exists():
        tmp = folder / f".secret_key.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic: the first process to link wins, others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()
