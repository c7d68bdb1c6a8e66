"""Secrets never leave the process in a message: the known-secret scrubber.

Every secret value this process learns (a config ``Secret`` when it is revealed,
a refresh or access token loaded from the token store or received from the
token endpoint) is registered here, and :func:`scrub` masks each of them, with
its URL-encoded forms and the base64 text it becomes inside a Basic
``Authorization`` header, plus generic credential shapes (``refresh_token=...``,
``"access_token": "..."``, ``Authorization: ...``, ``Bearer ...``) whose value
we may never have seen.

It is applied where text leaves for good: every ConnectorError message at
birth, the sync history's error texts before they are stored, and log records
(:func:`install_log_scrubber`). A server that echoes our request back therefore
cannot put a token in a message, a log line or the cache.

No Textual, no recon_tui imports: the config, the connectors and the cache all
use it.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

__all__ = [
    "MASK",
    "ScrubFilter",
    "forget_all",
    "install_log_scrubber",
    "register",
    "register_basic",
    "scrub",
    "uninstall_log_scrubber",
]

MASK = "********"

#: Shorter values are not masked one by one (a 3-letter secret would mask every
#: word holding those letters); the generic patterns still catch them in context.
MIN_SECRET_LENGTH = 6
#: Base64 fragments shorter than this match too much by chance.
MIN_FRAGMENT_LENGTH = 8

_lock = threading.Lock()
_known: set[str] = set()
_fragments: set[str] = set()
_pattern: re.Pattern[str] | None = None
_fragment_pattern: re.Pattern[str] | None = None
_B64 = "[A-Za-z0-9+/]"

_KEYS = r"refresh_token|access_token|id_token|client_secret|password|secret"
_GENERIC = (
    # form or query encoding: refresh_token=abc&...
    (re.compile(rf"(?i)\b({_KEYS})=[^&\s\"'<>]+"), rf"\1={MASK}"),
    # JSON: "refresh_token": "abc"
    (re.compile(rf'(?i)("(?:{_KEYS})"\s*:\s*)"[^"]*"'), rf'\1"{MASK}"'),
    # a header line: Authorization: Basic abc / Authorization=Bearer abc
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:(basic|bearer)\s+)?[^\s,;\"'<>]+"),
     lambda m: f"{m.group(1)}{m.group(2) + ' ' if m.group(2) else ''}{MASK}"),
    # a bare credential after its scheme (long enough not to be an English word)
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{16,}=*"), rf"\1 {MASK}"),
)


def _base64_fragments(value: bytes) -> set[str]:
    """The base64 text ``value`` turns into wherever it sits in an encoded blob.

    Base64 codes 3 bytes as 4 characters, so the same bytes encode differently
    depending on how many bytes precede them (0, 1 or 2 modulo 3). For each
    alignment, keep only the characters determined by ``value`` alone: a Basic
    header ``base64("user:" + secret)`` then contains one of them whatever the
    user part is.
    """
    fragments = set()
    for lead in range(3):
        encoded = base64.b64encode(b"\0" * lead + value).decode("ascii")
        start = 4 if lead else 0  # the first group mixes the padding bytes in
        # Complete groups only: a last, partial group depends on what follows.
        fragment = encoded[start:(lead + len(value)) // 3 * 4]
        if len(fragment) >= MIN_FRAGMENT_LENGTH:
            fragments.add(fragment)
    return fragments


def _forms(value: str) -> set[str]:
    """The value as written and URL-encoded (form bodies, query strings)."""
    forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value, safe="")}
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def register(*values: str | None) -> None:
    """Remember secret values (and their encoded forms) so :func:`scrub` masks them."""
    global _pattern, _fragment_pattern
    exact: set[str] = set()
    fragments: set[str] = set()
    for value in values:
        if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
            continue
        for form in {value, value.strip()}:
            exact |= _forms(form)
            fragments |= _base64_fragments(form.encode("utf-8"))
    with _lock:
        if exact - _known:
            _known.update(exact)
            _pattern = None
        if fragments - _fragments:
            _fragments.update(fragments)
            _fragment_pattern = None


def register_basic(user: str, password: str) -> None:
    """Remember a Basic ``user:password`` pair (its base64 is masked whole)."""
    register(password, f"{user}:{password}")


def forget_all() -> None:
    """Test support: drop every registered value."""
    global _pattern, _fragment_pattern
    with _lock:
        _known.clear()
        _fragments.clear()
        _pattern = _fragment_pattern = None


def _patterns() -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    global _pattern, _fragment_pattern
    with _lock:
        # Longest first, so a value is masked whole rather than a piece of it.
        if _pattern is None and _known:
            ordered = sorted(_known, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(v) for v in ordered))
        if _fragment_pattern is None and _fragments:
            ordered = sorted(_fragments, key=len, reverse=True)
            # The whole base64 run holding a fragment goes: its edges carry bits
            # of the secret too.
            _fragment_pattern = re.compile(
                f"{_B64}*(?:{'|'.join(re.escape(v) for v in ordered)}){_B64}*={{0,2}}")
        return _pattern, _fragment_pattern


def scrub(text: str) -> str:
    """``text`` with every known secret and every credential-shaped value masked."""
    if not text:
        return text
    exact, fragments = _patterns()
    if exact is not None:
        text = exact.sub(MASK, text)
    if fragments is not None:
        text = fragments.sub(MASK, text)
    for generic, replacement in _GENERIC:
        text = generic.sub(replacement, text)
    return text


# --------------------------------------------------------------------------- logging
class ScrubFilter(logging.Filter):
    """Scrubs a record's message (arguments merged in first) and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it for logging to report
            return True
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


_installed: tuple[Callable[..., logging.LogRecord], ScrubFilter] | None = None
_install_lock = threading.Lock()


def install_log_scrubber() -> None:
    """Scrub every log record of the process, whoever logs it and wherever it goes.

    A filter on a logger sees only records logged on that very logger, not those
    propagating from its children, so the filter runs where each record is made
    (the record factory) and, for exception text formatted later, on the root
    logger's handlers present now. Calling it again does nothing.
    """
    global _installed
    with _install_lock:
        if _installed is not None:
            return
        scrubber = ScrubFilter()
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            scrubber.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        for handler in logging.getLogger().handlers:
            handler.addFilter(scrubber)
        _installed = (previous, scrubber)


def uninstall_log_scrubber() -> None:
    """Test support: undo :func:`install_log_scrubber`."""
    global _installed
    with _install_lock:
        if _installed is None:
            return
        previous, scrubber = _installed
        logging.setLogRecordFactory(previous)
        for handler in logging.getLogger().handlers:
            handler.removeFilter(scrubber)
        _installed = None
