"""AI Hub for Python: one client for every LLM provider, on the Rust core of the AI Hub gateway.

>>> import aihub
>>> client = aihub.Client(api_key="ai-hub-...", base_url="http://127.0.0.1:8080/v1")  # doctest: +SKIP
>>> client.chat.completions.create(model="openai/gpt-4o-mini", messages=[...])  # doctest: +SKIP
"""

from ._aihub import __version__
from ._client import (
    DEFAULT_BASE_URL,
    AsyncClient,
    AsyncStream,
    Client,
    Stream,
)
from ._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentFilterError,
    InsufficientQuotaError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
)
from ._helpers import TokenEncoding, catalog, catalog_model, count_tokens, estimate_cost, token_encoding
from . import types

__all__ = [
    "__version__",
    "DEFAULT_BASE_URL",
    "AsyncClient",
    "AsyncStream",
    "Client",
    "Stream",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ContentFilterError",
    "InsufficientQuotaError",
    "InternalServerError",
    "InvalidResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "TokenEncoding",
    "catalog",
    "catalog_model",
    "count_tokens",
    "estimate_cost",
    "token_encoding",
    "types",
]
