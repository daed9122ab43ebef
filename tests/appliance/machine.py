"""A real Debian 12 with a real systemd, for the appliance tests: a minimal root filesystem
built with mmdebstrap from the Debian registry (cached outside the clone, keyed by what goes
into it), booted with systemd-nspawn (tests/appliance/test_boot.py) or as a QEMU virtual
machine with a virtual GPU (tests/appliance/vm.py, `make appliance-vm`).

Nothing here knows the kiosk: it builds, boots, runs commands inside and powers off."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SUITE = "bookworm"
# What a minimal station starts from: `minbase` (apt, no init) plus an init system, device
# manager and bus, and a kernel for the virtual machine. Everything else the README installs.
PACKAGES = ("systemd", "systemd-sysv", "udev", "dbus", "linux-image-amd64")
IMAGE_VERSION = 1  # bump to rebuild every cached image
CACHE = Path(os.environ.get("KIOSK_APPLIANCE_CACHE", "/var/cache/kiosk-appliance"))
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REPO = Path(__file__).resolve().parents[2]


def missing_tools() -> list[str]:
    """What this machine lacks to build and boot the image (root, and Debian's packages that
    `make test` installs: mmdebstrap, systemd-container)."""
    missing = [
        t for t in ("mmdebstrap", "systemd-nspawn", "unshare", "nsenter") if not shutil.which(t)
    ]
    if os.geteuid() != 0:
        missing.append("root")
    return missing


def image_key() -> str:
    spec = {"suite": SUITE, "variant": "minbase", "packages": sorted(PACKAGES), "v": IMAGE_VERSION}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def image(log: Path) -> Path:
    """The cached root filesystem (a tar), built first if this package list has none yet."""
    CACHE.mkdir(parents=True, exist_ok=True, mode=0o700)
    tar = CACHE / f"debian12-{image_key()}.tar"
    if tar.exists():
        return tar
    partial = tar.with_suffix(".partial")
    with log.open("ab") as out:
        subprocess.run(
            [
                "mmdebstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                "--format=tar",
                SUITE,
                str(partial),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=1200,
        )
    partial.replace(tar)  # a build cut short never passes for an image
    return tar


def unpack(tar: Path, root: Path) -> None:
    root.mkdir(parents=True)
    subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-xpf", str(tar)], check=True)


def repository_snapshot(dest: Path) -> Path:
    """A bare git repository holding this working tree as it is now (tracked files and new
    ones not ignored), so `git clone` inside sees what is being tested, committed or not."""
    work = dest.with_name(dest.name + ".work")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = REPO / name
        if not source.exists():  # deleted in the working tree
            continue
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    git = ["git", "-c", "user.name=appliance test", "-c", "user.email=test@localhost"]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "the tree under test"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(dest)], check=True)
    shutil.rmtree(work)
    return dest


def pip_settings(root: Path) -> None:
    """pip inside reaches the same package index as this machine: its CA bundle (the
    registry may sit behind a proxy with its own certificate) and index settings."""
    lines = ["[global]"]
    cert = os.environ.get("PIP_CERT") or _pip_config("global.cert")
    if cert and Path(cert).is_file():
        shutil.copy(cert, root / "etc/pip-ca.crt")
        lines.append("cert = /etc/pip-ca.crt")
    for key in ("index-url",):
        value = os.environ.get("PIP_" + key.upper().replace("-", "_")) or _pip_config(
            f"global.{key}"
        )
        if value and not value.startswith("file:"):
            lines.append(f"{key} = {value}")
    (root / "etc/pip.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _pip_config(key: str) -> str | None:
    found = subprocess.run(
        ["python3", "-m", "pip", "config", "get", key], capture_output=True, text=True, check=False
    )
    return found.stdout.strip() or None if found.returncode == 0 else None


@dataclass
class Result:
    command: str
    returncode: int
    stdout: str
    stderr: str

    def check(self) -> Result:
        if self.returncode != 0:
            raise AssertionError(
                f"inside the container, `{self.command}` exited {self.returncode}:\n"
                f"{self.stdout[-4000:]}\n{self.stderr[-4000:]}"
            )
        return self


class Container:
    """A booted container: systemd as PID 1 in the root filesystem, sharing this machine's
    network (so tests reach servers on 127.0.0.1 and pip reaches the registry)."""

    def __init__(self, root: Path, log: Path) -> None:
        self.root = root
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.leader = 0
        self.booted_at = 0.0  # monotonic, when nspawn was started

    def boot(self, timeout: float = 120) -> None:
        out = self.log.open("ab")
        self.booted_at = time.monotonic()
        # A private mount namespace: nothing nspawn mounts is kept alive by another one.
        self.proc = subprocess.Popen(
            [
                *("unshare", "-m", "--propagation", "private"),
                *("systemd-nspawn", "-D", str(self.root), "-b"),
                *("--register=no", "--keep-unit", "--console=passive"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while not self.leader:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            try:
                pids = children.read_text().split()
            except FileNotFoundError:
                pids = []
            if pids and _comm(int(pids[0])) == "systemd":  # exec'd: namespaces in place
                self.leader = int(pids[0])
            elif self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the container did not start: {self.log.read_text()[-2000:]}")
            else:
                time.sleep(0.05)
        state = ""
        while state not in ("running", "degraded"):
            # Until systemd's own socket is up, systemctl cannot answer at all.
            state = self.run("systemctl is-system-running --wait", timeout=timeout).stdout.strip()
            if time.monotonic() > deadline:
                raise AssertionError(f"the container's systemd is {state!r}")
            if state not in ("running", "degraded"):
                time.sleep(0.2)

    def run(self, script: str, *, input: str | None = None, timeout: float = 900) -> Result:
        """A shell command inside, as root, with a clean environment (as after a login)."""
        env = ["env", "-i", f"PATH={PATH}", "HOME=/root", "LANG=C.UTF-8", "TERM=dumb"]
        done = subprocess.run(
            ["nsenter", "-t", str(self.leader), "-a", *env, "sh", "-c", script],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(script, done.returncode, done.stdout, done.stderr)

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.run(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props)).check()
        return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)

    def wait_for(self, what: str, predicate: object, timeout: float, step: float = 0.5) -> None:
        assert callable(predicate)
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(step)

    def poweroff(self, timeout: float = 90) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.run("systemctl poweroff", timeout=30)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.proc = None
        self.leader = 0


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@contextmanager
def booted(root: Path, log: Path) -> Iterator[Container]:
    container = Container(root, log)
    try:
        container.boot()
        yield container
    finally:
        container.poweroff()


def readme_install_steps(readme: Path) -> list[str]:
    """The shell lines of README.md's "Installing a kiosk" block, as written there."""
    text = readme.read_text(encoding="utf-8")
    section = text.split("\n## Installing a kiosk\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README.md's install section has no ```sh block"
    lines = []
    for line in block.group(1).splitlines():
        command = re.sub(r"\s+#.*$", "", line).strip()  # the README's own comments go
        if command:
            lines.append(command)
    return lines


def extract_members(tar: Path, members: list[str], dest: Path) -> None:
    with tarfile.open(tar) as archive:
        for name in members:
            archive.extract(name, dest, filter="data")
