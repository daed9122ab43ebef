"""The appliance: installing the kiosk on a small Linux box, the display session, the
morning snapshot fetch (and signing it where it is built), and spool backups."""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from kiosk.cli.common import State, audit, utc_now
from kiosk.config import load_config
from kiosk.errors import KioskError, StorageError
from kiosk.runtime.fetch import fetch_snapshot
from kiosk.runtime.staff import StaffDesk
from kiosk.storage.backup import NothingToBackUp, backup_spool
from kiosk.storage.files import atomic_write_bytes, durable_dirs, fsync_dir
from kiosk.storage.signing import generate_key, sign

REPO = Path(__file__).resolve().parents[2]
# In a checkout, the project's own folder; from an installed wheel, its data files.
SYSTEMD = next(
    (
        folder
        for folder in (REPO / "systemd", Path(sys.prefix) / "share/offline-kiosk/systemd")
        if (folder / "kiosk.service").exists()
    ),
    REPO / "systemd",
)
UNITS = (
    "kiosk.service",
    "kiosk-snapshot.service",
    "kiosk-snapshot.timer",
    "kiosk-backup.service",
    "kiosk-backup.timer",
    "kiosk-upload.service",
)
SYSUSERS = 'u kiosk - "Library self-checkout kiosk" /var/lib/kiosk /usr/sbin/nologin\n'
TMPFILES = "d /var/lib/kiosk 0700 kiosk kiosk -\n"
SUBSYSTEMS = ("tty", "input", "usb", "usbmisc")  # what the udev rules give the kiosk


# The morning snapshot --------------------------------------------------------------------------


@click.command("keygen")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for the private key (keep it where snapshots are built, not on kiosks).",
)
def keygen(out: Path) -> None:
    """Make a key pair for signing snapshots; print the public key for the kiosks' config."""
    path = out / "snapshot-signing.pem"
    if path.exists():
        raise click.UsageError(f"{path} exists already: a new key would orphan the old one")
    pem, public = generate_key()
    durable_dirs(out)
    atomic_write_bytes(path, pem, mode=0o600)
    click.echo(f"Private key: {path} (keep it secret).")
    click.echo("Put this in each kiosk's config, in [snapshot]:")
    click.echo(f'public_key = "{public}"')


@click.command("sign")
@click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The private key from `kiosk snapshot keygen`.",
)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
def sign_cmd(key_path: Path, file: Path) -> None:
    """Sign a patron file where it is built: writes FILE.sig beside it."""
    signature = sign(file, key_path.read_bytes())
    click.echo(f"Signed: {signature}")


@click.command("fetch")
@click.pass_obj
def fetch(state: State) -> None:
    """Fetch the snapshot from snapshot.url or snapshot.source, check its signature (when
    snapshot.public_key is set) and import it. On any failure the old one stays active."""
    config = state.config
    source = config.snapshot.url or str(config.snapshot.source or "")
    try:
        report = fetch_snapshot(config, now=utc_now)
    except KioskError as exc:
        audit(state, "snapshot.import", {"source": source, "refused": str(exc)}, actor="timer")
        raise
    info = report.info
    audit(
        state,
        "snapshot.import",
        {
            "source": source,
            "sha256": info.sha256,
            "patrons": str(info.rows),
            "bad_rows": str(report.counts.bad_rows),
        },
        actor="timer",
    )
    click.echo(f"Imported {info.contents} from {source}.")


# Backups ---------------------------------------------------------------------------------------


@click.command("backup")
@click.option(
    "--to",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="[default: backup.folder]",
)
@click.option("--keep", type=click.IntRange(1, 10000), default=None, help="[default: backup.keep]")
@click.pass_obj
def backup(state: State, folder: Path | None, keep: int | None) -> None:
    """A consistent copy of the spool (and the audit trail), keeping the last N copies."""
    config = state.config
    target = folder or config.backup.folder
    if target is None:
        raise click.UsageError("give --to FOLDER or set backup.folder in the config")
    try:
        made = backup_spool(
            config.data_dir,
            target,
            kiosk_id=config.kiosk.id,
            now=utc_now().astimezone(config.tz),
            keep=keep or config.backup.keep,
            anchor=config.kiosk.spool_id,
        )
    except NothingToBackUp as exc:
        click.echo(f"{str(exc)[0].upper()}{str(exc)[1:]}.")
        return
    audit(
        state, "spool.backup", {"path": str(made.path), "checkouts": made.checkouts}, actor="timer"
    )
    click.echo(f"Backed up {made.checkouts} checkouts to {made.path} ({made.size:,} bytes).")
    if made.removed:
        click.echo(
            f"Removed {len(made.removed)} older backups (keeping {keep or config.backup.keep})."
        )
    # The hourly timer also applies the retention rule, so archived periods are removed on
    # time even on a kiosk that is never restarted.
    purged = StaffDesk(config, actor="timer", now=utc_now).apply_retention()
    if purged is not None:
        click.echo(purged.message, err=not purged.ok)


