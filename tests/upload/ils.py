"""A small library system for the upload tests: a real SIP2 server (pysip2, an implementation
independent of ours) on 127.0.0.1 with its own patrons, items and loans, run on a thread; and a
TCP proxy in front of it that injects faults on the wire (drop the connection after N answers,
corrupt an answer's checksum, answer 96 once, swallow an answer).

A `personality` makes the server do with a replayed checkout (no block = Y) what one library
system does, as FORMATS.md section 4 reads it from their code: see PERSONALITIES."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from pathlib import Path

import anyio
import msgspec
from anyio.streams.tls import TLSListener
from pysip2 import (
    CHECKOUT,
    LOGIN,
    PATRON_INFORMATION,
    SC_STATUS,
    ACSStatusResponse,
    CheckoutRequest,
    CheckoutResponse,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    RequestContext,
    SCStatusRequest,
    SIP2Server,
)


@dataclass(frozen=True)
class Personality:
    """What a library system does with a checkout replayed by SIP2 (no block = Y)."""

    honours_no_block: bool  # a replayed checkout skips the patron's blocks
    keeps_transaction_date: bool  # the loan dated at the transaction date, else at upload
    keeps_nb_due_date: bool  # the due date is the nb due date, else its own from upload
    refuses_debarred: bool  # a patron debarred since is refused even with no block honoured
    on_loan_elsewhere: str  # its words for an item on loan to another patron


ON_LOAN = "Item already checked out"
DEBARRED = "Patron debarred"
PERSONALITIES = {
    # The classic SIPServer reads the flag in a way that never equals Y: an ordinary checkout.
    "evergreen": Personality(False, False, False, True, ON_LOAN),
    # A no-block path down to ProcessOfflineIssue, dated at upload; its due date handling of
    # nb due date varies by version (bug 32934): this one computes its own.
    "koha": Personality(True, False, False, True, "Item checked out to another patron"),
    # edge-sip2 passes item, user and service point only.
    "folio": Personality(False, False, False, True, ON_LOAN),
    # What the SIP2 specification asks for.
    "generic": Personality(True, True, True, False, ON_LOAN),
}


@dataclass(frozen=True)
class Loan:
    """A loan as the library system made it."""

    patron: str
    item: str
    lent_at: datetime  # the moment the ILS dates it
    due: datetime | None  # the ILS's due date (None: an nb due date it could not read)


def read_sip_date(text: str, zone: tzinfo) -> datetime | None:
    """An 18-character SIP2 date as a server in `zone` reads it: four spaces = its own local
    time (a repeated autumn hour read as its first pass), `   Z` = UTC."""
    try:
        wall = datetime.strptime(text[:8] + text[12:], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return wall.replace(tzinfo=UTC if text[8:12] == "   Z" else zone)


def write_sip_date(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return local.strftime("%Y%m%d") + "    " + local.strftime("%H%M%S")


@dataclass
class Library:
    """The ILS's own records, and what it was asked."""

    patrons: set[str]
    items: set[str]
    user: str = "kiosk1"
    password: str = "secret"
    loans: dict[str, str] = field(default_factory=dict)  # item -> patron
    refuse: dict[str, str] = field(default_factory=dict)  # item -> screen message
    checkouts_seen: list[CheckoutRequest] = field(default_factory=list)
    logins: int = 0
    online: bool = True  # False: the ACS status (98) says on-line N
    encoding: str = "utf-8"  # what the server reads and answers in
    titles: dict[str, str] = field(default_factory=dict)  # item -> title (AJ)
    personal_name: str = "A Patron"  # AE of the patron information answer
    due: dict[str, str] = field(default_factory=dict)  # item -> AH answered, not nb due date
    lists_charged_items: bool = True  # False: 64 answers carry no AU (a server setting)
    charged_items_listed: int | None = None  # list at most this many AU (the count is all)
    personality: str = "generic"  # a key of PERSONALITIES
    zone: tzinfo | None = None  # the server's own zone (None: the machine's)
    clock: Callable[[], datetime] | None = None  # the server's clock (None: the machine's)
    loan_days: int = 21  # the loan period of a due date it computes itself
    blocked: dict[str, str] = field(default_factory=dict)  # patron -> block (fines, expiry)
    debarred: set[str] = field(default_factory=set)  # patrons debarred since
    loans_made: list[Loan] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def server_zone(self) -> tzinfo:
        return self.zone or datetime.now().astimezone().tzinfo or UTC

    def now(self) -> datetime:
        return self.clock() if self.clock else datetime.now(self.server_zone)

    def refusal(self, req: CheckoutRequest) -> str:
        """Why this checkout is refused ("" if it is not)."""
        habits = PERSONALITIES[self.personality]
        patron, item = req.patron_identifier, req.item_identifier
        unblocked = req.no_block == "Y" and habits.honours_no_block
        holder = self.loans.get(item)
        if patron not in self.patrons:
            return "Patron not found"
        if item not in self.items:
            return "Item not found"
        if item in self.refuse:
            return self.refuse[item]
        if patron in self.debarred and (habits.refuses_debarred or not unblocked):
            return DEBARRED
        if patron in self.blocked and not unblocked:
            return self.blocked[patron]
        if holder is not None:
            return ON_LOAN if holder == patron else habits.on_loan_elsewhere
        return ""

    def lend(self, req: CheckoutRequest, now: datetime) -> str:
        """Make the loan; the due date answered (AH)."""
        habits = PERSONALITIES[self.personality]
        zone = self.server_zone
        replayed = req.no_block == "Y" and habits.honours_no_block
        lent_at = now
        if replayed and habits.keeps_transaction_date:
            lent_at = read_sip_date(req.transaction_date, zone) or now
        if replayed and habits.keeps_nb_due_date:
            answered, due = req.nb_due_date, read_sip_date(req.nb_due_date, zone)
        else:
            day = now.astimezone(zone).date() + timedelta(days=self.loan_days)
            due = datetime.combine(day, time(23, 59, 59), tzinfo=zone)
            answered = write_sip_date(due, zone)
        item = req.item_identifier
        self.loans[item] = req.patron_identifier
        self.loans_made.append(Loan(req.patron_identifier, item, lent_at, due))
        return self.due.get(item, answered)


