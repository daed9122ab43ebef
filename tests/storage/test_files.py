"""Folders the kiosk makes are flushed into their parents, top down, before anything is
written inside them (a folder made but not flushed can vanish at a power cut with all it
holds). The power-loss filesystem test shows the effect; these show the order."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import kiosk.storage.files as files
from kiosk.storage.files import atomic_write_bytes, durable_dirs, private_dir


@pytest.fixture
def flushed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []
    real = files.fsync_dir

    def recording(path: Path) -> None:
        calls.append(path)
        real(path)

    monkeypatch.setattr(files, "fsync_dir", recording)
    return calls


def test_each_new_folder_is_flushed_into_its_parent_top_down(
    tmp_path: Path, flushed: list[Path]
) -> None:
    made = durable_dirs(tmp_path / "a" / "b" / "c")
    assert made == [tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"]
    assert flushed == [tmp_path, tmp_path / "a", tmp_path / "a" / "b"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o700 for p in made)


def test_folders_that_exist_are_left_alone(tmp_path: Path, flushed: list[Path]) -> None:
    assert durable_dirs(tmp_path) == []
    assert flushed == []


def test_a_private_dir_is_durable_and_tightened(tmp_path: Path, flushed: list[Path]) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    assert private_dir(loose) == loose
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    private_dir(tmp_path / "new")
    assert flushed == [tmp_path]


def test_an_atomic_write_into_a_new_folder_flushes_the_folder_then_the_file(
    tmp_path: Path, flushed: list[Path]
) -> None:
    target = tmp_path / "backups" / "x.log"
    atomic_write_bytes(target, b"entry\n")
    assert target.read_bytes() == b"entry\n"
    assert flushed == [tmp_path, tmp_path / "backups"]  # the folder's entry, then the file's


def test_a_file_in_the_way_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    in_the_way = tmp_path / "backups"
    in_the_way.write_text("mine\n", encoding="utf-8")
    in_the_way.chmod(0o644)
    with pytest.raises(FileExistsError):
        private_dir(in_the_way)
    assert in_the_way.read_text(encoding="utf-8") == "mine\n"
    assert stat.S_IMODE(in_the_way.stat().st_mode) == 0o644


def test_an_atomic_create_never_replaces_a_file_made_before_it(
    tmp_path: Path, flushed: list[Path]
) -> None:
    path = tmp_path / "new" / "key"
    assert files.atomic_create_bytes(path, b"first") is True
    assert flushed == [tmp_path, tmp_path / "new"]  # the new folder, then the file's entry
    assert files.atomic_create_bytes(path, b"second") is False
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["key"]  # no temporary file left
