"""The pure SIP2 codec (kiosk/upload/sip2.py), checked against pysip2's own encoder and
decoder: an implementation written independently of ours, so a mistake shared by both ends of
a home-made codec cannot hide here."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pysip2 import (
    ACSStatusResponse,
    CheckoutRequest,
    CheckoutResponse,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    RequestSCResend,
    SCStatusRequest,
    SIPResponse,
    calculate_checksum,
    decode_message,
    encode_message,
    verify_checksum,
)

from kiosk.upload import sip2
from tests.reliability import torture

TZ = ZoneInfo("America/New_York")
TRAILER = re.compile(rb"AY[0-9]AZ[0-9A-F]{4}\r\Z")
TRANS_DATE = re.compile(r"\A[0-9]{8}    [0-9]{6}\Z")

# Field values pysip2 will encode: no delimiter, CR or NUL, and a little non-ASCII.
values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="|\r\x00"),
    max_size=24,
)
short_values = st.lists(values, max_size=3).map(tuple)
one_line = values.filter(lambda v: "\n" not in v)  # what our requests may carry
sequences = st.integers(min_value=0, max_value=9)
yes_no = st.sampled_from("YN")


def wire(message: SIPResponse, sequence: int | None, encoding: str = "utf-8") -> bytes:
    """An answer as a real ACS would send it, without its carriage return (the client splits
    answers on it)."""
    framed = encode_message(
        message,
        sequence_number=sequence,
        checksum=sequence is not None,
        encoding=encoding,
    )
    assert framed.endswith(b"\r")
    return framed[:-1]


def decoded(frame: bytes, encoding: str = "utf-8") -> object:
    result = decode_message(frame, encoding=encoding)
    return result.message


# Checksum and frame --------------------------------------------------------------------------


@given(st.binary(max_size=600))
def test_the_checksum_makes_the_byte_sum_zero_modulo_65536(body: bytes) -> None:
    text = sip2.checksum(body)
    assert re.fullmatch(r"[0-9A-F]{4}", text)
    assert (sum(body) + int(text, 16)) % 65536 == 0
    assert text == calculate_checksum(body)  # pysip2 agrees


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"96AZ", "FEF6"),  # the resend request as the spec prints it
        (b"", "0000"),
        (b"\xff" * 257, f"{(-255 * 257) & 0xFFFF:04X}"),  # the sum wraps past 16 bits
    ],
)
def test_checksum_table(body: bytes, expected: str) -> None:
    assert sip2.checksum(body) == expected


@given(one_line, st.integers(min_value=0, max_value=1000))
def test_a_frame_ends_with_sequence_checksum_and_carriage_return(body: str, sequence: int) -> None:
    framed = sip2.frame("99" + body, sequence, "utf-8")
    assert TRAILER.search(framed), framed
    assert framed[-8:-7] == str(sequence % 10).encode()
    assert framed.count(b"\r") == 1
    assert verify_checksum(framed[:-1])  # pysip2's check of the same frame
    assert (sum(framed[:-5]) + int(framed[-5:-1], 16)) % 65536 == 0


def test_a_frame_without_error_detection_is_the_body_and_a_carriage_return() -> None:
    assert sip2.frame("9900402.00", None, "utf-8") == b"9900402.00\r"


# Answers built by pysip2, read by us ----------------------------------------------------------


@given(
    ok=st.sampled_from("01"),
    renewal=yes_no,
    patron=values,
    item=values,
    title=values,
    due=values,
    screen=short_values,
    sequence=st.none() | sequences,
)
def test_a_checkout_answer_round_trips(
    ok: str,
    renewal: str,
    patron: str,
    item: str,
    title: str,
    due: str,
    screen: tuple[str, ...],
    sequence: int | None,
) -> None:
    raw = wire(
        CheckoutResponse(
            ok=ok,
            renewal_ok=renewal,
            magnetic_media="N",
            desensitize="Y",
            transaction_date="20261123    100500",
            institution_id="MAIN",
            patron_identifier=patron,
            item_identifier=item,
            title_identifier=title,
            due_date=due,
            screen_message=screen,
        ),
        sequence,
    )
    message = sip2.parse(raw, "utf-8")
    assert message.code == "12"
    assert message.sequence == sequence
    assert message.first("AA") == patron
    assert message.first("AB") == item
    assert message.first("AO") == "MAIN"
    answer = sip2.checkout_answer(message)
    assert answer.ok is (ok == "1")
    assert answer.renewal is (renewal == "Y")
    assert answer.title == title
    assert answer.due_date == due
    assert answer.screen_message == " ".join(screen)


@pytest.mark.parametrize("sequence", [None, 4])
@pytest.mark.parametrize(
    ("online", "checkout_ok", "offline_ok"),
    [("Y", "Y", "Y"), ("N", "Y", "Y"), ("Y", "N", "N"), ("N", "N", "Y")],
)
def test_an_acs_status_round_trips(
    online: str, checkout_ok: str, offline_ok: str, sequence: int | None
) -> None:
    raw = wire(
        ACSStatusResponse(
            online_status=online,
            checkin_ok="Y",
            checkout_ok=checkout_ok,
            acs_renewal_policy="N",
            status_update_ok="N",
            offline_ok=offline_ok,
            timeout_period="030",
            retries_allowed="003",
            date_time_sync="20261123    100000",
            protocol_version="2.00",
            institution_id="MAIN",
            library_name="Test ILS",
            supported_messages="YYYNYYYYNNNNNNNN",
            screen_message=("Down for maintenance",),
        ),
        sequence,
    )
    message = sip2.parse(raw, "utf-8")
    assert message.code == "98"
    assert message.sequence == sequence
    assert message.first("AM") == "Test ILS"
    assert message.first("AF") == "Down for maintenance"
    status = sip2.acs_status(message)
    assert status == sip2.AcsStatus(
        online=online == "Y",
        checkout_ok=checkout_ok == "Y",
        offline_ok=offline_ok == "Y",
        institution="MAIN",
    )


@pytest.mark.parametrize(("ok", "fixed"), [("1", "1"), ("0", "0")])
def test_a_login_answer_round_trips(ok: str, fixed: str) -> None:
    message = sip2.parse(wire(LoginResponse(ok=ok), 0), "utf-8")
    assert (message.code, message.fixed, message.sequence, message.fields) == ("94", fixed, 0, {})


@given(charged=st.lists(values.filter(bool), max_size=6).map(tuple), sequence=sequences)
def test_patron_information_round_trips_with_its_charged_items(
    charged: tuple[str, ...], sequence: int
) -> None:
    raw = wire(
        PatronInformationResponse(
            patron_status=" " * 14,
            language="001",
            transaction_date="20261123    100000",
            hold_items_count="0000",
            overdue_items_count="0000",
            charged_items_count=f"{len(charged):04d}",
            fine_items_count="0000",
            recall_items_count="0000",
            unavailable_holds_count="0000",
            institution_id="MAIN",
            patron_identifier="21234000000018",
            personal_name="Rivera, Ana",
            valid_patron="Y",
            charged_items=charged,
        ),
        sequence,
    )
    message = sip2.parse(raw, "utf-8")
    assert message.code == "64"
    assert message.sequence == sequence
    assert message.first("AE") == "Rivera, Ana"
    assert sip2.charged_items(message) == charged


def test_a_resend_request_from_the_acs_parses() -> None:
    raw = wire(RequestSCResend(), 0)  # 96 carries AZ only, never AY
    assert raw == b"96AZFEF6"
    message = sip2.parse(raw, "utf-8")
    assert (message.code, message.fixed, message.sequence) == ("96", "", None)


@pytest.mark.parametrize("encoding", ["utf-8", "cp850"])
def test_non_ascii_text_round_trips_in_the_configured_encoding(encoding: str) -> None:
    raw = wire(
        CheckoutResponse(
            ok="0",
            renewal_ok="N",
            magnetic_media="N",
            desensitize="N",
            transaction_date="20261123    100500",
            institution_id="MAIN",
            patron_identifier="P1",
            item_identifier="I1",
            title_identifier="Cien años de soledad",
            due_date="",
            screen_message=("Réservé pour un autre usager",),
        ),
        7,
        encoding,
    )
    answer = sip2.checkout_answer(sip2.parse(raw, encoding))
    assert answer.title == "Cien años de soledad"
    assert answer.screen_message == "Réservé pour un autre usager"


def test_an_answer_without_error_detection_whose_last_value_ends_like_a_trailer() -> None:
    """Without AY/AZ (sip2.error_detection = false) only `AZ` and four hex digits at the very
    end are a checksum; a last value ending in `AZ` and three characters (`AZ123|`) is text."""
    raw = wire(
        CheckoutResponse(
            ok="1",
            renewal_ok="N",
            magnetic_media="N",
            desensitize="Y",
            transaction_date="20261123    100500",
            institution_id="MAIN",
            patron_identifier="P1",
            item_identifier="I1",
            title_identifier="T",
            due_date="20261214    235959",
            screen_message=("Return to gate AZ123",),
        ),
        None,
    )
    assert raw.endswith(b"AZ123|")
    answer = sip2.checkout_answer(sip2.parse(raw, "utf-8"))
    assert answer.screen_message == "Return to gate AZ123"
    assert answer.ok


# Broken answers -------------------------------------------------------------------------------


def test_a_bad_checksum_raises_checksum_mismatch() -> None:
    raw = wire(LoginResponse(ok="1"), 3)
    good = sip2.parse(raw, "utf-8")
    assert good.fixed == "1"
    last = raw[-1:]
    broken = raw[:-1] + (b"0" if last != b"0" else b"1")
    with pytest.raises(sip2.ChecksumMismatch):
        sip2.parse(broken, "utf-8")
    # One byte changed in the body, the checksum left as it was: caught too.
    with pytest.raises(sip2.ChecksumMismatch):
        sip2.parse(b"940" + raw[3:], "utf-8")


@given(
    raw=st.binary(min_size=1, max_size=200).filter(lambda b: b.strip(b"\r\n")),
    flip=st.integers(min_value=0),
)
def test_any_single_byte_change_under_a_checksum_is_caught(raw: bytes, flip: int) -> None:
    body = b"12" + b"1NNY20261123    100500AOMAIN|AA" + raw.replace(b"\r", b"") + b"|AY1AZ"
    framed = body + sip2.checksum(body).encode()
    assert sip2.parse(framed, "latin-1").code == "12"
    position = flip % len(body)
    changed = bytearray(framed)
    changed[position] = (changed[position] + 1) % 256
    if bytes(changed).rfind(b"AZ") != len(body) - 2 or b"\r" in changed or b"\n" in changed:
        return  # the change moved the trailer itself: not this property
    with pytest.raises(sip2.ChecksumMismatch):
        sip2.parse(bytes(changed), "latin-1")


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "empty"),
        (b"\r\n", "empty"),
        (b"9", "empty"),
        (b"24" + b" " * 14, "unexpected code"),  # a patron status: not an answer we read
        (b"12", "cut short"),
        (b"121NNY2026", "cut short"),
        (b"98YYYNYN030", "cut short"),
        (b"94", "cut short"),
        (b"\xff\xfe", "unexpected code"),
        (b"12\xff" + b" " * 21, "not ASCII"),  # the fixed part: no text of any encoding
    ],
)
def test_garbage_raises_a_format_error(raw: bytes, why: str) -> None:
    with pytest.raises(sip2.Sip2FormatError, match=why.split()[-1]):
        sip2.parse(raw, "utf-8")


def framed(body: bytes) -> bytes:
    return body + sip2.checksum(body).encode()


# Good answers of each kind we read, to be damaged: cut, bytes changed, bytes put in.
GOOD_ANSWERS = [
    framed(
        b"121NNY20261123    100500AOMAIN|AA21234000000018|AB31234000000016|AJThe Title|"
        b"AH20261214    235900|AY1AZ"
    ),
    framed(b"98YYYNYN03000320261123    1005002.00AOMAIN|AMMain|BXYYYYYYYYYYYYYYYY|AY2AZ"),
    framed(
        b"64              00120261123    100500000000020000000000000000AOMAIN|"
        b"AA21234000000018|AEAna Rivera|AU31234000000016|AU31234000000024|AY3AZ"
    ),
]


@st.composite
def damaged_answers(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(GOOD_ANSWERS)))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(raw)))
        change = draw(st.sampled_from(["cut", "set", "insert"]))
        if change == "cut":
            del raw[at:]
        elif change == "set" and at < len(raw):
            raw[at] = draw(st.integers(0, 255))
        else:
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(raw)


def test_arbitrary_bytes_never_raise_anything_but_a_format_error() -> None:
    clock = torture.Clock()
    outcomes: Counter[str] = Counter()

    @torture.examples(100, 5000)
    @given(
        st.binary(max_size=300) | damaged_answers(),
        st.sampled_from(["utf-8", "ascii", "cp850", "latin-1"]),
    )
    @example(b"94AZ0000", "utf-8")
    @example(b"94AY1AZ\xff\xff\xff\xff", "utf-8")
    @example(b"12AZ", "utf-8")
    @example(b"64AYxAZ" + sip2.checksum(b"64AYxAZ").encode(), "utf-8")
    def check(raw: bytes, encoding: str) -> None:
        try:
            message = sip2.parse(raw, encoding)
        except sip2.Sip2FormatError:
            outcomes["refused"] += 1
            return
        outcomes["parsed"] += 1
        # Whatever parsed must also be safe to read as each kind of answer.
        for reader in (sip2.checkout_answer, sip2.acs_status, sip2.charged_items):
            with contextlib.suppress(sip2.Sip2FormatError):
                reader(message)

    check()
    assert outcomes["refused"] > 0 and outcomes["parsed"] > 0
    torture.record(
        "Bad input: SIP2 answers",
        tried="hypothesis: any bytes, and good answers cut, changed or added to, in four "
        "encodings, as an answer from the library system",
        times=sum(outcomes.values()),
        lost=0,
        outcome="each parsed (and safe to read as every kind of answer) or refused with "
        f"Sip2FormatError; no other exception ({outcomes['refused']:,} refused, "
        f"{outcomes['parsed']:,} parsed)",
        seconds=clock.seconds(),
    )


@pytest.mark.parametrize(
    ("reader", "wrong"),
    [
        (sip2.checkout_answer, b"941"),
        (sip2.acs_status, b"941"),
        (sip2.charged_items, b"941"),
        (sip2.checkout_answer, b"96"),
    ],
)
def test_reading_an_answer_as_the_wrong_kind_is_a_format_error(
    reader: object, wrong: bytes
) -> None:
    assert callable(reader)
    with pytest.raises(sip2.Sip2FormatError, match="expected"):
        reader(sip2.parse(wrong, "utf-8"))


# Requests we build, read by pysip2 ------------------------------------------------------------


def test_the_checkout_message_as_pysip2_reads_it() -> None:
    occurred = datetime(2026, 11, 23, 15, 5, 9, tzinfo=UTC).astimezone(TZ)  # 10:05:09 local
    body = sip2.checkout(
        occurred_at=occurred,
        due_date=date(2026, 12, 14),
        zone=TZ,
        institution="MAIN",
        patron="21234000000018",
        item="31234000000016",
        terminal_password="tpw",
    )
    framed = sip2.frame(body, 3, "utf-8")
    result = decode_message(framed, encoding="utf-8")
    assert result.sequence_number == 3
    assert result.checksum == framed[-5:-1].decode()
    request = result.message
    assert isinstance(request, CheckoutRequest)
    assert request.sc_renewal_policy == "N"
    assert request.no_block == "Y"  # it already happened, offline
    assert request.transaction_date == "20261123    100509"
    assert request.nb_due_date == "20261214    235959"
    assert request.institution_id == "MAIN"
    assert request.patron_identifier == "21234000000018"
    assert request.item_identifier == "31234000000016"
    assert request.terminal_password == "tpw"
    assert request.fee_acknowledged == "N"
    assert request.patron_password is None
    assert request.cancel is None


when = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31),
    timezones=st.sampled_from([ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin"), UTC]),
)


@given(
    occurred=when,
    loan_days=st.integers(min_value=0, max_value=400),
    terminal_password=one_line,
)
def test_checkout_fixed_fields_for_any_time_and_due_date(
    occurred: datetime, loan_days: int, terminal_password: str
) -> None:
    due = occurred.date() + timedelta(days=loan_days)
    body = sip2.checkout(
        occurred_at=occurred,
        due_date=due,
        zone=occurred.tzinfo,  # type: ignore[arg-type]
        institution="MAIN",
        patron="P1",
        item="I1",
        terminal_password=terminal_password,
    )
    assert body[:4] == "11NY"
    transaction_date, nb_due_date = body[4:22], body[22:40]
    assert TRANS_DATE.match(transaction_date)
    assert TRANS_DATE.match(nb_due_date)
    assert nb_due_date.strip()  # never all spaces (pysip2 and others refuse that)
    # The wall-clock time where it happened, zone part four spaces (= local).
    assert transaction_date == (
        f"{occurred.year:04d}{occurred.month:02d}{occurred.day:02d}    "
        f"{occurred.hour:02d}{occurred.minute:02d}{occurred.second:02d}"
    )
    assert nb_due_date == f"{due.year:04d}{due.month:02d}{due.day:02d}    235959"
    request = decoded(sip2.frame(body, 0, "utf-8"))
    assert isinstance(request, CheckoutRequest)
    assert (request.transaction_date, request.nb_due_date) == (transaction_date, nb_due_date)
    assert request.terminal_password == terminal_password


def test_login_sc_status_and_patron_information_as_pysip2_reads_them() -> None:
    login = decoded(sip2.frame(sip2.login("kiosk1", "s3cret", "MAIN-SC01"), 0, "utf-8"))
    assert login == LoginRequest(
        uid_algorithm="0",
        pwd_algorithm="0",
        login_user_id="kiosk1",
        login_password="s3cret",
        location_code="MAIN-SC01",
    )
    for paper_out, code in ((False, "0"), (True, "1")):
        status = decoded(sip2.frame(sip2.sc_status(paper_out), 1, "utf-8"))
        assert status == SCStatusRequest(
            status_code=code, max_print_width="040", protocol_version="2.00"
        )
    info = decoded(
        sip2.frame(
            sip2.patron_information(
                now=datetime(2026, 11, 23, 11, 30, 0, tzinfo=TZ),
                zone=TZ,
                institution="MAIN",
                patron="21234000000018",
                terminal_password="tpw",
            ),
            2,
            "utf-8",
        )
    )
    assert isinstance(info, PatronInformationRequest)
    assert info.summary[2] == "Y"  # position 3: charged items
    assert info.summary.replace("Y", "", 1).strip() == ""  # and only those
    assert info.transaction_date == "20261123    113000"
    assert (info.institution_id, info.patron_identifier) == ("MAIN", "21234000000018")
    assert (info.terminal_password, info.start_item, info.end_item) == ("tpw", "1", "9999")


@pytest.mark.parametrize("bad", ["31234|0000016", "3123\r4", "3123\n4", "|"])
def test_a_value_holding_a_delimiter_or_line_break_is_refused(bad: str) -> None:
    good = {
        "occurred_at": datetime(2026, 11, 23, 10, 0, tzinfo=TZ),
        "due_date": date(2026, 12, 14),
        "zone": TZ,
        "institution": "MAIN",
        "patron": "P1",
        "item": "I1",
        "terminal_password": "",
    }
    for name in ("institution", "patron", "item", "terminal_password"):
        with pytest.raises(ValueError, match="cannot hold"):
            sip2.checkout(**{**good, name: bad})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot hold"):
        sip2.login("kiosk1", bad, "MAIN")
    with pytest.raises(ValueError, match="cannot hold"):
        sip2.patron_information(
            now=datetime(2026, 11, 23, 10, 0, tzinfo=TZ),
            zone=TZ,
            institution="MAIN",
            patron=bad,
            terminal_password="",
        )


# Text in another encoding than the configured one (issue 16) ------------------------------------


def latin1_checkout_answer() -> bytes:
    """A 12 from a server answering in ISO-8859-1: an accented title and screen message."""
    return wire(
        CheckoutResponse(
            ok="1",
            renewal_ok="N",
            magnetic_media="N",
            desensitize="Y",
            transaction_date="20261123    100500",
            institution_id="MAIN",
            patron_identifier="P1",
            item_identifier="I1",
            title_identifier="Cien años de soledad",
            due_date="20261214    235959",
            screen_message=("Prêt accordé",),
        ),
        4,
        "iso-8859-1",
    )


def test_an_answer_in_another_encoding_is_read_field_by_field() -> None:
    raw = latin1_checkout_answer()
    assert b"a\xf1os" in raw  # not UTF-8
    message = sip2.parse(raw, "utf-8")  # the checksum still adds up: it is over bytes
    answer = sip2.checkout_answer(message)
    assert (answer.ok, answer.due_date, message.first("AB"), message.sequence) == (
        True,
        "20261214    235959",
        "I1",
        4,
    )
    assert answer.title == "Cien a\ufffdos de soledad"
    assert answer.screen_message == "Pr\ufffdt accord\ufffd"
    assert message.undecodable == (b"Cien a\xf1os de soledad", b"Pr\xeat accord\xe9")
    # Read in the encoding it was written in, nothing is undecodable.
    right = sip2.parse(raw, "iso-8859-1")
    assert right.undecodable == ()
    assert sip2.checkout_answer(right).title == "Cien años de soledad"


@pytest.mark.parametrize(
    ("values", "configured", "advice"),
    [
        ((), "utf-8", ""),
        (
            (b"Cien a\xf1os", b"Jos\xe9"),
            "utf-8",
            'answers were not valid utf-8: set sip2.encoding = "iso-8859-1"',
        ),
        (  # curly quotes: printable in cp1252, control characters in ISO-8859-1
            (b"\x93Quoted\x94 title",),
            "utf-8",
            'answers were not valid utf-8: set sip2.encoding = "cp1252"',
        ),
        (
            ("Cien años".encode(),),
            "ascii",
            'answers were not valid ascii: set sip2.encoding = "utf-8"',
        ),
    ],
)
def test_the_advice_names_the_encoding_that_reads_the_answers(
    values: tuple[bytes, ...], configured: str, advice: str
) -> None:
    assert sip2.encoding_advice(values, configured) == advice


# SIP2 dates carry the offset in force at the moment they name (issue 16) -------------------------

EDT, EST = timezone(timedelta(hours=-4)), timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 10, 31, 16, 0, tzinfo=UTC), "20261031    120000"),  # EDT
        (datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "20261101    013000"),  # 01:30 EDT
        (datetime(2026, 11, 1, 6, 30, tzinfo=UTC), "20261101    013000"),  # 01:30 EST, again
        (datetime(2026, 11, 1, 7, 0, tzinfo=UTC), "20261101    020000"),  # EST
        # 20:15 EST, however the moment arrives: in UTC, or with the summer's offset (as a
        # checkout recorded in October carries it).
        (datetime(2026, 11, 3, 1, 15, tzinfo=UTC), "20261102    201500"),
        (datetime(2026, 11, 2, 21, 15, tzinfo=EDT), "20261102    201500"),
        (datetime(2026, 11, 2, 20, 15, tzinfo=EST), "20261102    201500"),
        (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), "20260308    030000"),  # spring: EDT
    ],
)
def test_a_sip2_date_is_local_time_with_the_offset_of_its_own_moment(
    moment: datetime, expected: str
) -> None:
    assert sip2.sip_datetime(moment, TZ) == expected
    info = sip2.patron_information(
        now=moment, zone=TZ, institution="MAIN", patron="P1", terminal_password=""
    )
    assert info[5:23] == expected
    body = sip2.checkout(
        occurred_at=moment,
        due_date=date(2026, 11, 1),
        zone=TZ,
        institution="MAIN",
        patron="P1",
        item="I1",
        terminal_password="",
    )
    # The nb due date is a calendar day: its end, whatever the offset that day.
    assert (body[4:22], body[22:40]) == (expected, "20261101    235959")


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        sip2.sip_datetime(datetime(2026, 11, 2, 20, 15), TZ)


# Due dates as servers write them (issue 16) ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("20261220    235959", {date(2026, 12, 20)}),
        ("20261221   Z035959", {date(2026, 12, 20)}),  # UTC: 22:59 the day before in New York
        ("20261220   Z120000", {date(2026, 12, 20)}),
        ("2026-12-20", {date(2026, 12, 20)}),
        ("2026-12-20 23:59", {date(2026, 12, 20)}),
        ("2026-12-21T03:59:00+00:00", {date(2026, 12, 20)}),
        ("20261220", {date(2026, 12, 20)}),
        ("12/20/2026", {date(2026, 12, 20)}),
        ("20.12.2026", {date(2026, 12, 20)}),
        ("03/04/2026 23:59", {date(2026, 3, 4), date(2026, 4, 3)}),  # which order: not said
        ("12/20/26", {date(2026, 12, 20)}),
        ("", set()),
        ("  ", set()),
        ("soon", set()),
        ("20261340    000000", set()),
        ("2026-13-40", set()),
        ("40/40/2026", set()),
    ],
)
def test_due_dates_are_read_tolerantly(text: str, dates: set[date]) -> None:
    assert sip2.due_dates(text, TZ) == dates
