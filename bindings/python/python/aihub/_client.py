"""``Client`` and ``AsyncClient``: the OpenAI SDK's shape over aihub-core's client."""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import (
    Any,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    Union,
    overload,
)

from . import _aihub, _bridge
from .types import (
    ChatCompletion,
    ChatCompletionChunk,
    CreateEmbeddingResponse,
    ModelList,
    _plain,
)

DEFAULT_BASE_URL = _aihub.DEFAULT_GATEWAY_URL
"""Where ``Client`` looks for a gateway when it has a key but no ``base_url``."""

_NOT_SUPPORTED = ("extra_headers", "extra_query")


def _body(params: Dict[str, Any], extra_body: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    for name in _NOT_SUPPORTED:
        if name in params:
            raise TypeError(f"{name} is not supported by aihub; set default_headers on the client instead")
    body = {k: _plain(v) for k, v in params.items() if v is not None}
    if extra_body:
        body.update((k, _plain(v)) for k, v in extra_body.items())
    return body


_OPTIONS = ("timeout", "max_retries", "fallback_models", "request_id")


def _chat_request(params: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Splits ``create``'s keyword arguments into the request body and the call's options."""
    options = {name: params.pop(name, None) for name in _OPTIONS}
    if options["fallback_models"] is not None:
        options["fallback_models"] = list(options["fallback_models"])
    extra_body = params.pop("extra_body", None)
    for name in ("messages", "tools"):
        if params.get(name) is not None:
            params[name] = list(params[name])
    return _body(params, extra_body), options


class Stream:
    """Chunks of a streamed completion, for ``for chunk in stream``.

    ``close()`` (or leaving a ``with`` block, or dropping the stream) cancels the request.
    """

    def __init__(self, native: _aihub.SyncStream) -> None:
        self._native = native
        self._buffer: Deque[Dict[str, Any]] = deque()
        self._error: Optional[BaseException] = None
        self._ended = False

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self

    def __next__(self) -> ChatCompletionChunk:
        if not self._buffer and not self._ended:
            chunks, self._error = self._native.next_batch()
            self._buffer.extend(chunks)
            self._ended = not chunks or self._error is not None
        if self._buffer:
            return ChatCompletionChunk(self._buffer.popleft())
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopIteration

    def close(self) -> None:
        """Stops the stream and cancels the request."""
        self._buffer.clear()
        self._error = None
        self._ended = True
        self._native.close()

    @property
    def closed(self) -> bool:
        """True once the stream has ended or been closed."""
        return self._native.closed and not self._buffer

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()


class AsyncStream:
    """Chunks of a streamed completion, for ``async for chunk in stream``.

    ``await stream.aclose()`` (or leaving an ``async with`` block) cancels the request.
    """

    def __init__(self, native: _aihub.AsyncStream) -> None:
        self._native = native
        self._buffer: Deque[Dict[str, Any]] = deque()
        self._error: Optional[BaseException] = None
        self._ended = False

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        if not self._buffer and not self._ended:
            chunks, self._error = await _bridge.run(self._native.next_batch)
            self._buffer.extend(chunks)
            self._ended = not chunks or self._error is not None
        if self._buffer:
            return ChatCompletionChunk(self._buffer.popleft())
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stops the stream and cancels the request."""
        self._buffer.clear()
        self._error = None
        self._ended = True
        await _bridge.run(self._native.aclose)

    def close(self) -> None:
        """Stops the stream now if no step is waiting (use ``aclose`` from async code)."""
        self._buffer.clear()
        self._ended = True
        self._native.close()

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.aclose()


Message = Union[Mapping[str, Any], Any]
"""A chat message: a dict like ``{"role": "user", "content": "Hi"}`` or a returned message."""


class Completions:
    """``client.chat.completions``."""

    def __init__(self, native: _aihub.NativeClient) -> None:
        self._native = native

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[Message],
        stream: Literal[False] = False,
        tools: Optional[Iterable[Mapping[str, Any]]] = None,
        tool_choice: Optional[Union[str, Mapping[str, Any]]] = None,
        response_format: Optional[Mapping[str, Any]] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        max_tokens: Optional[int] = None,
        max_completion_tokens: Optional[int] = None,
        n: Optional[int] = None,
        stop: Optional[Union[str, List[str]]] = None,
        seed: Optional[int] = None,
        user: Optional[str] = None,
        stream_options: Optional[Mapping[str, Any]] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_models: Optional[Sequence[str]] = None,
        request_id: Optional[str] = None,
        **extra: Any,
    ) -> ChatCompletion: ...

    @overload
    def create(
        self,
        *,
        model: str,
        messages: Iterable[Message],
        stream: Literal[True],
        tools: Optional[Iterable[Mapping[str, Any]]] = None,
        tool_choice: Optional[Union[str, Mapping[str, Any]]] = None,
        response_format: Optional[Mapping[str, Any]] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        max_tokens: Optional[int] = None,
        max_completion_tokens: Optional[int] = None,
        n: Optional[int] = None,
        stop: Optional[Union[str, List[str]]] = None,
        seed: Optional[int] = None,
        user: Optional[str] = None,
        stream_options: Optional[Mapping[str, Any]] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_models: Optional[Sequence[str]] = None,
        request_id: Optional[str] = None,
        **extra: Any,
    ) -> Stream: ...

    def create(self, *, stream: bool = False, **params: Any) -> Union[ChatCompletion, Stream]:
        """Creates a chat completion; with ``stream=True``, returns a :class:`Stream` of chunks.

        Blocks with the GIL released; Ctrl-C cancels the request.
        """
        body, options = _chat_request(params)
        if stream:
            return Stream(self._native.chat_stream(body, **options))
        return ChatCompletion(self._native.chat_create(body, **options))


class Chat:
    """``client.chat``."""

    completions: Completions

    def __init__(self, native: _aihub.NativeClient) -> None:
        self.completions = Completions(native)


class Embeddings:
    """``client.embeddings``."""

    def __init__(self, native: _aihub.NativeClient) -> None:
        self._native = native

    def create(
        self,
        *,
        model: str,
        input: Union[str, Sequence[str], Sequence[int], Sequence[Sequence[int]]],
        encoding_format: Optional[Literal["float", "base64"]] = None,
        dimensions: Optional[int] = None,
        user: Optional[str] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **extra: Any,
    ) -> CreateEmbeddingResponse:
        """Embeds ``input`` (a text or a list of texts)."""
        body = _body(
            {"model": model, "input": input, "encoding_format": encoding_format, "dimensions": dimensions, "user": user, **extra},
            extra_body,
        )
        return CreateEmbeddingResponse(self._native.embeddings_create(body))


class Models:
    """``client.models``."""

    def __init__(self, native: _aihub.NativeClient) -> None:
        self._native = native

    def list(self) -> ModelList:
        """The gateway's models; in direct mode, the catalog models of every keyed provider."""
        return ModelList(self._native.models_list())


class _BaseClient:
    """What Client and AsyncClient share: options, mode selection and the native client."""

    def __init__(
        self,
        api_key: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        provider_keys: Optional[Mapping[str, str]] = None,
        provider_base_urls: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = 600.0,
        connect_timeout: Optional[float] = 10.0,
        read_timeout: Optional[float] = 120.0,
        max_retries: int = 2,
        fallback_models: Optional[Sequence[str]] = None,
        default_headers: Optional[Mapping[str, str]] = None,
        keys_from_env: bool = True,
    ) -> None:
        self._native = _aihub.NativeClient(
            api_key=api_key,
            base_url=base_url,
            provider_keys=dict(provider_keys) if provider_keys else None,
            provider_base_urls=dict(provider_base_urls) if provider_base_urls else None,
            keys_from_env=keys_from_env,
            timeout=timeout,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_retries=max_retries,
            fallback_models=list(fallback_models) if fallback_models else None,
            default_headers=dict(default_headers) if default_headers else None,
        )
        self._attach(self._native)

    def _attach(self, native: _aihub.NativeClient) -> None:
        raise NotImplementedError

    @property
    def is_gateway(self) -> bool:
        """True when every request goes to one gateway."""
        return self._native.is_gateway


class Client(_BaseClient):
    """A client for an AI Hub gateway (one ``ai-hub-`` key) or for providers directly.

    Gateway mode: ``Client(api_key="ai-hub-...", base_url="http://127.0.0.1:8080/v1")``, or
    ``AIHUB_API_KEY`` and ``AIHUB_BASE_URL`` in the environment. Direct mode (no gateway key):
    provider keys from ``provider_keys={"openai": "sk-..."}`` or their environment variables
    (``OPENAI_API_KEY``, ``DEEPSEEK_API_KEY``, ...), models named ``provider/model``.

    Safe to share across threads; every call releases the GIL while it waits.
    """

    chat: Chat
    embeddings: Embeddings
    models: Models

    def _attach(self, native: _aihub.NativeClient) -> None:
        self.chat = Chat(native)
        self.embeddings = Embeddings(native)
        self.models = Models(native)

    def close(self) -> None:
        """Nothing to release: connections close when the client is dropped. Kept for OpenAI parity."""

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()


class AsyncCompletions:
    """``client.chat.completions`` of an :class:`AsyncClient`."""

    def __init__(self, native: _aihub.NativeClient) -> None:
        self._native = native

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[Message],
        stream: Literal[False] = False,
        tools: Optional[Iterable[Mapping[str, Any]]] = None,
        tool_choice: Optional[Union[str, Mapping[str, Any]]] = None,
        response_format: Optional[Mapping[str, Any]] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        max_tokens: Optional[int] = None,
        max_completion_tokens: Optional[int] = None,
        n: Optional[int] = None,
        stop: Optional[Union[str, List[str]]] = None,
        seed: Optional[int] = None,
        user: Optional[str] = None,
        stream_options: Optional[Mapping[str, Any]] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_models: Optional[Sequence[str]] = None,
        request_id: Optional[str] = None,
        **extra: Any,
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[Message],
        stream: Literal[True],
        tools: Optional[Iterable[Mapping[str, Any]]] = None,
        tool_choice: Optional[Union[str, Mapping[str, Any]]] = None,
        response_format: Optional[Mapping[str, Any]] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        max_tokens: Optional[int] = None,
        max_completion_tokens: Optional[int] = None,
        n: Optional[int] = None,
        stop: Optional[Union[str, List[str]]] = None,
        seed: Optional[int] = None,
        user: Optional[str] = None,
        stream_options: Optional[Mapping[str, Any]] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_models: Optional[Sequence[str]] = None,
        request_id: Optional[str] = None,
        **extra: Any,
    ) -> AsyncStream: ...

    async def create(self, *, stream: bool = False, **params: Any) -> Union[ChatCompletion, AsyncStream]:
        """Creates a chat completion; with ``stream=True``, an :class:`AsyncStream` of chunks."""
        body, options = _chat_request(params)
        native = self._native
        if stream:
            return AsyncStream(await _bridge.run(lambda loop, fut: native.chat_stream_async(body, loop, fut, **options)))
        return ChatCompletion(await _bridge.run(lambda loop, fut: native.chat_create_async(body, loop, fut, **options)))


