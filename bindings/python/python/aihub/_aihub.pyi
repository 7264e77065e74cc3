"""Type stubs of the native module ``aihub._aihub`` (the Rust half of the package)."""

import asyncio
from decimal import Decimal
from typing import Any, Dict, List, Mapping, Optional, Tuple

__version__: str
DEFAULT_GATEWAY_URL: str

class NativeClient:
    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        provider_keys: Optional[Mapping[str, str]] = None,
        provider_base_urls: Optional[Mapping[str, str]] = None,
        keys_from_env: bool = True,
        timeout: Optional[float] = 600.0,
        connect_timeout: Optional[float] = 10.0,
        read_timeout: Optional[float] = 120.0,
        max_retries: int = 2,
        fallback_models: Optional[List[str]] = None,
        default_headers: Optional[Mapping[str, str]] = None,
    ) -> None: ...
    @property
    def is_gateway(self) -> bool: ...
    def chat_create(
        self,
        request: Dict[str, Any],
        *,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_models: Optional[List[str]] = None,
        request_id: Optional[str] = None,
    ) -> Dict[str, Any]: ...
    def chat_stream(
        self,
        request: Dict[str, Any],
        *,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_models: Optional[List[str]] = None,
        request_id: Optional[str] = None,
    ) -> SyncStream: ...
    def embeddings_create(self, request: Dict[str, Any]) -> Dict[str, Any]: ...
    def models_list(self) -> Dict[str, Any]: ...
    def chat_create_async(
        self,
        request: Dict[str, Any],
        event_loop: asyncio.AbstractEventLoop,
        target: "asyncio.Future[Any]",
        *,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_models: Optional[List[str]] = None,
        request_id: Optional[str] = None,
    ) -> Pending: ...
    def chat_stream_async(
        self,
        request: Dict[str, Any],
        event_loop: asyncio.AbstractEventLoop,
        target: "asyncio.Future[Any]",
        *,
        timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        fallback_models: Optional[List[str]] = None,
        request_id: Optional[str] = None,
    ) -> Pending: ...
    def embeddings_create_async(
        self, request: Dict[str, Any], event_loop: asyncio.AbstractEventLoop, target: "asyncio.Future[Any]"
    ) -> Pending: ...
    def models_list_async(self, event_loop: asyncio.AbstractEventLoop, target: "asyncio.Future[Any]") -> Pending: ...

class Pending:
    def cancel(self) -> None: ...

class SyncStream:
    def next_batch(self) -> Tuple[List[Dict[str, Any]], Optional[BaseException]]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...

class AsyncStream:
    def next_batch(self, event_loop: asyncio.AbstractEventLoop, target: "asyncio.Future[Any]") -> Pending: ...
    def aclose(self, event_loop: asyncio.AbstractEventLoop, target: "asyncio.Future[Any]") -> Pending: ...
    def close(self) -> None: ...

def count_tokens(model: str, text_or_messages: Any) -> int: ...
def token_encoding(model: str) -> Tuple[str, bool]: ...
def estimate_cost(
    model: str,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
) -> Optional[Tuple[Decimal, str]]: ...
def catalog() -> List[Dict[str, Any]]: ...
def catalog_model(model: str) -> Optional[Dict[str, Any]]: ...
def shutdown() -> None: ...
