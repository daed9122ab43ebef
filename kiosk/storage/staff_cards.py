"""The station's fast check of staff cards: its own random key, and each staff card's tag
under it (a keyed "blind index"), in the data folder.

The config holds staff cards only as scrypt hashes, which give no card number back, but
checking a scan against them costs a key derivation: every patron card at the Welcome screen
would pay it. So each station keeps a random key (staff-cards.key) and, for each staff card,
HMAC-SHA256(key, card) linked to the digest of the config hash it was made for
(staff-cards.tags). A scan then costs one HMAC and a look-up; a match is still confirmed
with scrypt against the config's hash, so a stale or forged tag never lets anything in.

Both files are the kiosk user's, mode 0600. Without the key the tags tell nothing; whoever
can read the key can already read the whole data folder (the patron snapshot). The tags
file names its key (a fingerprint): tags made under another key are not used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from pathlib import Path

from kiosk.domain.staff import TAG_KEY_BYTES
from kiosk.storage.files import atomic_create_bytes, atomic_write_bytes

KEY_FILE = "staff-cards.key"
TAGS_FILE = "staff-cards.tags"
HEADER = "kiosk staff card tags 1"


def _fingerprint(key: bytes) -> str:
    return hmac.new(key, b"kiosk staff-cards key", hashlib.sha256).hexdigest()[:16]


def read_key(data_dir: Path) -> bytes | None:
    """The station's key; None when it has none yet (or only a damaged one)."""
    try:
        key = (data_dir / KEY_FILE).read_bytes()
    except FileNotFoundError:
        return None
    return key if len(key) == TAG_KEY_BYTES else None


def ensure_key(data_dir: Path, new_key: bytes) -> bytes:
    """The station's key, made from `new_key` (os.urandom) if it has none. A key made
    meanwhile by another process (the kiosk learning a card while `kiosk staff add-card`
    runs) is kept, never replaced; only a damaged one is."""
    key = read_key(data_dir)
    if key is not None:
        return key
    path = data_dir / KEY_FILE
    if path.exists():  # damaged (a wrong length): tags made under it are useless anyway
        atomic_write_bytes(path, new_key)
    elif not atomic_create_bytes(path, new_key):
        key = read_key(data_dir)
        if key is not None:
            return key
        atomic_write_bytes(path, new_key)
    return new_key


def read_tags(data_dir: Path, key: bytes) -> dict[bytes, bytes]:
    """Each tag and the digest of the config hash it was made for. Empty when there is no
    file, or it was made under another key; a damaged line is skipped."""
    try:
        lines = (data_dir / TAGS_FILE).read_text(encoding="ascii").splitlines()
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        return {}
    if not lines or lines[0] != f"{HEADER} {_fingerprint(key)}":
        return {}
    links = {}
    for line in lines[1:]:
        try:
            tag_hex, digest_b64 = line.split()
            tag = bytes.fromhex(tag_hex)
            digest = base64.b64decode(digest_b64, validate=True)
        except (ValueError, binascii.Error):
            continue
        if len(tag) == hashlib.sha256().digest_size:
            links[tag] = digest
    return links


def write_tags(data_dir: Path, key: bytes, links: Mapping[bytes, bytes]) -> None:
    """Replace the tags file (atomically, 0600)."""
    lines = [f"{HEADER} {_fingerprint(key)}"]
    lines += [f"{tag.hex()} {base64.b64encode(digest).decode()}" for tag, digest in links.items()]
    atomic_write_bytes(data_dir / TAGS_FILE, ("\n".join(lines) + "\n").encode("ascii"))
