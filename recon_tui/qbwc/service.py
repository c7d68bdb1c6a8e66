"""The QBWebConnectorSvc methods: what recon-tui answers the Web Connector.

One Web Connector session (``authenticate`` ... ``closeConnection``) runs one
full sync: ``authenticate`` checks the user name and password and starts the
sync in a thread of its own, whose ledger steps reach QuickBooks through the
session's :class:`~recon_tui.qbwc.channel.WebConnectorChannel`. The answers
follow Intuit's QBWC Programmer's Guide 2.0 (the "QBWC web service methods"
chapter), as public servers implement it (``qbwc/qbwc``
``lib/qbwc/controller.rb``, ``johnballantyne/qbws`` ``lib/qbws.js``):

* ``authenticate`` returns ``[ticket, X]``: X ``""`` uses the company file open
  in QuickBooks, a path names one, ``"nvu"`` is "not a valid user", ``"none"``
  "no work to do" (our answer while another session's sync runs);
* ``sendRequestXML`` returns the next qbXML request; ``""`` makes QBWC call
  ``getLastError``, where ``"NoOp"`` asks it to pause (about 5 seconds) and call
  ``sendRequestXML`` again (QBWC 2.0's asynchronous mode; the search corpora
  did not hold that page of the guide, but servers rely on it, e.g.
  johnballantyne/qbws issue #3 "SendRequestXML failed without any jobs"): our
  answer while the sync has no request ready yet, anything else is shown as the
  error that ends the session;
* ``receiveResponseXML`` returns the percent done: under 100 QBWC asks for the
  next request, 100 ends the session with ``closeConnection``, a negative
  number is an error QBWC fetches with ``getLastError``;
* ``connectionError`` (QBWC could not open the company file) returns ``"done"``:
  no other file to try;
* an HRESULT (in ``receiveResponseXML`` or ``connectionError``) ends the
  session's sync with the Desktop connector's one-line error and its fix
  (``recon_tui.connectors.qbd_errors.hresult_error``);
* ``closeConnection`` returns a line QBWC shows as the session's status.

Secrets: the password is compared in constant time (``hmac.compare_digest``)
and never logged, echoed or kept; a refusal never says which half was wrong.
"""

from __future__ import annotations

import hmac
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from recon_tui import __version__
from recon_tui.connectors.qbd_errors import hresult_error
from recon_tui.qbwc.channel import SYSTEM, SessionEnded, WebConnectorChannel

__all__ = ["NO_OP", "QbwcService", "SessionOutcome", "SessionRun", "SyncStarter"]

log = logging.getLogger(__name__)

NOT_VALID_USER = "nvu"
NO_WORK = "none"
NO_OP = "NoOp"


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    """How a session's sync ended: a line for the Web Connector and the log."""

    succeeded: bool
    line: str


@dataclass
class SessionRun:
    """What the sync thread of one session is given."""

    ticket: str
    channel: WebConnectorChannel
    cancel: threading.Event = field(default_factory=threading.Event)
    #: 0..1, set by the sync's progress reports (the percent done QBWC shows).
    done_fraction: float = 0.0
    #: Every step is read and the sync is writing the cache: no request will come.
    applying: bool = False

    @property
    def short_ticket(self) -> str:
        return self.ticket[:8]


#: Runs one full sync over a session's channel (recon_tui.qbwc.runner).
SyncStarter = Callable[[SessionRun], SessionOutcome]


@dataclass
class _Session:
    run: SessionRun
    thread: threading.Thread | None = None
    outcome: SessionOutcome | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    last_error: str = ""
    #: QBWC has ended it (closeConnection, connectionError); kept until its sync
    #: has wound down, so no new sync starts beside it.
    closed: bool = False


