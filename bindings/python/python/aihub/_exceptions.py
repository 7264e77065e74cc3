"""The exceptions of ``aihub``: one class per error of aihub-core, all under :class:`APIError`."""

from __future__ import annotations

from typing import Optional


class APIError(Exception):
    """Any failure of an AI Hub call. Subclasses name the kind; the fields carry the details."""

    message: str
    """Human-readable message; for upstream errors, the provider's own words."""
    status_code: Optional[int]
    """HTTP status the gateway or provider answered with (or the status this kind maps to)."""
    code: Optional[str]
    """OpenAI error ``code``, e.g. ``rate_limit_exceeded`` or ``invalid_api_key``."""
    type: Optional[str]
    """OpenAI error ``type``, e.g. ``invalid_request_error``."""
    param: Optional[str]
    """The request parameter the error is about, when known."""
    request_id: Optional[str]
    """Request id the gateway or provider assigned (quote it when asking for support)."""
    provider: Optional[str]
    """Provider id the error came from, in direct mode."""
    kind: Optional[str]
    """aihub-core's name for the error kind (``rate_limit``, ``timeout``, ...)."""
    limit: Optional[str]
    """The AI Hub gateway limit that refused the request (``key.rpm``, ``budget.api_key.monthly``, ...)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: Optional[int] = None,
        code: Optional[str] = None,
        type: Optional[str] = None,
        param: Optional[str] = None,
        request_id: Optional[str] = None,
        provider: Optional[str] = None,
        kind: Optional[str] = None,
        limit: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.type = type
        self.param = param
        self.request_id = request_id
        self.provider = provider
        self.kind = kind
        self.limit = limit

    def __str__(self) -> str:
        head = " ".join(str(p) for p in (self.status_code, self.code) if p is not None)
        tail = f" (request id {self.request_id})" if self.request_id else ""
        return f"{head}: {self.message}{tail}" if head else f"{self.message}{tail}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status_code={self.status_code!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIError):
    """The request is malformed or asks for something the model does not support (400)."""


class ContentFilterError(BadRequestError):
    """The provider refused the content (a safety block) (400)."""


class RequestTooLargeError(APIError):
    """The request body is over the gateway's size limit (413)."""


class AuthenticationError(APIError):
    """The API key is missing, unknown, revoked or expired (401)."""


class PermissionDeniedError(APIError):
    """The key may not do this (403)."""


class NotFoundError(APIError):
    """The model or resource does not exist (404)."""


class RateLimitError(APIError):
    """Too many requests or tokens per minute (429); retrying after ``retry_after`` may work."""

    retry_after: Optional[float]
    """Seconds the server asked to wait before retrying, when it said."""

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class InsufficientQuotaError(APIError):
    """The quota or a budget is used up (429 ``insufficient_quota``); retrying will not help."""


class APITimeoutError(APIError):
    """The request took longer than its timeout (504 through the gateway)."""


class APIConnectionError(APIError):
    """No connection could be made, or it broke before a response."""


class InternalServerError(APIError):
    """The provider or gateway failed (5xx, overloaded)."""


class InvalidResponseError(APIError):
    """The response did not parse, or a stream ended before its final event."""


class ConfigurationError(APIError):
    """The client is misconfigured: a missing provider key, an unknown provider, a bad option."""


__all__ = [
    "APIError",
    "BadRequestError",
    "ContentFilterError",
    "RequestTooLargeError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "RateLimitError",
    "InsufficientQuotaError",
    "APITimeoutError",
    "APIConnectionError",
    "InternalServerError",
    "InvalidResponseError",
    "ConfigurationError",
]