def build_server(library: Library) -> SIP2Server:
    app = SIP2Server(institution_id="MAIN", library_name="Test ILS", encoding=library.encoding)

    @app.route(LOGIN)
    def login(req: LoginRequest, ctx: RequestContext) -> LoginResponse:  # type: ignore[type-arg]
        library.logins += 1
        ok = req.login_user_id == library.user and req.login_password == library.password
        return LoginResponse(ok="1" if ok else "0")

    @app.route(SC_STATUS)
    def sc_status(req: SCStatusRequest, ctx: RequestContext) -> ACSStatusResponse:  # type: ignore[type-arg]
        # pysip2 decides on-line by protocol version only; a library system down for
        # maintenance answers on-line N with everything else as usual.
        status = ctx.server.build_acs_status(req)
        if library.online:
            return status
        return msgspec.structs.replace(
            status, online_status="N", screen_message=("Down for maintenance",)
        )

    @app.route(CHECKOUT)
    def checkout(req: CheckoutRequest, ctx: RequestContext) -> CheckoutResponse:  # type: ignore[type-arg]
        with library.lock:
            library.checkouts_seen.append(req)
            patron, item = req.patron_identifier, req.item_identifier
            now = library.now()
            message = library.refusal(req)
            ok = not message
            due = library.lend(req, now) if ok else ""
        return CheckoutResponse(
            ok="1" if ok else "0",
            renewal_ok="N",
            magnetic_media="N",
            desensitize="Y" if ok else "N",
            transaction_date=write_sip_date(now, library.server_zone),
            institution_id=req.institution_id,
            patron_identifier=patron,
            item_identifier=item,
            title_identifier=library.titles.get(item, f"Title of {item}"),
            due_date=due,
            screen_message=(message,) if message else (),
        )

    @app.route(PATRON_INFORMATION)
    def patron_information(
        req: PatronInformationRequest,
        ctx: RequestContext,  # type: ignore[type-arg]
    ) -> PatronInformationResponse:
        with library.lock:
            charged = tuple(i for i, p in library.loans.items() if p == req.patron_identifier)
        return PatronInformationResponse(
            patron_status=" " * 14,
            language="001",
            transaction_date=ctx.now_18(),
            hold_items_count="0000",
            overdue_items_count="0000",
            charged_items_count=f"{len(charged):04d}",
            fine_items_count="0000",
            recall_items_count="0000",
            unavailable_holds_count="0000",
            institution_id=req.institution_id,
            patron_identifier=req.patron_identifier,
            personal_name=library.personal_name,
            valid_patron="Y" if req.patron_identifier in library.patrons else "N",
            charged_items=(
                charged[: library.charged_items_listed] if library.lists_charged_items else ()
            ),
        )

    return app


