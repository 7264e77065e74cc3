"""Token counting, cost estimates and the catalog, from aihub-core (no network)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable, List, Mapping, NamedTuple, Optional, Union

from . import _aihub
from .types import ModelInfo, _plain


class TokenEncoding(NamedTuple):
    """The tiktoken encoding a model is counted with, and whether its counts are exact."""

    name: str
    """``o200k_base`` or ``cl100k_base``."""
    exact: bool
    """True for OpenAI models; other vendors' tokenizers differ, so their counts are estimates."""


def count_tokens(model: str, text_or_messages: Union[str, Iterable[Union[Mapping[str, Any], Any]]]) -> int:
    """Tokens in a text, or the prompt tokens of chat messages (OpenAI's counting rule), for ``model``.

    Exact for OpenAI models; an estimate for others (see :func:`token_encoding`).
    """
    if isinstance(text_or_messages, str):
        return _aihub.count_tokens(model, text_or_messages)
    try:
        messages = [_plain(m) for m in text_or_messages]
    except TypeError:
        return _aihub.count_tokens(model, text_or_messages)  # raises BadRequestError
    return _aihub.count_tokens(model, messages)


def token_encoding(model: str) -> TokenEncoding:
    """The encoding :func:`count_tokens` uses for ``model`` and whether the count is exact."""
    name, exact = _aihub.token_encoding(model)
    return TokenEncoding(name, exact)


def estimate_cost(
    model: str,
    *,
    prompt_tokens: int,
    completion_tokens: int = 0,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
) -> Optional[Decimal]:
    """The exact cost of a usage on a catalog model, as a ``Decimal`` in the model's price currency.

    ``prompt_tokens`` includes ``cached_tokens`` and ``cache_write_tokens``, and
    ``cache_write_tokens`` includes ``cache_write_1h_tokens`` (the writes to Anthropic's 1-hour
    cache), as usage is reported. A long prompt is priced at the model's tier for its length,
    and a per-request fee is added once. Returns ``None`` for a model whose price is unknown
    (a free model costs ``Decimal("0")``); raises ``NotFoundError`` for a model the catalog
    does not know, a dated snapshot it does not list included. The currency is
    ``catalog_model(model).price.currency``.
    """
    result = _aihub.estimate_cost(
        model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cached_tokens=cached_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_write_1h_tokens=cache_write_1h_tokens,
    )
    return None if result is None else result[0]


def catalog() -> List[ModelInfo]:
    """Every model of the built-in catalog, with context window, capabilities and exact prices."""
    return [ModelInfo(m) for m in _aihub.catalog()]


def catalog_model(model: str) -> Optional[ModelInfo]:
    """The catalog entry for a model id (``provider/model``) or alias, or ``None``."""
    info = _aihub.catalog_model(model)
    return None if info is None else ModelInfo(info)