# The display session ---------------------------------------------------------------------------


DRM = Path("/dev/dri")


class NoScreen(KioskError):
    exit_code = os.EX_UNAVAILABLE  # 69


def session_command(
    config_path: Path, environ: Mapping[str, str], *, log_level: str = "WARNING", dri: Path = DRM
) -> tuple[list[str], dict[str, str]]:
    """(argv, environment to add) for the display session: this very installation's `kiosk
    run` (whatever else is on PATH), drawing on the console's KMS/DRM display. An
    SDL_VIDEODRIVER already set (a drop-in, a test) is kept as it is."""
    run = [sys.executable, "-m", "kiosk", "--config", str(config_path)]
    run += ["--log-level", log_level, "run"]
    if environ.get("SDL_VIDEODRIVER"):
        return run, {}
    if not any(dri.glob("card*")):
        raise NoScreen(
            f"no graphics card to draw the kiosk on ({dri} has no card*): check that the "
            "screen's graphics driver is loaded (a KMS driver: vc4 on a Raspberry Pi, i915, "
            "amdgpu, virtio-gpu in a VM)"
        )
    return run, {"SDL_VIDEODRIVER": "kmsdrm"}


@click.command("session")
@click.pass_obj
def session(state: State) -> None:
    """What kiosk.service starts: the kiosk straight on the console's KMS/DRM display (no
    compositor, no login session). It replaces itself (exec), so the service's main process
    is the one that lends, tells systemd it is ready and feeds the watchdog."""
    level = logging.getLevelName(logging.getLogger().level)
    argv, env = session_command(state.config_path, os.environ, log_level=level)
    os.environ.update(env)
    os.execv(argv[0], argv)  # noqa: S606 (no shell on purpose)


# Installing ------------------------------------------------------------------------------------


def _dirs(path: Path) -> None:
    """Make the folders up to `path` that are missing, 0755 like any system folder (the
    kiosk's own umask is 077)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir()
        folder.chmod(0o755)
        fsync_dir(folder.parent)  # a unit or rule written into it must not vanish with it


def _write(path: Path, data: str, mode: int, changed: list[str]) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old != data:
        atomic_write_bytes(path, data.encode("utf-8"), mode=mode)
        changed.append(str(path))
    path.chmod(mode)


def install_files(root: Path, bindir: Path) -> list[str]:
    """Lay the appliance's files out under `root` ("/" for real). Safe to run again: files
    are rewritten only when they differ, and an existing config is never touched."""
    if not (SYSTEMD / "kiosk.service").exists():
        raise KioskError(
            f"the unit files are not at {SYSTEMD}: this installation of the kiosk is "
            "incomplete (run it from the kiosk's folder, or reinstall it)"
        )
    changed: list[str] = []
    for name in UNITS:
        text = (SYSTEMD / name).read_text(encoding="utf-8").replace("@BINDIR@", str(bindir))
        target = root / "etc/systemd/system" / name
        _dirs(target.parent)
        _write(target, text, 0o644, changed)
    rules = root / "etc/udev/rules.d/60-kiosk-devices.rules"
    _dirs(rules.parent)
    _write(
        rules, (SYSTEMD / "udev/60-kiosk-devices.rules").read_text(encoding="utf-8"), 0o644, changed
    )
    for folder, name, text in (
        ("usr/lib/sysusers.d", "kiosk.conf", SYSUSERS),
        ("usr/lib/tmpfiles.d", "kiosk.conf", TMPFILES),
    ):
        _dirs(root / folder)
        _write(root / folder / name, text, 0o644, changed)
    etc = root / "etc/kiosk"
    _dirs(etc)
    etc.chmod(0o750)
    config = etc / "kiosk.toml"
    if not config.exists():
        example = (SYSTEMD / "kiosk.toml.example").read_text(encoding="utf-8")
        _write(config, example, 0o640, changed)
    _backup_dropin(root, config, changed)
    data = root / "var/lib/kiosk"
    _dirs(data)
    data.chmod(0o700)
    if root == Path("/") and os.geteuid() == 0:
        _own(data, config, etc)
    return changed


def _backup_dropin(root: Path, config: Path, changed: list[str]) -> None:
    """The backup unit sees a read-only system: open its backup folder to it."""
    try:
        folder = load_config(config).backup.folder
    except KioskError:
        return  # an unfinished config: run the installer again once it is filled in
    dropin = root / "etc/systemd/system/kiosk-backup.service.d/folder.conf"
    if folder is None:
        return
    _dirs(dropin.parent)
    # "-": a share not mounted yet does not stop the unit (the backup then says why).
    path = f'"-{folder}"' if " " in str(folder) else f"-{folder}"
    text = f"# Written by `kiosk install` from backup.folder.\n[Service]\nReadWritePaths={path}\n"
    _write(dropin, text, 0o644, changed)


def _own(data: Path, config: Path, etc: Path) -> None:
    """On the real system: the kiosk user owns its data; the config is root's, readable by
    the kiosk's group."""
    try:
        kiosk = pwd.getpwnam("kiosk")
    except KeyError:
        return
    os.chown(data, kiosk.pw_uid, kiosk.pw_gid)
    os.chown(etc, 0, kiosk.pw_gid)
    os.chown(config, 0, kiosk.pw_gid)