class QbwcService:
    """The Web Connector's methods over per-ticket sessions (thread-safe)."""

    def __init__(self, *, username: str, password: str, start_sync: SyncStarter,
                 company_file: str = "", poll_wait: float = 10.0,
                 response_timeout: float = 600.0,
                 on_outcome: Callable[[SessionRun, SessionOutcome], None] | None = None,
                 on_refused: Callable[[str], None] | None = None) -> None:
        self._username = username.encode()
        self._password = password.encode()
        self._start_sync = start_sync
        self.company_file = company_file
        #: How long one SOAP call waits for the sync's next move before answering.
        self.poll_wait = poll_wait
        self.response_timeout = response_timeout
        #: How long the last receiveResponseXML waits for the sync's write to finish:
        #: under .NET's default 100 s HTTP timeout (QBWC is a .NET client; its own
        #: limit the references do not give, so the conservative reading).
        self.apply_wait = min(60.0, max(poll_wait, response_timeout))
        self._on_outcome = on_outcome
        self._on_refused = on_refused or (lambda _line: None)
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    # -- the versions
    def server_version(self) -> str:
        return f"recon-tui {__version__}"

    def client_version(self, version: str) -> str:
        """"" lets any Web Connector version go ahead (the guide's "W:", "E:", "O:"
        answers would warn or refuse)."""
        return ""

    # -- the session
    def authenticate(self, username: str, password: str) -> list[str]:
        """[ticket, "" or the company file], or [ticket, "nvu"] / [ticket, "none"]."""
        ticket = str(uuid.uuid4())
        user_ok = hmac.compare_digest(username.encode(), self._username)
        password_ok = hmac.compare_digest(password.encode(), self._password)
        if not (user_ok and password_ok):
            log.warning("Web Connector sign-in refused: wrong user name or password")
            self._on_refused("sign-in refused: wrong user name or password (the Web "
                             "Connector's password must be [ledger] qbwc_password)")
            return [ticket, NOT_VALID_USER]
        self._supersede()
        with self._lock:
            # A session QBWC never closed (it went away) is forgotten once its sync ended.
            self._sessions = {t: s for t, s in self._sessions.items()
                              if not s.finished.is_set()}
            if self._sessions:
                log.info("Web Connector session refused: a sync is still running")
                self._on_refused("no work for this poll: the last session's sync still runs")
                return [ticket, NO_WORK]
            run = SessionRun(ticket, WebConnectorChannel(
                response_timeout=self.response_timeout))
            session = _Session(run)
            session.thread = threading.Thread(target=self._run, args=(session,),
                                              name=f"qbwc-sync-{run.short_ticket}")
            self._sessions[ticket] = session
        session.thread.start()
        return [ticket, self.company_file]

    def _supersede(self) -> None:
        """QBWC runs one session of an application at a time, so a new sign-in means
        a session still open was abandoned (QBWC restarted, the network dropped):
        its sync is stopped, unwritten, instead of waiting out its timeout."""
        with self._lock:
            running = [s for s in self._sessions.values() if not s.finished.is_set()]
        for old in running:
            old.run.cancel.set()
            old.run.channel.end(SessionEnded(
                SYSTEM, "a new Web Connector session started before this one finished"))
            old.finished.wait(self.poll_wait)

    def _run(self, session: _Session) -> None:
        try:
            outcome = self._start_sync(session.run)
        except Exception as exc:  # a bug of ours: the session must still end
            log.exception("Web Connector session %s: the sync failed", session.run.short_ticket)
            outcome = SessionOutcome(False, f"internal error ({type(exc).__name__})")
        session.outcome = outcome
        session.run.channel.end(SessionEnded(SYSTEM, "the sync has ended"))
        session.finished.set()
        if self._on_outcome is not None:
            try:
                self._on_outcome(session.run, outcome)
            except OSError:  # the terminal went away; the history has the run
                log.warning("Web Connector session %s: could not report %s",
                            session.run.short_ticket, outcome.line)

    def _session(self, ticket: str) -> _Session | None:
        with self._lock:
            session = self._sessions.get(ticket)
            return None if session is None or session.closed else session

    def _close(self, ticket: str) -> _Session | None:
        """QBWC ends the session: its ticket is no longer answered."""
        with self._lock:
            session = self._sessions.get(ticket)
            if session is None or session.closed:
                return None
            session.closed = True
            return session

    def _wait_for_move(self, session: _Session) -> str | None:
        """The next request, or None once the sync has ended (its outcome then
        known) or nothing came in ``poll_wait`` seconds."""
        channel = session.run.channel
        channel.wait_for_move(self.poll_wait)
        request = channel.next_request(0)
        if request is None and channel.ended is not None:
            session.finished.wait(self.poll_wait)  # the sync winds down; its outcome follows
        return request

    def send_request_xml(self, ticket: str) -> str:
        """The next qbXML request; "" with getLastError's "NoOp" (not yet) or the
        sync's outcome (finished)."""
        session = self._session(ticket)
        if session is None:
            return ""
        request = self._wait_for_move(session)
        if request is not None:
            return request
        session.last_error = (session.outcome.line if session.outcome is not None
                              else NO_OP)
        return ""

    def receive_response_xml(self, ticket: str, response: str, hresult: str,
                             message: str) -> int:
        """Hand QuickBooks' response to the waiting exchange; the percent done."""
        session = self._session(ticket)
        if session is None:
            return -1
        channel = session.run.channel
        if hresult.strip() or message.strip():
            return self._failed_request(session, hresult.strip(), message.strip())
        if not channel.deliver(response):
            session.last_error = "receiveResponseXML without a request in flight"
            return -1
        channel.wait_for_move(self.poll_wait)
        if not channel.has_request() and channel.ended is None and session.run.applying:
            # The last answer is in and the sync writes the cache: wait for it, so QBWC
            # hears 100 (a "" from sendRequestXML would show the outcome as an error).
            channel.wait_for_move(self.apply_wait)
        if channel.has_request() or channel.ended is None or not session.finished.wait(
                self.poll_wait):
            return max(1, min(99, int(session.run.done_fraction * 100)))
        assert session.outcome is not None
        if session.outcome.succeeded:
            return 100
        session.last_error = session.outcome.line
        return -1

    def _failed_request(self, session: _Session, hresult: str, message: str) -> int:
        """QuickBooks answered an HRESULT instead of a response: the session is over
        (the sync fails, writing nothing); -1 sends QBWC to getLastError."""
        error = hresult_error(hresult, message,
                              step=session.run.channel.in_flight_step or "a request")
        session.run.channel.fail(error)
        session.run.channel.end(error)
        session.finished.wait(self.poll_wait)
        session.last_error = session.outcome.line if session.outcome else str(error)
        return -1

    def connection_error(self, ticket: str, hresult: str, message: str) -> str:
        """QBWC could not reach the company file: the session's sync fails."""
        session = self._close(ticket)  # QBWC ends the session here
        if session is not None:
            session.run.channel.end(hresult_error(hresult, message,
                                                  step="opening the company file"))
        return "done"

    def get_last_error(self, ticket: str) -> str:
        session = self._session(ticket)
        if session is None:
            return "unknown or expired Web Connector session"
        return session.last_error

    def close_connection(self, ticket: str) -> str:
        """The session is over; a sync still running is stopped (nothing written)."""
        session = self._close(ticket)
        if session is None:
            return "unknown or expired Web Connector session"
        if not session.finished.is_set():
            session.run.cancel.set()
            session.run.channel.end(SessionEnded(
                SYSTEM, "the Web Connector closed the session before the sync finished"))
            session.finished.wait(self.poll_wait)
        return session.outcome.line if session.outcome else "sync stopped; nothing written"

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every session (the server is going away): their syncs end unwritten."""
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.run.cancel.set()
            session.run.channel.end(SessionEnded(SYSTEM, "recon-tui qbwc serve is stopping"))
        for session in sessions:
            if session.thread is not None:
                session.thread.join(timeout)
