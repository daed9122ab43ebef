"""Is this scan a staff card? Asked of every scan at the Welcome screen, so a patron's card
must cost no key derivation: one HMAC under the station's key and a look-up among the staff
cards' tags (kiosk.storage.staff_cards). scrypt runs only to confirm a tag that matched (a
staff card, rarely scanned), and for staff cards with no tag on this station: a config
copied from another station. Those are checked as before, with scrypt at every scan, until
each is scanned once (its tag is then learnt) or added again with `kiosk staff add-card`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from kiosk.domain.staff import TAG_KEY_BYTES, SecretHash, card_tag, find_match
from kiosk.storage.staff_cards import ensure_key, read_key, read_tags, write_tags

log = logging.getLogger(__name__)


class StaffCards:
    def __init__(self, data_dir: Path, cards: tuple[SecretHash, ...]) -> None:
        self.data_dir = data_dir
        self.cards = cards
        self._by_digest = {card.digest: card for card in cards}
        self._key: bytes | None = None
        self._links: dict[bytes, bytes] = {}
        try:
            self._key = read_key(data_dir)
            if self._key is not None:
                self._links = read_tags(data_dir, self._key)
        except OSError as exc:  # checked the slow way, as before: never refused for this
            log.error("the staff cards' tags cannot be read: %s", exc.strerror or exc)
        self._untagged = self._without_tag()

    def _without_tag(self) -> tuple[SecretHash, ...]:
        linked = set(self._links.values())
        return tuple(card for card in self.cards if card.digest not in linked)

    @property
    def without_fast_check(self) -> int:
        """Staff cards in the config with no tag on this station (scrypt at every scan)."""
        return len(self._untagged)

    def is_staff_card(self, scan: str) -> bool:
        if not self.cards:
            return False
        if self._key is not None:
            linked = self._by_digest.get(self._links.get(card_tag(self._key, scan), b""))
            # Confirmed against the config's own hash: a stale or forged tag lets nothing in.
            if linked is not None and find_match(scan, (linked,)) is not None:
                return True
        if not self._untagged:
            return False  # a patron's card: no key derivation at all
        found = find_match(scan, self._untagged)
        if found is None:
            return False
        self._learn(scan, found)
        return True

    def _learn(self, scan: str, card: SecretHash) -> None:
        """Keep the tag of a staff card that had none, so its next scan (and every patron
        card's) is quick. A tag that cannot be written costs speed, never a sign-in."""
        if not self.data_dir.is_dir():
            return
        try:
            remember(self.data_dir, scan, card)
            self._key = read_key(self.data_dir)
            self._links = read_tags(self.data_dir, self._key) if self._key else {}
        except OSError as exc:
            log.error("a staff card's tag could not be saved: %s", exc.strerror or exc)
            return
        self._untagged = self._without_tag()
        log.info("a staff card's fast check was saved on this station")


def remember(
    data_dir: Path, card: str, hashed: SecretHash, keep: tuple[SecretHash, ...] | None = None
) -> None:
    """Add the tag of `card` (whose config hash is `hashed`) to the station's tags, making the
    key if there is none. keep: the config's cards; tags of any other are dropped (a card
    taken out of the config). Two writers at once may lose one tag: that card is then
    checked the slow way until it is learnt again, never let in without its hash."""
    key = ensure_key(data_dir, os.urandom(TAG_KEY_BYTES))
    links = read_tags(data_dir, key)
    if keep is not None:
        kept = {h.digest for h in keep}
        links = {tag: digest for tag, digest in links.items() if digest in kept}
    links[card_tag(key, card)] = hashed.digest
    write_tags(data_dir, key, links)
