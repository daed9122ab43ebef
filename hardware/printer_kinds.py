"""What each kind of receipt printer needs and takes: the one table `make_printer` checks its
settings against, and the kiosk's config too when it is loaded (so a missing setting is found
by `kiosk config check`, not at the first receipt). No python-escpos here: cheap to import."""

from __future__ import annotations

from collections.abc import Mapping

KINDS = ("usb", "serial", "network", "file", "cups", "dummy", "fake")

# Settings every ESC/POS kind takes (the fake is not one).
COMMON = frozenset({"name", "font", "qr_size"})

# What each kind takes besides COMMON.
TAKES: dict[str, frozenset[str]] = {
    "usb": frozenset({"vendor_id", "product_id", "in_ep", "out_ep", "timeout"}),
    "serial": frozenset({"url", "devfile", "baudrate", "timeout"}),
    "network": frozenset({"host", "port", "timeout"}),
    "file": frozenset({"path"}),
    "cups": frozenset({"printer", "host", "port"}),  # no printer: the default CUPS queue
    "dummy": frozenset(),
    "fake": frozenset({"name", "fail", "state", "paper_for", "delay"}),
}

# What each kind needs: each entry one setting, or settings of which any one will do.
NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "usb": (("vendor_id",), ("product_id",)),
    "serial": (("url", "devfile"),),
    "network": (("host",),),
    "file": (("path",),),
}


def allowed_settings(kind: str) -> frozenset[str]:
    return TAKES[kind] if kind == "fake" else TAKES[kind] | COMMON


def check_settings(kind: str, settings: Mapping[str, object]) -> None:
    """ValueError, in plain words, for an unknown kind, a setting the kind does not take, or
    one it needs that is missing (a setting that is None is missing)."""
    if kind not in KINDS:
        raise ValueError(f"unknown printer kind {kind!r}; expected one of: {', '.join(KINDS)}")
    allowed = allowed_settings(kind)
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise ValueError(
            f"unknown settings for a {kind} printer: {', '.join(unknown)}; "
            f"expected some of: {', '.join(sorted(allowed))}"
        )
    missing = [
        group[0] + (f" (or {', '.join(group[1:])})" if len(group) > 1 else "")
        for group in NEEDS.get(kind, ())
        if all(settings.get(key) is None for key in group)
    ]
    if missing:
        raise ValueError(f"a {kind} printer needs {' and '.join(missing)}")
