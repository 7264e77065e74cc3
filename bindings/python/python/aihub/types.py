"""Response objects with attribute access, shaped like the OpenAI SDK's.

Each object wraps the plain dict aihub-core produced and reads fields from it on access,
so a 5,000-chunk stream builds no objects it does not use. Fields the class does not name
(provider extras) are still reachable as attributes and with ``obj["field"]``.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any, ClassVar, Dict, Iterator, List, Optional, Tuple, Type, Union


class BaseObject:
    """A response object: attribute access over a dict, plus ``to_dict()`` and ``to_json()``."""

    __slots__ = ("_data",)
    _data: Dict[str, Any]

    _fields: ClassVar[frozenset[str]] = frozenset()
    _nested: ClassVar[Dict[str, Tuple[bool, Type[BaseObject]]]] = {}
    _decimals: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names: set[str] = set()
        for klass in cls.__mro__:
            names.update(n for n in getattr(klass, "__annotations__", {}) if not n.startswith("_"))
        cls._fields = frozenset(names)

    def __init__(self, data: Dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._data[name]
        except KeyError:
            if name in type(self)._fields:
                return None
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}") from None
        nested = type(self)._nested.get(name)
        if nested is not None and value is not None:
            is_list, cls = nested
            return [cls(v) for v in value] if is_list else cls(value)
        if value is not None and name in type(self)._decimals:
            return Decimal(value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._data[name] = _plain(value)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BaseObject):
            return type(self) is type(other) and self._data == other._data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json()})"

    def to_dict(self) -> Dict[str, Any]:
        """A deep copy of the object as plain dicts and lists (what the API sent)."""
        return copy.deepcopy(self._data)

    def to_json(self, *, indent: Optional[int] = None) -> str:
        """The object as JSON text."""
        return json.dumps(self._data, indent=indent, ensure_ascii=False)


def _plain(value: Any) -> Any:
    """``value`` with response objects replaced by their dicts (for sending them back)."""
    if isinstance(value, BaseObject):
        return value._data
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _nest(**fields: Tuple[bool, Type[BaseObject]]) -> Dict[str, Tuple[bool, Type[BaseObject]]]:
    return fields


class PromptTokensDetails(BaseObject):
    """Where the prompt tokens went."""

    cached_tokens: Optional[int]
    audio_tokens: Optional[int]
    cache_write_tokens: Optional[int]
    """Tokens written to the prompt cache (5-minute and 1-hour writes); an AI Hub extension."""
    cache_write_1h_tokens: Optional[int]
    """Of ``cache_write_tokens``, those written to Anthropic's 1-hour cache; an AI Hub extension."""


class CompletionTokensDetails(BaseObject):
    """Where the completion tokens went."""

    reasoning_tokens: Optional[int]
    audio_tokens: Optional[int]
    accepted_prediction_tokens: Optional[int]
    rejected_prediction_tokens: Optional[int]


class CompletionUsage(BaseObject):
    """Token counts of a completion, as the provider reported them.

    Through an AI Hub gateway it also carries what the gateway charged: ``cost`` (an exact
    ``Decimal``, the amount of the request's usage record) in ``cost_currency``, and
    ``estimated`` (``True`` when the provider reported no usage and the gateway counted).
    """

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: Optional[PromptTokensDetails]
    completion_tokens_details: Optional[CompletionTokensDetails]
    cost: Optional[Decimal]
    cost_currency: Optional[str]
    estimated: Optional[bool]
    _nested = _nest(
        prompt_tokens_details=(False, PromptTokensDetails),
        completion_tokens_details=(False, CompletionTokensDetails),
    )
    _decimals = frozenset({"cost"})


class Function(BaseObject):
    """The function a tool call invokes; ``arguments`` is JSON text."""

    name: str
    arguments: str


class ChatCompletionMessageToolCall(BaseObject):
    """A tool call the model made."""

    id: str
    type: str
    function: Function
    _nested = _nest(function=(False, Function))


class ChatCompletionMessage(BaseObject):
    """The message the model wrote. Append it to ``messages`` to continue the conversation."""

    role: str
    content: Optional[str]
    refusal: Optional[str]
    tool_calls: Optional[List[ChatCompletionMessageToolCall]]
    reasoning_content: Optional[str]
    _nested = _nest(tool_calls=(True, ChatCompletionMessageToolCall))


class Choice(BaseObject):
    """One choice of a completion."""

    index: int
    message: ChatCompletionMessage
    finish_reason: Optional[str]
    logprobs: Optional[Any]
    _nested = _nest(message=(False, ChatCompletionMessage))


class ChatCompletion(BaseObject):
    """A chat completion."""

    id: str
    object: str
    created: int
    model: str
    choices: List[Choice]
    usage: Optional[CompletionUsage]
    system_fingerprint: Optional[str]
    service_tier: Optional[str]
    _nested = _nest(choices=(True, Choice), usage=(False, CompletionUsage))


