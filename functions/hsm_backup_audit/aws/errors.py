"""What an error entry says about a failed call: a code and one line, never a secret."""

from __future__ import annotations

from botocore.exceptions import ClientError, PaginationError

from ..engine.model import safe_text
from .cloudhsm import ListingError, without_url_credentials

CODE_LENGTH = 64
MESSAGE_LENGTH = 300
UNBOUNDED = 1 << 30


def describe_exception(exc: BaseException) -> tuple[str, str]:
    """(code, one-line message) for an error entry. Never includes credentials, not even
    those written into an endpoint URL (user:secret@host)."""
    if isinstance(exc, ListingError):
        code, message = exc.code, exc.message
    elif isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or "ClientError"
        message = error.get("Message") or str(exc)
    elif isinstance(exc, PaginationError):  # its text quotes the token: say it without
        code, message = "RepeatedNextToken", "the same NextToken came back twice"
    else:
        code, message = type(exc).__name__, str(exc)
    return _shown(code, CODE_LENGTH), _shown(message, MESSAGE_LENGTH)


def _shown(value: object, limit: int) -> str:
    # Cleaned first (a control character cannot hide a URL), then redacted, then cut.
    cleaned = safe_text(value, UNBOUNDED)
    return safe_text(without_url_credentials(cleaned), limit)
