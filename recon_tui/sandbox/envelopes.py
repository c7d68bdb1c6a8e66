"""Each API's own error envelopes, so the connectors parse what the real
services send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def qbo_fault(message: str, detail: str, code: str, fault_type: str = "ValidationFault"
              ) -> dict[str, Any]:
    return {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code}],
                      "type": fault_type}, "time": now_iso()}


def qbo_auth_fault() -> dict[str, Any]:
    """QBO's 401 uses the lowercase form."""
    return {"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; "
                                            "statusCode=401",
                                 "detail": "Token expired", "code": "3200"}],
                      "type": "AUTHENTICATION"}, "time": now_iso()}


def connectwise_error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "errors": []}


def autotask_error(message: str) -> dict[str, Any]:
    return {"errors": [message]}


def error_for(system: str, status: int, message: str) -> dict[str, Any]:
    """The envelope ``system`` uses for an HTTP ``status``."""
    if system in ("qbo", "token"):
        if status == 401:
            return qbo_auth_fault()
        if status == 429:
            return qbo_fault("message=ThrottleExceeded; errorCode=003001; statusCode=429",
                             message, "003001", "ThrottlingFault")
        return qbo_fault("An application error has occurred while processing your request",
                         message, "10000", "SystemFault")
    if system == "connectwise":
        names = {401: "Unauthorized", 429: "TooManyRequests", 404: "NotFound"}
        return connectwise_error(names.get(status, "InternalServerError"), message)
    return autotask_error(message)
