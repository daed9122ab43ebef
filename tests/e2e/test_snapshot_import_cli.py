"""`kiosk snapshot import` as staff run it: what it says it read (separator, encoding), what
it resolved, and that a configured public key is enforced here too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.storage.audit import AuditLog
from tests.conftest import KioskHome, patron, standard_csv

KOHA_STYLE = "borrowernumber;cardnumber;surname;firstname;balance\n"


def with_snapshot_settings(home: KioskHome, settings: str) -> None:
    home.write_config()
    text = home.config_path.read_text(encoding="utf-8")
    home.config_path.write_text(text.replace("[snapshot]\n", f"[snapshot]\n{settings}\n"))


def write(home: KioskHome, name: str, data: bytes) -> Path:
    path = home.root / name
    path.write_bytes(data)
    return path


def audit(home: KioskHome) -> list[tuple[str, dict[str, str]]]:
    return [(e.action, e.details) for e in AuditLog(home.data_dir).entries()]


def test_a_semicolon_separated_export_is_read_and_the_separator_named(home: KioskHome) -> None:
    with_snapshot_settings(
        home,
        'columns = { barcode = "cardnumber", name = ["firstname", "surname"], fines = "balance" }',
    )
    rows = "".join(f"{s};{patron(s)};O'Brien, Jr.;Ana;{s}.00\n" for s in range(1, 6))
    source = write(home, "koha.csv", (KOHA_STYLE + rows).encode())

    result = home.kiosk("snapshot", "import", str(source))

    assert result.returncode == 0, result.stderr
    assert "Imported 5 patrons" in result.stdout
    assert "Read as UTF-8, separator: semicolon." in result.stdout
    # First-name and surname columns: "Ana O'Brien, Jr." greets Ana, not "Jr.".
    for language, greeting in (("en", "Hello, Ana!"), ("es", "¡Hola, Ana!")):
        shown = home.kiosk(
            "run",
            "--headless",
            "--scratch",
            "--show",
            "text",
            "--language",
            language,
            input=f"{patron(1)}\n",
        )
        assert shown.returncode == 0, shown.stderr
        assert f"[checkout] {greeting}" in shown.stdout


def test_a_windows_1252_export_is_named_and_a_setting_reads_it(home: KioskHome) -> None:
    home.write_config()
    text = "barcode,name\n" + f"{patron(1)},Muñoz, José\n" + f"{patron(2)},Lucía\n"
    source = write(
        home, "cp1252.csv", text.replace(",Muñoz, José", ',"Muñoz, José"').encode("cp1252")
    )

    refused = home.kiosk("snapshot", "import", str(source))
    assert refused.returncode == 65
    assert "is not UTF-8 text" in refused.stderr
    assert "Windows-1252" in refused.stderr
    assert 'snapshot.encoding = "cp1252"' in refused.stderr

    with_snapshot_settings(home, 'encoding = "cp1252"')
    accepted = home.kiosk("snapshot", "import", str(source))
    assert accepted.returncode == 0, accepted.stderr
    assert "Read as CP1252, separator: comma." in accepted.stdout
    listed = home.kiosk("snapshot", "import", str(source), "--encoding", "iso-8859-15")
    assert listed.returncode == 0, listed.stderr  # the command line's encoding wins


def test_an_unknown_encoding_setting_is_a_config_error(home: KioskHome) -> None:
    with_snapshot_settings(home, 'encoding = "klingon"')
    result = home.kiosk("config", "check")
    assert result.returncode == 78
    assert "'klingon' is not a text encoding" in result.stderr


def test_the_import_says_what_it_resolved_and_left_out(home: KioskHome) -> None:
    home.write_config()
    text = (
        "barcode,name,fines,status\n"
        f"{patron(1)},Ana,0.00,ok\n"
        f"{patron(2)},Bao,0.00,ok\n"
        f"{patron(1)},Ana,25.00,blocked\n"
        f"{patron(3)},Chidi,1.00,ok"  # no line end: may be cut short
    )
    result = home.kiosk("snapshot", "import", str(write(home, "p.csv", text.encode())))
    assert result.returncode == 0, result.stderr
    assert "Imported 2 patrons" in result.stdout
    assert "1 card is listed more than once with different values" in result.stderr
    assert "the most serious status, the highest fines" in result.stderr
    assert "Line 5 was left out: it has no line end" in result.stderr
    info = home.kiosk("snapshot", "info")
    assert "1 card listed more than once with different values" in info.stdout
    refused = home.kiosk("run", "--headless", "--scratch", input=f"{patron(1)}\n")
    events = [json.loads(line) for line in refused.stdout.splitlines()]
    assert events[1]["event"] == "patron_refused"
    assert events[1]["reason"] == "blocked"


def test_snapshot_info_without_a_snapshot_exits_69(home: KioskHome) -> None:
    home.write_config()
    result = home.kiosk("snapshot", "info")
    assert result.returncode == 69
    assert "no patron snapshot has been imported yet" in result.stderr


# The library's public key --------------------------------------------------------------------


@pytest.fixture
def signed_home(home: KioskHome) -> tuple[KioskHome, Path]:
    home.write_config()
    keygen = home.kiosk("snapshot", "keygen", "--out", str(home.root))
    assert keygen.returncode == 0, keygen.stderr
    line = next(x for x in keygen.stdout.splitlines() if x.startswith("public_key = "))
    with_snapshot_settings(home, line)
    return home, home.root / "snapshot-signing.pem"


def test_a_manual_import_checks_the_signature_too(signed_home: tuple[KioskHome, Path]) -> None:
    home, key = signed_home
    source = write(home, "patrons.csv", standard_csv().encode())

    unsigned = home.kiosk("snapshot", "import", str(source))
    assert unsigned.returncode == 65
    assert "is not signed" in unsigned.stderr
    assert "--unsigned" in unsigned.stderr

    signed = home.kiosk("snapshot", "sign", str(source), "--key", str(key))
    assert signed.returncode == 0, signed.stderr
    good = home.kiosk("snapshot", "import", str(source))
    assert good.returncode == 0, good.stderr
    assert ("snapshot.import", "good") in [(a, d.get("signature")) for a, d in audit(home)]

    source.write_bytes(standard_csv().replace("10.01", "0.01").encode())  # after signing
    changed = home.kiosk("snapshot", "import", str(source), "--allow-shrink")
    assert changed.returncode == 65
    assert "does not match its signature" in changed.stderr


def test_unsigned_is_explicit_and_audited(signed_home: tuple[KioskHome, Path]) -> None:
    home, _ = signed_home
    source = write(home, "patrons.csv", standard_csv().encode())
    result = home.kiosk("snapshot", "import", str(source), "--unsigned")
    assert result.returncode == 0, result.stderr
    assert "the signature was not checked (--unsigned)" in result.stderr
    imports = [d for a, d in audit(home) if a == "snapshot.import"]
    assert imports[-1]["signature"] == "NOT CHECKED (--unsigned)"