class Running:
    """A server (or proxy) on its own thread; `port` once started."""

    def __init__(self) -> None:
        self.port = 0
        self._ready = threading.Event()
        self._stop: anyio.Event | None = None
        self._token: object | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None


@contextmanager
def ils(library: Library, *, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """Serve `library` on 127.0.0.1 (TLS with `tls`); yield the port."""
    server = build_server(library)
    ready = threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        stop = anyio.Event()
        box["stop"] = stop
        box["token"] = anyio.lowlevel.current_token()
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        box["port"] = listener.extra(anyio.abc.SocketAttribute.local_port)
        serving = TLSListener(listener, tls, standard_compatible=False) if tls else listener
        async with anyio.create_task_group() as tg:
            tg.start_soon(serving.serve, server._handle_connection)
            ready.set()
            await stop.wait()
            tg.cancel_scope.cancel()

    def run() -> None:
        try:
            anyio.run(main)
        except BaseException as exc:  # reported through `ready`
            box["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10), "the test ILS did not start"
    if "error" in box:
        raise RuntimeError(f"the test ILS did not start: {box['error']}")
    try:
        yield int(box["port"])  # type: ignore[call-overload]
    finally:
        anyio.from_thread.run_sync(box["stop"].set, token=box["token"])  # type: ignore[attr-defined]
        thread.join(10)


@dataclass
class Faults:
    """What the proxy does to the conversation (answers are counted from 1)."""

    drop_after_answers: int | None = None  # close both sides after this many answers
    drop_times: int = 1  # how many connections get dropped that way
    corrupt_answer: int | None = None  # flip a checksum digit of this answer (once)
    resend_request: int | None = None  # answer this request with 96 instead of passing it
    swallow_answer: int | None = None  # never deliver this answer (the client times out)
    answers: int = 0
    requests: int = 0
    drops: int = 0
    log: list[bytes] = field(default_factory=list)  # every client message, as sent


@contextmanager
def proxy(target_port: int, faults: Faults) -> Iterator[int]:
    """A line-level TCP proxy to 127.0.0.1:target_port that applies `faults`."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def pump(client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", target_port))
        buffer_in = b""
        buffer_out = b""
        try:
            while not stop.is_set():
                chunk = client.recv(4096)
                if not chunk:
                    return
                buffer_in += chunk
                while b"\r" in buffer_in:
                    message, _, buffer_in = buffer_in.partition(b"\r")
                    faults.requests += 1
                    faults.log.append(message)
                    if faults.resend_request == faults.requests:
                        client.sendall(b"96AZFEF6\r")
                        continue
                    upstream.sendall(message + b"\r")
                    while b"\r" not in buffer_out:
                        more = upstream.recv(4096)
                        if not more:
                            return
                        buffer_out += more
                    answer, _, buffer_out = buffer_out.partition(b"\r")
                    faults.answers += 1
                    if faults.swallow_answer == faults.answers:
                        continue
                    if faults.corrupt_answer == faults.answers:
                        last = answer[-1:]
                        answer = answer[:-1] + (b"0" if last != b"0" else b"1")
                    client.sendall(answer + b"\r")
                    if (
                        faults.drop_after_answers is not None
                        and faults.answers >= faults.drop_after_answers
                        and faults.drops < faults.drop_times
                    ):
                        faults.drops += 1
                        faults.answers = 0
                        return
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=pump, args=(client,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def tls_files(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A CA and a certificate for 127.0.0.1/localhost (trustme): the server's TLS context
    and the CA file the kiosk is told to trust."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file
