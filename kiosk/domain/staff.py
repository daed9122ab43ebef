"""Staff sign-in: PINs and staff cards kept only as salted scrypt hashes, staff cards' keyed
tags (the fast check at the Welcome screen), and the lockout.

Pure: the caller passes salts and keys (from os.urandom) and `now`. scrypt and HMAC are the
standard library's (OpenSSL's), so no dependency is added for them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

SCHEME = "scrypt"
# 16 MiB and about 50 ms per derivation on a small ARM board: slow enough to make guessing a
# stolen config's PINs costly, quick enough for a person at the PIN pad.
N, R, P = 2**14, 8, 1
KEY_BYTES = 32
SALT_BYTES = 16
PIN_PATTERN = re.compile(r"^[0-9]{4,12}$")
TAG_KEY_BYTES = 32  # a station's key for staff cards' tags


@dataclass(frozen=True)
class SecretHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes

    def text(self) -> str:
        salt = base64.b64encode(self.salt).decode()
        digest = base64.b64encode(self.digest).decode()
        return f"{SCHEME}${self.n}${self.r}${self.p}${salt}${digest}"


def _derive(secret: str, n: int, r: int, p: int, salt: bytes) -> bytes:
    # OpenSSL needs 128·N·r bytes plus its own working space: twice that is always enough
    # for anything parse_hash accepts (at most 64 MiB of 128·N·r).
    maxmem = 2 * 128 * n * r + 128 * r * p + 2**20
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=maxmem
    )


def hash_secret(secret: str, salt: bytes) -> SecretHash:
    return SecretHash(N, R, P, salt, _derive(secret, N, R, P, salt))


def parse_hash(text: str) -> SecretHash:
    """A stored hash, as `kiosk staff add-pin` writes it. ValueError says what is wrong."""
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("is not a hash written by `kiosk staff add-pin` (scrypt$N$r$p$salt$hash)")
    try:
        n, r, p = (int(v) for v in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except ValueError as exc:
        raise ValueError("is a damaged hash (its numbers or base64 do not read)") from exc
    if n < 2**10 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError("has scrypt settings out of range (N a power of two from 1024)")
    if n * r * 128 > 2**26:
        raise ValueError("needs more than 64 MiB to check: lower N or r")
    if len(salt) < 8 or len(digest) != KEY_BYTES:
        raise ValueError("has a salt or hash of the wrong length")
    return SecretHash(n, r, p, salt, digest)


def find_match(secret: str, hashes: Iterable[SecretHash]) -> SecretHash | None:
    """The hash `secret` matches, if any. Hashes that share a salt (staff cards do) cost one
    derivation between them."""
    by_salt: dict[tuple[int, int, int, bytes], list[SecretHash]] = {}
    for h in hashes:
        by_salt.setdefault((h.n, h.r, h.p, h.salt), []).append(h)
    found = None
    for (n, r, p, salt), group in by_salt.items():
        derived = _derive(secret, n, r, p, salt)
        for h in group:
            if hmac.compare_digest(derived, h.digest):  # no early exit: constant work
                found = h
    return found


def matches(secret: str, hashes: Iterable[SecretHash]) -> bool:
    """True if `secret` is one of the hashed secrets."""
    return find_match(secret, hashes) is not None


def card_tag(key: bytes, card: str) -> bytes:
    """A staff card's tag under a station's own random key: HMAC-SHA256, one per scan at the
    Welcome screen (microseconds, where scrypt takes tens of milliseconds). Without the key a
    tag says nothing about the card; the config never holds a tag, only scrypt hashes."""
    return hmac.new(key, card.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True)
class PinGate:
    """Wrong PINs in a row at one PIN pad, and until when that pad is locked after too many
    (locked_after: how many wrong PINs locked it, for staff to read)."""

    failures: int = 0
    locked_until: datetime | None = None
    locked_after: int = 0

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def wrong(self, now: datetime, limit: int, lockout: timedelta) -> PinGate:
        failures = self.failures + 1
        if failures >= limit:
            return PinGate(0, now + lockout, failures)
        return replace(self, failures=failures, locked_until=None, locked_after=0)

    def right(self) -> PinGate:
        return PinGate()

    def tries_left(self, limit: int) -> int:
        return max(limit - self.failures, 0)
