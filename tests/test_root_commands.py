"""Commands run as root act as the owner of the kiosk's data folder, so nothing they write
there is root's (which the kiosk, running as its own user, could not read). Each case runs in
a forked child: switching user cannot be undone. tests/appliance/test_boot.py checks the same
on a booted appliance, through the real commands."""

from __future__ import annotations

import os
import pwd
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.cli.common import WrongUser, act_as_owner_of

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")

NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder other users can reach (pytest's own are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="kiosk-root-"))
    folder.chmod(0o755)
    yield folder
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
    folder.rmdir()


def in_child(action: Callable[[], str]) -> str:
    """Run `action` in a forked child; return what it wrote to the pipe (or its error)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read)
        try:
            text = action()
        except BaseException as exc:
            text = f"{type(exc).__name__}: {exc}"
        os.write(write, text.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return text


def test_root_acts_as_the_owner_of_the_data_folder(shared: Path) -> None:
    data = shared / "data"
    data.mkdir(mode=0o700)
    os.chown(data, NOBODY.pw_uid, NOBODY.pw_gid)

    def act() -> str:
        name = act_as_owner_of(data)
        (data / "written.txt").write_text("x")
        return f"{name} {os.getuid()} {os.geteuid()} {os.getgid()}"

    assert in_child(act) == f"nobody {NOBODY.pw_uid} {NOBODY.pw_uid} {NOBODY.pw_gid}"
    st = (data / "written.txt").stat()
    assert (st.st_uid, st.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid)


def test_a_data_folder_of_roots_own_keeps_root(shared: Path) -> None:
    data = shared / "data"
    data.mkdir()
    assert in_child(lambda: f"{act_as_owner_of(data)} {os.geteuid()}") == "None 0"


def test_a_missing_data_folder_keeps_root(shared: Path) -> None:
    assert in_child(lambda: f"{act_as_owner_of(shared / 'none')} {os.geteuid()}") == "None 0"


def test_an_owner_with_no_user_name_is_one_clear_refusal(shared: Path) -> None:
    data = shared / "data"
    data.mkdir()
    uid = next(u for u in range(54321, 60000) if not _has_user(u))
    os.chown(data, uid, uid)
    text = in_child(lambda: str(act_as_owner_of(data)))
    assert text == (
        f"{WrongUser.__name__}: {data} belongs to uid {uid}, which has no user name here: "
        "run this as that user, not as root"
    )


def _has_user(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True
