"""A small library system for the upload tests: a real SIP2 server (pysip2, an implementation
independent of ours) on 127.0.0.1 with its own patrons, items and loans, run on a thread; and a
TCP proxy in front of it that injects faults on the wire (drop the connection after N answers,
corrupt an answer's checksum, answer 96 once, swallow an answer)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    lock: threading.Lock = field(default_factory=threading.Lock)


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
            message = ""
            ok = True
            if patron not in library.patrons:
                ok, message = False, "Patron not found"
            elif item not in library.items:
                ok, message = False, "Item not found"
            elif item in library.refuse:
                ok, message = False, library.refuse[item]
            elif item in library.loans:
                ok, message = False, "Item already checked out"
            if ok:
                library.loans[item] = patron
        return CheckoutResponse(
            ok="1" if ok else "0",
            renewal_ok="N",
            magnetic_media="N",
            desensitize="Y" if ok else "N",
            transaction_date=ctx.now_18(),
            institution_id=req.institution_id,
            patron_identifier=patron,
            item_identifier=item,
            title_identifier=library.titles.get(item, f"Title of {item}"),
            due_date=library.due.get(item, req.nb_due_date) if ok else "",
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
