"""Password hashing with the standard library's scrypt (a memory-hard KDF), no extra dependency.

Stored as ``scrypt$n$r$p$salt_b64$hash_b64`` so the cost can be raised later without breaking old hashes.
Checking a password always costs one scrypt at the current parameters, whether or not a user by that login
exists (or has a usable hash): a login page that answered unknown users faster would tell who has an account.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

_N, _R, _P, _LEN = 2**14, 8, 1, 32
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


_Params = tuple[int, int, int, bytes, bytes]


@functools.cache
def _stand_in() -> _Params:
    """A hash of a random password, checked instead of a missing or unusable one (same cost, never matches)."""
    parsed = _parse(hash_password(secrets.token_urlsafe(24)))
    assert parsed is not None  # our own format
    return parsed


def check_password(password: str, stored: str | None) -> bool:
    """Constant-time comparison; a malformed or missing hash never matches, after the same work as a real one."""
    usable = _parse(stored) if stored else None
    if usable is None:
        _scrypt(password, _stand_in())
        return False
    return hmac.compare_digest(_scrypt(password, usable), usable[4])


def _parse(stored: str) -> _Params | None:
    """(n, r, p, salt, digest) of a stored scrypt hash, or None when it is not one we can check."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return None
        return int(n), int(r), int(p), base64.urlsafe_b64decode(salt), base64.urlsafe_b64decode(digest)
    except (ValueError, TypeError):
        return None


def _scrypt(password: str, params: _Params) -> bytes:
    n, r, p, salt, expected = params
    try:
        return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(expected),
                              maxmem=64 * 1024 * 1024)
    except ValueError:  # parameters no scrypt accepts (a corrupted row): the stand-in's work, no match
        hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
        return b""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()
