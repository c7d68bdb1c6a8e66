"""The qbXML channel of one Web Connector session: a sync thread's
``exchange(request)`` becomes the next ``sendRequestXML`` answer, and returns
when ``receiveResponseXML`` brings QuickBooks' response.

QBWC drives the conversation: it asks for a request (``sendRequestXML``),
carries it to QuickBooks, hands the response back (``receiveResponseXML``) and
asks again while the percent done we answer is under 100 (Intuit, QBWC
Programmer's Guide 2.0, "sendRequestXML" and "receiveResponseXML"). The sync,
on the other hand, pulls: the connector calls ``exchange`` and wants the answer.
Two queues meet them, one each way; a session that ends (closeConnection,
connectionError, a Ctrl+C) or a Web Connector that stops calling ends every
``exchange`` waiting or to come with a :class:`SessionEnded`, so the sync fails
and, being one transaction, writes nothing.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from recon_tui.connectors.base import ConnectorError

__all__ = ["SYSTEM", "SessionEnded", "WebConnectorChannel", "WebConnectorTimeout"]

SYSTEM = "QuickBooks Desktop"


class SessionEnded(ConnectorError):
    """The Web Connector session ended before QuickBooks answered."""


class WebConnectorTimeout(SessionEnded):
    """The Web Connector stopped calling: no answer within the timeout."""


@dataclass(frozen=True, slots=True)
class _Request:
    xml: str
    step: str


class WebConnectorChannel:
    """A :class:`~recon_tui.connectors.qbd_channel.QbxmlChannel` whose far end is
    the SOAP service. Thread-safe: the sync's step threads call ``exchange``
    (one at a time: Desktop's connector has ``max_concurrency = 1``, and a lock
    holds any other caller back), the service's request threads the rest."""

    def __init__(self, *, response_timeout: float = 600.0) -> None:
        #: How long an exchange waits for QuickBooks' answer (a big page of a
        #: big company file takes QuickBooks a while; QBWC calls back at once).
        self.response_timeout = response_timeout
        self._requests: queue.Queue[_Request] = queue.Queue()
        self._responses: queue.Queue[str | ConnectorError] = queue.Queue()
        self._one_at_a_time = threading.Lock()
        self._lock = threading.Lock()
        #: Notified when a request is queued or the session ends.
        self._moved = threading.Condition()
        self._ended: ConnectorError | None = None
        self._in_flight: _Request | None = None
        #: Requests QuickBooks has answered: the session's own progress count.
        self.exchanges = 0

    # -- the sync's side
    def exchange(self, request: str, *, step: str) -> str:
        """Hand ``request`` to the next sendRequestXML and wait for its response."""
        with self._one_at_a_time:
            self._raise_if_ended()
            self._requests.put(_Request(request, step))
            self._notify()
            deadline = time.monotonic() + self.response_timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.end(WebConnectorTimeout(
                        SYSTEM, f"no answer from the Web Connector to the {step} request "
                        f"in {self.response_timeout:g}s (is it still running beside "
                        "QuickBooks?)"))
                    self._raise_if_ended()
                try:
                    answer = self._responses.get(timeout=min(left, 0.5))
                except queue.Empty:
                    self._raise_if_ended()
                    continue
                if isinstance(answer, ConnectorError):
                    raise answer
                return answer

    # -- the service's side
    def next_request(self, wait: float) -> str | None:
        """The request to send now, or None when none came within ``wait`` seconds
        (or the session has ended)."""
        if self.ended is not None:
            return None
        try:
            request = self._requests.get(timeout=max(wait, 0.0))
        except queue.Empty:
            return None
        with self._lock:
            self._in_flight = request
        return request.xml

    def deliver(self, response: str) -> bool:
        """QuickBooks' response to the request in flight; False (and dropped) when
        none is: a response to no request must never answer the next one."""
        with self._lock:
            if self._in_flight is None:
                return False
            self._in_flight = None
            self.exchanges += 1
        self._responses.put(response)
        return True

    def fail(self, error: ConnectorError) -> None:
        """QuickBooks could not answer the request in flight (an HRESULT)."""
        with self._lock:
            self._in_flight = None
        self._responses.put(error)

    @property
    def in_flight_step(self) -> str | None:
        """The step whose request QBWC is carrying now, if any."""
        with self._lock:
            return self._in_flight.step if self._in_flight else None

    def has_request(self) -> bool:
        """A request waits for the next sendRequestXML."""
        return not self._requests.empty()

    def wait_for_move(self, timeout: float) -> bool:
        """Wait until a request is queued or the session ends (True), at most
        ``timeout`` seconds (False)."""
        with self._moved:
            return self._moved.wait_for(lambda: self.has_request() or self.ended is not None,
                                        timeout)

    def _notify(self) -> None:
        with self._moved:
            self._moved.notify_all()

    def end(self, error: ConnectorError) -> None:
        """The session is over: every exchange waiting or to come raises ``error``
        (the first reason given wins)."""
        with self._lock:
            if self._ended is None:
                self._ended = error
        self._responses.put(self._ended)
        self._notify()

    @property
    def ended(self) -> ConnectorError | None:
        with self._lock:
            return self._ended

    def _raise_if_ended(self) -> None:
        error = self.ended
        if error is not None:
            raise error