class AsyncChat:
    """``client.chat`` of an :class:`AsyncClient`."""

    completions: AsyncCompletions

    def __init__(self, native: _aihub.NativeClient) -> None:
        self.completions = AsyncCompletions(native)


class AsyncEmbeddings:
    """``client.embeddings`` of an :class:`AsyncClient`."""

    def __init__(self, native: _aihub.NativeClient) -> None:
        self._native = native

    async def create(
        self,
        *,
        model: str,
        input: Union[str, Sequence[str], Sequence[int], Sequence[Sequence[int]]],
        encoding_format: Optional[Literal["float", "base64"]] = None,
        dimensions: Optional[int] = None,
        user: Optional[str] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **extra: Any,
    ) -> CreateEmbeddingResponse:
        """Embeds ``input`` (a text or a list of texts)."""
        body = _body(
            {"model": model, "input": input, "encoding_format": encoding_format, "dimensions": dimensions, "user": user, **extra},
            extra_body,
        )
        native = self._native
        return CreateEmbeddingResponse(await _bridge.run(lambda loop, fut: native.embeddings_create_async(body, loop, fut)))


class AsyncModels:
    """``client.models`` of an :class:`AsyncClient`."""

    def __init__(self, native: _aihub.NativeClient) -> None:
        self._native = native

    async def list(self) -> ModelList:
        """The gateway's models; in direct mode, the catalog models of every keyed provider."""
        return ModelList(await _bridge.run(self._native.models_list_async))


class AsyncClient(_BaseClient):
    """The asyncio twin of :class:`Client`, with the same options and the same surface."""

    chat: AsyncChat
    embeddings: AsyncEmbeddings
    models: AsyncModels

    def _attach(self, native: _aihub.NativeClient) -> None:
        self.chat = AsyncChat(native)
        self.embeddings = AsyncEmbeddings(native)
        self.models = AsyncModels(native)

    async def close(self) -> None:
        """Nothing to release: connections close when the client is dropped. Kept for OpenAI parity."""

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()
