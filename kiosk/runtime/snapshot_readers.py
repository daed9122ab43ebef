"""The station's readers of the patron snapshot and the optional item snapshot.

Each reader is reopened when an import (or a rollback) swaps a new snapshot in while the kiosk
runs, and a reader that fails is closed and its problem kept, for the station to act on.
"""

from __future__ import annotations

import logging

from kiosk.domain.items import ItemRecord
from kiosk.domain.patrons import PatronRecord
from kiosk.errors import KioskError, StorageError
from kiosk.storage.items import ItemReader, ItemStore
from kiosk.storage.snapshot import SnapshotReader, SnapshotStore

# The station's own logger: these lines read in the journal as they did before the split.
log = logging.getLogger("kiosk.runtime.station")


class SnapshotUnreadable(Exception):
    """The patron snapshot failed a lookup (its reader is closed, the problem recorded)."""


class SnapshotReaders:
    def __init__(self, snapshots: SnapshotStore, items: ItemStore | None) -> None:
        self.snapshots = snapshots
        self.items = items  # optional: titles and material types; lending never needs it
        self.reader: SnapshotReader | None = None  # None: no usable patron snapshot
        self.problem: str | None = None  # why the patron snapshot cannot be used
        self._reader_stamp: float | None = None
        self._item_reader: ItemReader | None = None
        self._item_stamp: float | None = None
        self._item_problem: str | None = None

    # The patron snapshot ---------------------------------------------------------------------

    def refresh(self) -> None:
        """Pick up a snapshot that was imported (or rolled back) while the kiosk runs."""
        stamp = self.snapshots.pointer_stamp()
        if stamp == self._reader_stamp:
            return
        self._close_reader()
        self._reader_stamp = stamp
        try:
            self.reader = self.snapshots.open_reader()
            self.problem = None
            log.info(
                "patron snapshot loaded: %s, built %s",
                self.reader.info.contents,
                self.reader.info.built_at.isoformat(timespec="minutes"),
            )
        except KioskError as exc:
            self.problem = str(exc)

    def lookup_patron(self, barcode: str) -> PatronRecord | None:
        """The snapshot's row for a card, or None (not listed, or no snapshot)."""
        if self.reader is None:
            return None
        try:
            return self.reader.lookup(barcode)
        except (StorageError, OSError) as exc:
            self._close_reader()
            self.problem = explained("the patron snapshot cannot be read", exc)
            log.error("%s", self.problem)
            raise SnapshotUnreadable(self.problem) from exc

    def _close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    # The item snapshot ------------------------------------------------------------------------

    @property
    def has_item_list(self) -> bool:
        """An item snapshot is open (as of the last `item` lookup)."""
        return self._item_reader is not None

    def item(self, barcode: str) -> ItemRecord | None:
        """What the item snapshot says about an item, or None: no item snapshot, not listed,
        or an item snapshot that cannot be read (then the item has the normal loan period,
        and the problem is logged once)."""
        if self.items is None:
            return None
        try:
            self._refresh_item_reader()
            if self._item_reader is None:
                return None
            return self._item_reader.lookup(barcode)
        except (KioskError, OSError) as exc:
            self._close_item_reader()
            self._item_stamp = None  # look again at the next scan: it may be repaired by then
            self._item_trouble(explained("the item snapshot cannot be read", exc))
            return None

    def _refresh_item_reader(self) -> None:
        """Pick up an item snapshot imported (or rolled back) while the kiosk runs."""
        assert self.items is not None
        stamp = self.items.pointer_stamp()
        if stamp == self._item_stamp:
            return
        self._close_item_reader()
        self._item_stamp = stamp
        if stamp == 0:
            return  # no item snapshot: nothing to say
        self._item_reader = self.items.open_reader()
        self._item_problem = None
        log.info("item snapshot loaded: %s", self._item_reader.info.contents)

    def _item_trouble(self, problem: str) -> None:
        """Logged once until the item snapshot can be read again, not at every scan."""
        if self._item_problem is None:
            log.error("%s; items get the normal loan period", problem)
        self._item_problem = problem

    def _close_item_reader(self) -> None:
        if self._item_reader is not None:
            self._item_reader.close()
            self._item_reader = None

    def close(self) -> None:
        self._close_reader()
        self._close_item_reader()


def explained(what: str, exc: Exception) -> str:
    """One line for the log and the screen: the storage layer's own errors say what could
    not be used already; anything else (an OSError) is prefixed with `what`."""
    lines = str(exc).splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if text.startswith(what) else f"{what}: {text}"