class ChoiceDeltaToolCallFunction(BaseObject):
    """A piece of a streamed tool call's function."""

    name: Optional[str]
    arguments: Optional[str]


class ChoiceDeltaToolCall(BaseObject):
    """A piece of a streamed tool call; the first carries ``id``, ``type`` and the name."""

    index: int
    id: Optional[str]
    type: Optional[str]
    function: Optional[ChoiceDeltaToolCallFunction]
    _nested = _nest(function=(False, ChoiceDeltaToolCallFunction))


class ChoiceDelta(BaseObject):
    """What one chunk adds to a choice."""

    role: Optional[str]
    content: Optional[str]
    refusal: Optional[str]
    tool_calls: Optional[List[ChoiceDeltaToolCall]]
    reasoning_content: Optional[str]
    _nested = _nest(tool_calls=(True, ChoiceDeltaToolCall))


class ChunkChoice(BaseObject):
    """One choice of a streamed chunk."""

    index: int
    delta: ChoiceDelta
    finish_reason: Optional[str]
    logprobs: Optional[Any]
    _nested = _nest(delta=(False, ChoiceDelta))


class ChatCompletionChunk(BaseObject):
    """One chunk of a streamed completion; with ``include_usage`` the last has ``usage``."""

    id: str
    object: str
    created: int
    model: str
    choices: List[ChunkChoice]
    usage: Optional[CompletionUsage]
    system_fingerprint: Optional[str]
    service_tier: Optional[str]
    _nested = _nest(choices=(True, ChunkChoice), usage=(False, CompletionUsage))


class Embedding(BaseObject):
    """One embedding: a list of floats, or base64 text with ``encoding_format="base64"``."""

    object: str
    index: int
    embedding: Union[List[float], str]


class EmbeddingUsage(BaseObject):
    """Tokens an embeddings request used."""

    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(BaseObject):
    """The answer to an embeddings request."""

    object: str
    data: List[Embedding]
    model: str
    usage: Optional[EmbeddingUsage]
    _nested = _nest(data=(True, Embedding), usage=(False, EmbeddingUsage))


class Model(BaseObject):
    """A model the gateway (or, in direct mode, a keyed provider) serves."""

    id: str
    object: str
    created: int
    owned_by: str


class ModelList(BaseObject):
    """The model list; iterate over it for the models."""

    object: str
    data: List[Model]
    _nested = _nest(data=(True, Model))

    def __iter__(self) -> Iterator[Model]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self._data.get("data") or [])


class ModelPriceTier(BaseObject):
    """The rates of a request whose prompt has more than ``above_prompt_tokens`` tokens.

    An absent cache price falls back to the tier's ``input`` (``cache_write_1h`` to its
    ``cache_write``).
    """

    above_prompt_tokens: int
    input: Decimal
    cached_input: Optional[Decimal]
    cache_write: Optional[Decimal]
    cache_write_1h: Optional[Decimal]
    output: Decimal
    _decimals = frozenset({"input", "cached_input", "cache_write", "cache_write_1h", "output"})


class ModelPrice(BaseObject):
    """Prices per million tokens, exact, in ``currency`` (``USD`` or ``CNY``).

    ``cached_input`` and ``cache_write`` default to ``input``, ``cache_write_1h`` to
    ``cache_write``. ``per_request`` is a fixed amount per request (not per million tokens).
    A request whose prompt is longer than a tier's ``above_prompt_tokens`` is charged at the
    last such tier for all its tokens.
    """

    currency: str
    input: Decimal
    cached_input: Optional[Decimal]
    cache_write: Optional[Decimal]
    cache_write_1h: Optional[Decimal]
    output: Decimal
    per_request: Optional[Decimal]
    tiers: List[ModelPriceTier]
    as_of: str
    source: str
    _nested = _nest(tiers=(True, ModelPriceTier))
    _decimals = frozenset({"input", "cached_input", "cache_write", "cache_write_1h", "output", "per_request"})


class ModelCapabilities(BaseObject):
    """What a catalog model can do."""

    tools: bool
    vision: bool
    json: bool
    reasoning: bool


class ModelInfo(BaseObject):
    """A model of the built-in catalog: provider, limits, capabilities and price."""

    id: str
    upstream: str
    aliases: List[str]
    mode: str
    context_window: int
    max_output: int
    capabilities: ModelCapabilities
    price: Optional[ModelPrice]
    _nested = _nest(capabilities=(False, ModelCapabilities), price=(False, ModelPrice))

    @property
    def provider(self) -> str:
        """The provider id (the part of ``id`` before ``/``)."""
        return self.id.split("/", 1)[0]


__all__ = [
    "BaseObject",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CompletionUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingUsage",
    "Function",
    "Model",
    "ModelCapabilities",
    "ModelInfo",
    "ModelList",
    "ModelPrice",
    "ModelPriceTier",
    "PromptTokensDetails",
]
