"""Typed domain errors. Each carries its HTTP status so the API and CLI report them uniformly."""

from __future__ import annotations

from typing import Any


class ArrearsError(Exception):
    """Base of every error a user may see. `message` is plain language, never a stack trace."""

    status_code: int = 400
    code: str = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFound(ArrearsError):
    status_code = 404
    code = "not_found"


class Conflict(ArrearsError):
    status_code = 409
    code = "conflict"


class ValidationFailed(ArrearsError):
    status_code = 422
    code = "validation_failed"


class Forbidden(ArrearsError):
    status_code = 403
    code = "forbidden"


class Unauthorized(ArrearsError):
    status_code = 401
    code = "unauthorized"


class LedgerImbalance(ArrearsError):
    """A transaction whose entries do not sum to zero: a programming error, never committed."""

    status_code = 500
    code = "ledger_imbalance"
