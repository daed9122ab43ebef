"""Signed snapshots: the library signs the patron file where it is built (`kiosk snapshot
sign`), the kiosk checks the signature with the library's public key before importing it.
Ed25519 (the `cryptography` library) over a hash of the file, with a context string so a
signature made for something else never passes as a snapshot's."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.errors import SnapshotError
from kiosk.storage.files import atomic_write_bytes

CONTEXT = b"offline-kiosk patron snapshot v1\n"
SUFFIX = ".sig"


def _digest(path: Path) -> bytes:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            h.update(chunk)
    return CONTEXT + h.digest()


def signed_check(
    path: Path, key: Ed25519PublicKey, signature: Path | None = None, *, hint: str = ""
) -> Callable[[str], None]:
    """A check for an import: the sha256 of the bytes it imports must carry a good
    signature by `key` (so the file checked is the file imported, byte for byte). `hint`
    is added to a refusal (what else staff can do)."""

    def check(sha256: str) -> None:
        try:
            verify(path, key, signature, sha256=sha256)
        except SnapshotError as exc:
            if not hint:
                raise
            raise SnapshotError(f"{exc} {hint}") from exc

    return check


def generate_key() -> tuple[bytes, str]:
    """A new key pair: the private key as PEM (keep it where snapshots are built), the
    public key as one line of base64 (for snapshot.public_key in each kiosk's config)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return pem, base64.b64encode(raw).decode()


def sign(path: Path, private_pem: bytes) -> Path:
    try:
        private = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SnapshotError(f"the signing key cannot be read: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise SnapshotError(
            "the signing key is not an Ed25519 key (make one: kiosk snapshot keygen)"
        )
    signature = private.sign(_digest(path))
    out = path.with_name(path.name + SUFFIX)
    # Public, like the file it signs; flushed, so a power cut cannot leave a signature file
    # that is empty (which every kiosk would refuse, with the snapshot).
    atomic_write_bytes(out, base64.b64encode(signature) + b"\n", mode=0o644)
    return out


def public_key(text: str) -> Ed25519PublicKey:
    """snapshot.public_key: 44 characters of base64 (what `kiosk snapshot keygen` prints)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("is not an Ed25519 public key (44 characters of base64)") from exc


def verify(
    path: Path, key: Ed25519PublicKey, signature: Path | None = None, *, sha256: str | None = None
) -> None:
    """Raise SnapshotError unless `path` (or the bytes whose `sha256` is given) carries a
    good signature by `key`."""
    signature = signature or path.with_name(path.name + SUFFIX)
    try:
        text = signature.read_text(encoding="ascii").strip()
    except FileNotFoundError as exc:
        raise SnapshotError(
            f"{path.name} is not signed ({signature.name} is missing): a public key is "
            "configured, so only signed snapshots are imported"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{signature}: cannot be read: {exc}") from exc
    try:
        message = CONTEXT + bytes.fromhex(sha256) if sha256 else _digest(path)
        key.verify(base64.b64decode(text, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise SnapshotError(
            f"{path.name} does not match its signature: it was changed after it was signed, "
            "or signed with another key. The current snapshot stays active."
        ) from exc
