"""One SIP2 connection: TCP (or TLS with certificate checks), one message at a time, with
the protocol's own error recovery: a `96` from the ILS makes us send again, an answer with a
bad checksum makes us ask for it again (`97`), and anything that does not answer in time is
a lost connection (the caller reconnects and resumes)."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import KioskError
from kiosk.upload import sip2

log = logging.getLogger(__name__)

MAX_ANSWER = 64 * 1024


class ConnectionLost(KioskError):
    """The ILS stopped answering (refused, timed out, closed): reconnect and resume."""

    exit_code = 69


class ProtocolFailure(KioskError):
    """The ILS answered, but never with a usable message after the allowed retries."""

    exit_code = 69


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool = False
    ca_file: Path | None = None  # None with tls: the system's trusted authorities
    timeout: float = 10.0
    retries: int = 3  # resends after a 96 or a bad checksum, per message
    encoding: str = "utf-8"
    error_detection: bool = True  # AY/AZ on every message

    def describe(self) -> str:
        return f"{'sip2+tls' if self.tls else 'sip2'}://{self.host}:{self.port}"


Connector = Callable[[Endpoint], socket.socket]


def connect(endpoint: Endpoint) -> socket.socket:
    try:
        raw = socket.create_connection((endpoint.host, endpoint.port), timeout=endpoint.timeout)
    except OSError as exc:
        raise ConnectionLost(
            f"{endpoint.describe()} does not answer: {exc.strerror or exc}"
        ) from exc
    if not endpoint.tls:
        return raw
    context = ssl.create_default_context(cafile=str(endpoint.ca_file) if endpoint.ca_file else None)
    try:
        return context.wrap_socket(raw, server_hostname=endpoint.host)
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
        raise ConnectionLost(f"{endpoint.describe()}: TLS failed: {reason}") from exc


class Sip2Connection:
    def __init__(self, endpoint: Endpoint, connector: Connector = connect) -> None:
        self.endpoint = endpoint
        self._sock: socket.socket | None = connector(endpoint)
        self._sock.settimeout(endpoint.timeout)
        self._buffer = b""
        self._sequence = 0
        self.undecodable: list[bytes] = []  # answer values not valid in endpoint.encoding

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def exchange(self, body: str) -> sip2.Message:
        """Send one message, return its answer, recovering as SIP2 prescribes."""
        e = self.endpoint
        sequence = self._sequence if e.error_detection else None
        self._sequence = (self._sequence + 1) % 10
        message = sip2.frame(body, sequence, e.encoding)
        self._send(message)
        for _attempt in range(e.retries + 1):
            raw = self._receive()
            try:
                answer = sip2.parse(raw, e.encoding)
            except sip2.ChecksumMismatch:
                log.warning("SIP2 answer with a bad checksum: asking for it again")
                self._send(sip2.frame(sip2.RESEND, None, e.encoding))
                continue
            except sip2.Sip2FormatError as exc:
                raise ProtocolFailure(f"the ILS sent something unreadable: {exc}") from exc
            if answer.code == "96":
                log.warning("the ILS asked for message %s again", body[:2])
                self._send(message)
                continue
            if sequence is not None and answer.sequence not in (None, sequence):
                log.warning("SIP2 answer for another sequence number: ignored")
                continue
            if answer.undecodable:
                log.warning(
                    "a %s answer held text that is not %s: read with replacement characters",
                    answer.code,
                    e.encoding,
                )
                self.undecodable.extend(answer.undecodable)
            return answer
        raise ProtocolFailure(f"no usable answer to a {body[:2]} message after {e.retries} retries")

    def _send(self, data: bytes) -> None:
        if self._sock is None:
            raise ConnectionLost("the connection is closed")
        try:
            self._sock.sendall(data)
        except OSError as exc:
            self.close()
            raise ConnectionLost(f"sending to the ILS failed: {exc.strerror or exc}") from exc

    def _receive(self) -> bytes:
        """One answer, up to its carriage return (a stray line feed before it is dropped)."""
        while b"\r" not in self._buffer:
            if self._sock is None:
                raise ConnectionLost("the connection is closed")
            try:
                chunk = self._sock.recv(4096)
            except TimeoutError as exc:
                self.close()
                raise ConnectionLost(
                    f"the ILS did not answer within {self.endpoint.timeout:g} s"
                ) from exc
            except OSError as exc:
                self.close()
                raise ConnectionLost(f"reading from the ILS failed: {exc.strerror or exc}") from exc
            if not chunk:
                self.close()
                raise ConnectionLost("the ILS closed the connection")
            self._buffer += chunk
            if len(self._buffer) > MAX_ANSWER:
                self.close()
                raise ProtocolFailure("the ILS sent an answer far too long for SIP2")
        answer, _, self._buffer = self._buffer.partition(b"\r")
        return answer.lstrip(b"\n")
