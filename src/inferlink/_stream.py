"""Typed streams over a server-sent-events response, sync and async. A stream closes its response when it is
exhausted, broken out of, closed, or garbage-collected, and it keeps its client alive while it is open."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Generic, Iterator, TypeVar

import httpx

from ._sse import Event, SSEDecoder
from ._transport import transport_error

if TYPE_CHECKING:
    from types import TracebackType

T = TypeVar("T")
DONE: Any = object()  # returned by a decode function at the end-of-stream marker

Decode = Callable[[Event], Any]  # an event -> a value, None to skip it, DONE to stop


class _StreamBase:
    def __init__(self, response: httpx.Response, decode: Decode, owner: object, where: str) -> None:
        self.response = response
        self._decode = decode
        self._owner = owner  # the client: its connection pool must outlive the stream
        self._where = where
        self._started = False

    @property
    def closed(self) -> bool:
        return self.response.is_closed


class Stream(_StreamBase, Generic[T]):
    """The chunks of a streamed call. Iterate it once; use it as a context manager or call close() to stop early."""

    def __iter__(self) -> Iterator[T]:
        if self._started:
            raise RuntimeError("a stream can be iterated only once")
        self._started = True
        return self._chunks()

    def _chunks(self) -> Iterator[T]:
        decoder = SSEDecoder()
        if self.response.is_closed:  # closed before it was read: nothing more will come
            return
        try:
            for chunk in self.response.iter_bytes():
                for event in decoder.feed(chunk):
                    value = self._decode(event)
                    if value is DONE:
                        return
                    if value is not None:
                        yield value
            for event in decoder.close():
                value = self._decode(event)
                if value is DONE:
                    return
                if value is not None:
                    yield value
        except httpx.HTTPError as error:
            raise transport_error(error, self._where) from error
        finally:
            self.response.close()

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        response = getattr(self, "response", None)
        if response is not None and not response.is_closed:
            response.close()


class AsyncStream(_StreamBase, Generic[T]):
    """The chunks of a streamed async call. Iterate it once with `async for`; use `async with` or aclose() to stop
    early."""

    def __aiter__(self) -> AsyncIterator[T]:
        if self._started:
            raise RuntimeError("a stream can be iterated only once")
        self._started = True
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[T]:
        decoder = SSEDecoder()
        if self.response.is_closed:
            return
        try:
            async for chunk in self.response.aiter_bytes():
                for event in decoder.feed(chunk):
                    value = self._decode(event)
                    if value is DONE:
                        return
                    if value is not None:
                        yield value
            for event in decoder.close():
                value = self._decode(event)
                if value is DONE:
                    return
                if value is not None:
                    yield value
        except httpx.HTTPError as error:
            raise transport_error(error, self._where) from error
        finally:
            await self.response.aclose()

    async def aclose(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()
