"""The receipt printer contract, run against the fake and the ESC/POS adapter over real
python-escpos transports (Dummy, File, Network to a local printer emulator, Serial over a pty),
plus the ESC/POS rendering byte by byte and the `make_printer` factory."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from escpos.printer import Dummy, File, Network, Serial

from hardware.escpos_printer import DummyPrinter, EscposPrinter
from hardware.printer import CAN_PRINT, FakePrinter, PrinterError, PrinterState, ReceiptPrinter
from hardware.printers import KINDS, make_printer
from hardware.receipt import Align, Columns, Document, QRCode, Rule, Text
from tests.hardware.escpos_peer import PtyPrinter, TcpPrinter

PROFILE = "TM-T88V"
COLUMNS = 42  # TM-T88V, font A

ESC_INIT = b"\x1b@"
BOLD_ON = b"\x1bE\x01"
BOLD_OFF = b"\x1bE\x00"
DOUBLE_SIZE = b"\x1b!\x30"
CODE_PAGE_437 = b"\x1bt\x00"
QR_COMMAND = b"\x1d(k"
FEED_AND_CUT = b"\x1bd\x06\x1dV\x00"
QUERY_ONLINE, QUERY_PAPER = 1, 4

RECEIPT = Document(
    (
        Text("Biblioteca Central", bold=True, large=True, align=Align.CENTER),
        Text("Lucía Fernández"),
        Columns("El niño y el mar", "23 diciembre"),
        Rule(),
        Text("Gracias", bold=True),
        QRCode("https://library.example/r/123"),
    )
)


def render(document: Document, profile: str = PROFILE) -> bytes:
    printer = DummyPrinter(profile=profile)
    printer.print_document(document)
    return printer.output


# The contract ------------------------------------------------------------------------------


@dataclass
class Rig:
    printer: ReceiptPrinter
    printed: Callable[[], str]  # everything that reached the paper so far, as text
    can_report: bool
    set_state: Callable[[PrinterState], None] | None = None  # None: cannot be faulted


def fake_rig() -> Iterator[Rig]:
    fake = FakePrinter()

    def printed() -> str:
        return "\n".join(line for doc in fake.printed for line in doc.plain_lines())

    def set_state(state: PrinterState) -> None:
        fake.state = state

    yield Rig(fake, printed, can_report=True, set_state=set_state)


def dummy_rig() -> Iterator[Rig]:
    printer = DummyPrinter(profile=PROFILE)
    yield Rig(printer, lambda: printer.output.decode("cp437"), can_report=False)


def file_rig(tmp_path: Path) -> Iterator[Rig]:
    folder = tmp_path / "dev"
    folder.mkdir()
    path = folder / "lp0"
    printer = EscposPrinter("file", lambda: File(devfile=str(path), profile=PROFILE))

    def printed() -> str:
        return path.read_bytes().decode("cp437") if path.exists() else ""

    def set_state(state: PrinterState) -> None:
        # A parallel-port device node that is gone is the one fault a file can show.
        assert state in (PrinterState.UNPLUGGED, PrinterState.READY)
        if state is PrinterState.UNPLUGGED:
            shutil.rmtree(folder)
        else:
            folder.mkdir(exist_ok=True)

    yield Rig(printer, printed, can_report=False, set_state=set_state)


def network_rig() -> Iterator[Rig]:
    servers = [TcpPrinter()]
    port = servers[0].port
    printer = EscposPrinter(
        "network", lambda: Network("127.0.0.1", port=port, timeout=0.5, profile=PROFILE)
    )

    def printed() -> str:
        for server in servers:
            server.settle()
        return b"".join(s.received for s in servers).decode("cp437")

    def set_state(state: PrinterState) -> None:
        server = servers[-1]
        if state is PrinterState.UNPLUGGED:
            server.stop()
            return
        if server._stop.is_set():  # plugged back in: the printer listens again
            servers.append(TcpPrinter(port))
            server = servers[-1]
        server.panel.online = state is not PrinterState.OFFLINE
        server.panel.paper = {PrinterState.PAPER_OUT: "out", PrinterState.PAPER_LOW: "low"}.get(
            state, "ok"
        )

    yield Rig(printer, printed, can_report=True, set_state=set_state)
    for server in servers:
        server.stop()


def make_rig(kind: str, tmp_path: Path) -> Iterator[Rig]:
    rigs = {
        "fake": fake_rig,
        "dummy": dummy_rig,
        "file": lambda: file_rig(tmp_path),
        "network": network_rig,
    }
    yield from rigs[kind]()


@pytest.fixture(params=["fake", "dummy", "file", "network"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    yield from make_rig(request.param, tmp_path)


# Only printers that can be put in a state run the tests for it (no skipped tests): a file or
# Dummy printer cannot report paper or being offline, and a Dummy cannot be unplugged.
@pytest.fixture(params=["fake", "network"])
def reporting_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    yield from make_rig(request.param, tmp_path)


@pytest.fixture(params=["fake", "file", "network"])
def unpluggable_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    yield from make_rig(request.param, tmp_path)


def fault(rig: Rig, state: PrinterState) -> None:
    assert rig.set_state is not None, "this rig cannot be put in a state"
    rig.set_state(state)


def test_prints_every_text(rig: Rig) -> None:
    rig.printer.print_document(RECEIPT)
    printed = rig.printed()
    for text in ("Biblioteca Central", "Lucía Fernández", "El niño y el mar", "23 diciembre"):
        assert text in printed


def test_status_when_ready_lets_it_print(rig: Rig) -> None:
    state = rig.printer.status()
    assert state in CAN_PRINT
    assert state is (PrinterState.READY if rig.can_report else PrinterState.UNKNOWN)


@pytest.mark.parametrize("state", [PrinterState.PAPER_OUT, PrinterState.OFFLINE])
def test_refuses_to_print_into_a_printer_that_cannot(
    reporting_rig: Rig, state: PrinterState
) -> None:
    rig = reporting_rig
    fault(rig, state)
    assert rig.printer.status() is state
    with pytest.raises(PrinterError) as raised:
        rig.printer.print_document(RECEIPT)
    assert raised.value.state is state
    assert rig.printed() == ""


def test_paper_low_still_prints(reporting_rig: Rig) -> None:
    rig = reporting_rig
    fault(rig, PrinterState.PAPER_LOW)
    assert rig.printer.status() is PrinterState.PAPER_LOW
    rig.printer.print_document(RECEIPT)
    assert "Lucía Fernández" in rig.printed()


def test_unplugged_fails_and_the_next_receipt_retries(unpluggable_rig: Rig) -> None:
    rig = unpluggable_rig
    fault(rig, PrinterState.UNPLUGGED)
    with pytest.raises(PrinterError) as raised:
        rig.printer.print_document(RECEIPT)
    assert raised.value.state is PrinterState.UNPLUGGED
    if rig.can_report:
        assert rig.printer.status() is PrinterState.UNPLUGGED
    assert rig.set_state is not None
    rig.set_state(PrinterState.READY)
    rig.printer.print_document(RECEIPT)
    assert rig.printed().count("Lucía Fernández") == 1


# ESC/POS rendering, byte by byte -----------------------------------------------------------


def body(output: bytes) -> bytes:
    """The receipt between the code page selection and the final feed and cut."""
    assert output.endswith(FEED_AND_CUT)
    return output.split(CODE_PAGE_437, 1)[1][: -len(FEED_AND_CUT)]


def test_a_one_line_receipt_is_exactly_these_bytes() -> None:
    expected = (
        ESC_INIT
        + b"\x1bM\x00"  # font A
        + b"\x1b!\x00" * 3  # normal size (python-escpos repeats ESC ! 0)
        + BOLD_ON
        + b"\x1ba\x00"  # align left
        + CODE_PAGE_437
        + b"Hola\n"
        + FEED_AND_CUT
    )
    assert render(Document((Text("Hola", bold=True),))) == expected


def test_accented_names_print_in_a_code_page_the_printer_has() -> None:
    output = render(Document((Text("Lucía"), Text("diciembre"), Text("Müller niño"))))
    assert CODE_PAGE_437 in output  # ESC t 0 selects PC437 before the text
    assert b"Luc\xa1a\n" in output  # í is 0xA1 in PC437
    assert b"diciembre\n" in output
    assert b"M\x81ller ni\xa4o\n" in output  # ü 0x81, ñ 0xA4
    assert b"?" not in output


def test_bold_and_large_blocks_send_their_commands_and_reset_them() -> None:
    output = render(Document((Text("BIG", bold=True, large=True), Text("small"))))
    big = output.index(b"BIG")
    assert output.rindex(DOUBLE_SIZE, 0, big) < big
    assert output.rindex(BOLD_ON, 0, big) < big
    small = output.index(b"small")
    between = output[big:small]
    assert BOLD_OFF in between
    assert b"\x1b!\x00" in between  # back to normal size


def test_long_text_wraps_at_the_profile_columns() -> None:
    words = [f"word{i:02d}" for i in range(16)]  # 16 * 7 - 1 = 111 characters
    text = " ".join(words)
    lines = body(render(Document((Text(text),)))).split(b"\n")
    assert lines[-1] == b""
    lines = lines[:-1]
    assert len(lines) == 3
    assert all(len(line) <= COLUMNS for line in lines)
    assert b" ".join(lines).decode() == text  # no word lost or split


def test_large_text_wraps_at_half_the_columns() -> None:
    text = "Biblioteca Pública Municipal de Santander"  # 41 characters
    output = render(Document((Text(text, large=True),)))
    assert DOUBLE_SIZE in output
    lines = body(output).split(b"\n")[:-1]
    assert lines == [b"Biblioteca P\xa3blica", b"Municipal de", b"Santander"]  # 21 columns


def test_columns_fill_the_line_or_wrap_onto_two() -> None:
    fits = body(render(Document((Columns("Due", "23 diciembre 2026"),))))
    assert fits == b"Due" + b" " * (COLUMNS - 3 - 17) + b"23 diciembre 2026\n"

    left = "El ingenioso hidalgo don Quijote de la Mancha"  # 45: longer than a line
    wrapped = body(render(Document((Columns(left, "12/01"),))))
    lines = wrapped.split(b"\n")[:-1]
    assert lines[-1] == b"12/01".rjust(COLUMNS)
    assert all(len(line) <= COLUMNS for line in lines)
    assert b" ".join(lines[:-1]).decode() == left


def test_rule_is_one_full_line_of_dashes() -> None:
    assert body(render(Document((Rule(),)))) == b"-" * COLUMNS + b"\n"


def test_qr_block_is_printed_natively_and_only_when_present() -> None:
    data = "https://library.example/r/123"
    output = render(Document((QRCode(data),)))
    store = QR_COMMAND + bytes([len(data) + 3, 0]) + b"1P0" + data.encode()
    assert store in output
    assert QR_COMMAND + b"\x03\x001C\x06" in output  # module size qr_size=6
    assert QR_COMMAND + b"\x03\x001Q0" in output  # print it
    assert QR_COMMAND not in render(Document((Text("no code"),)))


def test_qr_is_a_raster_image_on_a_printer_without_native_qr() -> None:
    output = render(Document((QRCode("https://library.example/r/123"),)), profile="ZJ-5870")
    assert QR_COMMAND not in output
    assert b"\x1dv0" in output  # GS v 0: raster bit image


def test_every_receipt_ends_with_feed_and_cut() -> None:
    assert render(RECEIPT).endswith(FEED_AND_CUT)
    assert render(Document(())).endswith(FEED_AND_CUT)


def test_dummy_keeps_each_receipt() -> None:
    printer = DummyPrinter(profile=PROFILE)
    printer.print_document(Document((Text("one"),)))
    printer.print_document(Document((Text("two"),)))
    assert len(printer.receipts) == 2
    assert b"one" in printer.receipts[0] and b"two" in printer.receipts[1]
    assert printer.receipts[1].startswith(ESC_INIT)  # each starts clean


# Network: status through the real DLE EOT protocol -----------------------------------------


@pytest.fixture
def tcp_printer() -> Iterator[TcpPrinter]:
    server = TcpPrinter()
    yield server
    server.stop()


def network_printer(port: int, timeout: float = 0.5) -> EscposPrinter:
    return EscposPrinter(
        "net", lambda: Network("127.0.0.1", port=port, timeout=timeout, profile=PROFILE)
    )


@pytest.mark.parametrize(
    ("online", "paper", "expected", "queries"),
    [
        (True, "ok", PrinterState.READY, [QUERY_ONLINE, QUERY_PAPER]),
        (True, "low", PrinterState.PAPER_LOW, [QUERY_ONLINE, QUERY_PAPER]),
        (True, "out", PrinterState.PAPER_OUT, [QUERY_ONLINE, QUERY_PAPER]),
        (False, "ok", PrinterState.OFFLINE, [QUERY_ONLINE]),
    ],
)
def test_status_maps_the_printer_answers(
    tcp_printer: TcpPrinter, online: bool, paper: str, expected: PrinterState, queries: list[int]
) -> None:
    tcp_printer.panel.online, tcp_printer.panel.paper = online, paper
    assert network_printer(tcp_printer.port).status() is expected
    tcp_printer.wait_finished(1)
    assert tcp_printer.conversations[0].queries == queries
    assert tcp_printer.received == b""  # a status query prints nothing


def test_network_receipt_is_the_same_bytes_as_dummy(tcp_printer: TcpPrinter) -> None:
    network_printer(tcp_printer.port).print_document(RECEIPT)
    tcp_printer.wait_finished(1)
    talk = tcp_printer.conversations[0]
    assert talk.queries == [QUERY_ONLINE, QUERY_PAPER]
    assert bytes(talk.data) == render(RECEIPT)


def test_paper_out_sends_nothing_but_the_queries(tcp_printer: TcpPrinter) -> None:
    tcp_printer.panel.paper = "out"
    with pytest.raises(PrinterError) as raised:
        network_printer(tcp_printer.port).print_document(RECEIPT)
    assert raised.value.state is PrinterState.PAPER_OUT
    tcp_printer.wait_finished(1)
    assert tcp_printer.received == b""


def test_a_printer_that_never_answers_is_offline(tcp_printer: TcpPrinter) -> None:
    tcp_printer.panel.answers = False
    printer = network_printer(tcp_printer.port, timeout=0.2)
    assert printer.status() is PrinterState.OFFLINE
    with pytest.raises(PrinterError) as raised:
        printer.print_document(RECEIPT)
    assert raised.value.state is PrinterState.OFFLINE
    tcp_printer.wait_finished(2)
    assert tcp_printer.received == b""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_nothing_listening_is_unplugged() -> None:
    printer = network_printer(free_port())
    assert printer.status() is PrinterState.UNPLUGGED
    with pytest.raises(PrinterError) as raised:
        printer.print_document(RECEIPT)
    assert raised.value.state is PrinterState.UNPLUGGED
    assert "Connection refused" in str(raised.value)
    assert isinstance(raised.value.__cause__, Exception)  # translated with `from`


# Serial over a pty -------------------------------------------------------------------------


@pytest.fixture
def pty_printer() -> Iterator[PtyPrinter]:
    peer = PtyPrinter()
    yield peer
    peer.stop()


def serial_printer(device: str) -> EscposPrinter:
    return EscposPrinter(
        "serial", lambda: Serial(devfile=device, baudrate=38400, timeout=0.5, profile=PROFILE)
    )


def test_serial_receipt_is_the_same_bytes_as_dummy(pty_printer: PtyPrinter) -> None:
    serial_printer(pty_printer.device).print_document(RECEIPT)
    assert pty_printer.received_when(FEED_AND_CUT) == render(RECEIPT)
    assert pty_printer.talk.queries == [QUERY_ONLINE, QUERY_PAPER]


def test_serial_paper_out_is_refused(pty_printer: PtyPrinter) -> None:
    pty_printer.panel.paper = "out"
    printer = serial_printer(pty_printer.device)
    assert printer.status() is PrinterState.PAPER_OUT
    with pytest.raises(PrinterError) as raised:
        printer.print_document(RECEIPT)
    assert raised.value.state is PrinterState.PAPER_OUT
    assert pty_printer.received_when(FEED_AND_CUT, timeout=0.2) == b""


def test_serial_printer_that_never_answers_is_offline(pty_printer: PtyPrinter) -> None:
    pty_printer.panel.answers = False
    printer = serial_printer(pty_printer.device)
    assert printer.status() is PrinterState.OFFLINE
    with pytest.raises(PrinterError) as raised:
        printer.print_document(RECEIPT)
    assert raised.value.state is PrinterState.OFFLINE
    assert pty_printer.received_when(FEED_AND_CUT, timeout=0.2) == b""


# File --------------------------------------------------------------------------------------


def test_file_printer_cannot_report_and_status_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    path.write_bytes(b"earlier job")
    printer = EscposPrinter("file", lambda: File(devfile=str(path), profile=PROFILE))
    assert printer.status() is PrinterState.UNKNOWN
    assert path.read_bytes() == b"earlier job"
    printer.print_document(RECEIPT)
    assert path.read_bytes() == render(RECEIPT)


def test_dummy_cannot_report() -> None:
    assert EscposPrinter("d", lambda: Dummy(profile=PROFILE)).status() is PrinterState.UNKNOWN


def test_qr_size_is_checked_when_built() -> None:
    with pytest.raises(ValueError, match="qr_size"):
        EscposPrinter("d", lambda: Dummy(profile=PROFILE), qr_size=17)


# make_printer ------------------------------------------------------------------------------


def test_make_dummy_keeps_bytes_and_uses_the_profile() -> None:
    printer = make_printer("dummy", profile="TM-T88III", font="b")
    assert isinstance(printer, DummyPrinter)
    long_text = " ".join(["abcdefg"] * 10)  # 79 characters; font B has 56 columns
    printer.print_document(Document((Text(long_text),)))
    lines = body(printer.output).split(b"\n")[:-1]
    assert [len(line) for line in lines] == [55, 23]
    assert b"\x1bM\x01" in printer.output  # font B


def test_make_fake_passes_its_fault_switches() -> None:
    printer = make_printer("fake", state=PrinterState.OFFLINE)
    assert isinstance(printer, FakePrinter)
    assert printer.status() is PrinterState.OFFLINE


def test_make_file_prints_to_the_path(tmp_path: Path) -> None:
    path = tmp_path / "lp0"
    printer = make_printer("file", path=str(path), name="front desk")
    assert printer.name == "front desk"
    printer.print_document(RECEIPT)
    assert path.read_bytes() == render(RECEIPT)


def test_make_network_talks_to_the_printer(tcp_printer: TcpPrinter) -> None:
    printer = make_printer("network", host="127.0.0.1", port=tcp_printer.port, timeout=1)
    assert printer.status() is PrinterState.READY
    printer.print_document(RECEIPT)
    tcp_printer.wait_finished(2)
    assert tcp_printer.received == render(RECEIPT)


def test_make_serial_talks_to_the_printer(pty_printer: PtyPrinter) -> None:
    printer = make_printer("serial", url=pty_printer.device, baudrate=19200, timeout=0.5)
    printer.print_document(RECEIPT)
    assert pty_printer.received_when(FEED_AND_CUT) == render(RECEIPT)


def test_make_serial_with_no_such_port_is_unplugged(tmp_path: Path) -> None:
    printer = make_printer("serial", devfile=str(tmp_path / "ttyUSB9"))
    assert printer.status() is PrinterState.UNPLUGGED
    with pytest.raises(PrinterError) as raised:
        printer.print_document(RECEIPT)
    assert raised.value.state is PrinterState.UNPLUGGED


def test_make_usb_with_no_device_fails_on_print_not_construction() -> None:
    printer = make_printer("usb", vendor_id=0x04B8, product_id=0x0E15, out_ep=0x01)
    with pytest.raises(PrinterError) as raised:
        printer.print_document(RECEIPT)
    assert raised.value.state is PrinterState.UNPLUGGED
    assert printer.status() is PrinterState.UNPLUGGED


def test_make_cups_needs_pycups() -> None:
    from escpos.printer import cups

    if cups.is_usable():
        assert make_printer("cups", printer="receipts").name == "cups"
    else:
        with pytest.raises(PrinterError) as raised:
            make_printer("cups", printer="receipts")
        assert "pycups" in str(raised.value)
        assert "python3-cups" in str(raised.value)


def test_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(ValueError) as raised:
        make_printer("bluetooth")
    for kind in KINDS:
        assert kind in str(raised.value)


def test_unknown_or_missing_settings_are_errors() -> None:
    with pytest.raises(ValueError, match="baud"):
        make_printer("network", host="127.0.0.1", baud=9600)
    with pytest.raises(ValueError, match="host"):
        make_printer("network")
    with pytest.raises(ValueError, match="vendor_id"):
        make_printer("usb", product_id=1)


def test_wrap_helper_agrees_with_plain_lines_for_columns() -> None:
    # The printed Columns line and Document.plain_lines() say the same thing.
    block = Columns("Renewals", "2")
    printed = body(render(Document((block,))))
    assert printed.decode() == Document((block,)).plain_lines(COLUMNS)[0] + "\n"
