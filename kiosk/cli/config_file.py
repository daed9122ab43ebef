"""Changing the config file from a command (staff PINs and cards, the spool's id): its
comments and layout kept, the new file validated before it replaces the old one, written
atomically with the old file's mode, owner and group."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
import tomlkit
from tomlkit.items import Table
from tomlkit.toml_document import TOMLDocument

from kiosk.config import parse_config
from kiosk.errors import ConfigError
from kiosk.storage.files import atomic_write_bytes

T = TypeVar("T")


def table(document: TOMLDocument, path: Path, name: str) -> Table:
    """The [name] table of the document, made if it is missing."""
    found = document.get(name)
    if found is None:
        found = tomlkit.table()
        document[name] = found
    if not isinstance(found, Table):
        raise ConfigError(str(path), [f"{name}: must be a table"])
    return found


def edit_config(path: Path, change: Callable[[TOMLDocument], T]) -> T:
    """Apply `change` to the config file at `path` and write it back; returns what `change`
    returned. A change that leaves the file invalid is refused and nothing is written."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot be read: {exc}"], whole_file=True) from exc
    document = tomlkit.parse(text)
    result = change(document)
    new_text = tomlkit.dumps(document)
    parse_config(new_text, str(path), base_dir=path.parent.resolve())  # refuse a broken file
    before = path.stat()
    try:
        atomic_write_bytes(path, new_text.encode("utf-8"), mode=before.st_mode & 0o777)
    except PermissionError as exc:
        raise ConfigError(
            str(path), ["cannot be written: run this as the user who owns it (sudo)"]
        ) from exc
    # The new file belongs to whoever ran this (root, with sudo): give it back to the config's
    # owner and group, or the kiosk may no longer be able to read its config.
    if (before.st_uid, before.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(path, before.st_uid, before.st_gid)
        except PermissionError:
            click.echo(
                f"Warning: {path} now belongs to you, not to uid {before.st_uid} gid "
                f"{before.st_gid}: check that the kiosk can still read it.",
                err=True,
            )
    return result
