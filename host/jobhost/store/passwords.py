"""Password hashing with the standard library's scrypt (OWASP's parameters), no extra dependency.

A hash reads `scrypt$<log2 n>$<r>$<p>$<salt>$<key>` (base64), so stronger parameters later
still verify the old hashes, and `needs_rehash` tells when to upgrade one on login.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import cache

# OWASP password storage cheat sheet: N=2^17, r=8, p=1 (128 MiB, ~0.4 s on a loaded 2-core box).
LOG2_N, R, P = 17, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MIN_LENGTH = 8
# scrypt runs on threads of its own, at most this many at once (128 MiB each): a login flood
# queues here instead of taking the thread pool every other blocking call of the process uses.
HASH_THREADS = 2
_hashing = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="jobhost-scrypt")


class PasswordRejected(ValueError):
    """A new password breaks a rule; the message says which."""


def check_new(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"password must be at least {MIN_LENGTH} characters long")
    if len(password) > 1024:
        raise PasswordRejected("password must be at most 1024 characters long")


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20), dklen=KEY_BYTES
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, LOG2_N, R, P)
    return f"scrypt${LOG2_N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, log2_n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(password, _unb64(salt), int(log2_n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(derived, _unb64(key))


def needs_rehash(stored: str) -> bool:
    return not stored.startswith(f"scrypt${LOG2_N}${R}${P}$")


@cache
def dummy_hash() -> str:
    """Verified against when an account does not exist, so a login for an unknown address costs
    as long as one for a known address and timing does not tell which addresses exist."""
    return hash_password(secrets.token_urlsafe(16))


async def hash_async(password: str) -> str:
    """`hash_password` on the hashing threads."""
    return await asyncio.get_running_loop().run_in_executor(_hashing, hash_password, password)


async def verify_async(password: str, stored: str) -> bool:
    """`verify_password` on the hashing threads."""
    return await asyncio.get_running_loop().run_in_executor(_hashing, verify_password, password, stored)