@click.command("install")
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("/"),
    show_default=True,
    help="Install under this folder instead of / (to look before you leap).",
)
@click.option(
    "--bindir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the `kiosk` command is [default: the one running now].",
)
@click.option("--enable", is_flag=True, help="Also enable and start the kiosk and its timers.")
def install(root: Path, bindir: Path | None, enable: bool) -> None:
    """Make this machine a kiosk: the kiosk user, /etc/kiosk/kiosk.toml, /var/lib/kiosk
    (0700), the systemd units and the udev rules. Safe to run twice."""
    if bindir is None:  # the folder of this installation's `kiosk` command
        beside = Path(sys.executable).parent
        bindir = beside if (beside / "kiosk").exists() else Path(sys.argv[0]).resolve().parent
    real = root.resolve() == Path("/")
    if real and os.geteuid() != 0:
        raise click.UsageError("installing on this machine needs root: sudo kiosk install")
    if real:
        _run(["systemd-sysusers", "-"], input=SYSUSERS)  # the user first: files are chowned to it
    changed = install_files(root.resolve(), bindir)
    for path in changed:
        click.echo(f"wrote {path}")
    if not changed:
        click.echo("Everything was already in place.")
    if not real:
        click.echo(f"Installed under {root} only (nothing on this machine was changed).")
        return
    _run(["systemd-tmpfiles", "--create", "/usr/lib/tmpfiles.d/kiosk.conf"])
    _run(["systemctl", "daemon-reload"])
    _reload_udev()
    try:
        config = load_config(Path("/etc/kiosk/kiosk.toml"))
    except KioskError as exc:
        if enable:  # asked to start a kiosk whose config is wrong: say what is wrong, exit 78
            raise
        click.echo(f"Now edit /etc/kiosk/kiosk.toml: {exc}", err=True)
        return
    units = ["kiosk.service", "kiosk-snapshot.timer", "kiosk-backup.timer"]
    if enable:
        # The spool, made as the kiosk and named in the config: from now on a data folder
        # that loses it is refused, never given an empty spool.
        _run([sys.executable, "-m", "kiosk", "--config", "/etc/kiosk/kiosk.toml", "spool", "init"])
        if config.snapshot.source or config.snapshot.url:
            _first_snapshot()
        _run(["systemctl", "enable", "--now", *units])
        click.echo(f"Enabled and started: {', '.join(units)}.")
    else:
        click.echo(
            "Next: edit /etc/kiosk/kiosk.toml, then run `kiosk install --enable` again "
            "(it opens backup.folder to the backup unit, then enables and starts the kiosk)"
        )


def _first_snapshot() -> None:
    """A new station lends from the start, not from tomorrow's 06:15 fetch: fetch once now
    (as the timer would). If that fails the kiosk still starts, out of service until a
    snapshot arrives, and staff are told where to look."""
    done = subprocess.run(["systemctl", "start", "kiosk-snapshot.service"], check=False)
    if done.returncode == 0:
        click.echo("Fetched the first patron snapshot (kiosk-snapshot.service).")
    else:
        click.echo(
            "Warning: the first patron snapshot could not be fetched: the kiosk stays out of "
            "service until one is imported (journalctl -u kiosk-snapshot says why).",
            err=True,
        )


UDEV_CONTROL = Path("/run/udev/control")  # udevd's socket: there while udevd runs


def _reload_udev(control: Path = UDEV_CONTROL) -> None:
    """Apply the device rules now, to what is plugged in too; where udevd is not running (a
    container, a system being set up in a chroot), they apply from the next boot."""
    if not control.exists():
        click.echo("udev is not running here: the device rules apply from the next boot.")
        return
    _run(["udevadm", "control", "--reload"])
    _run(["udevadm", "trigger", "--action=change", *(f"--subsystem-match={s}" for s in SUBSYSTEMS)])
    click.echo("udev reloaded: the device rules apply to what is plugged in now.")


def _run(command: list[str], input: str | None = None) -> None:
    try:
        subprocess.run(command, input=input, text=True, check=True)
    except FileNotFoundError as exc:
        raise StorageError(f"{command[0]} is not installed here") from exc
    except subprocess.CalledProcessError as exc:
        raise StorageError(f"{' '.join(command)} failed (exit {exc.returncode})") from exc
