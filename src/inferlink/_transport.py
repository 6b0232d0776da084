"""Sending a request and reading its answer, sync and async: the only place that touches the network. Everything
httpx raises becomes an inferlink error here, and failed attempts are retried as _retry decides."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import AsyncIterator

import httpx

from . import _retry
from ._deadline_socket import bounded
from .errors import (
    InferenceConnectionError,
    InferenceError,
    InferenceTimeoutError,
    ResponseError,
    error_from_response,
)

logger = logging.getLogger("inferlink")


class Deadline:
    """The end of a call's time budget: every connect, send, wait, read, retry and download of the call draws from
    it. `phases` (an httpx.Timeout) optionally caps each phase below what is left."""

    __slots__ = ("seconds", "phases", "_end")

    def __init__(self, seconds: float | None, phases: httpx.Timeout | None = None) -> None:
        self.seconds = seconds
        self.phases = phases
        self._end = None if seconds is None else time.monotonic() + seconds

    @property
    def end(self) -> float | None:
        return self._end

    def remaining(self) -> float | None:
        return None if self._end is None else self._end - time.monotonic()

    def expired(self, where: str) -> InferenceTimeoutError:
        return InferenceTimeoutError(f"{where}: timed out after {self.seconds:g} s")

    def timeouts(self, where: str) -> dict[str, float | None]:
        """Per-phase timeouts for the next attempt: what is left of the budget, capped by the expert settings."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise self.expired(where)
        caps = self.phases.as_dict() if self.phases is not None else {}
        return {phase: _least(caps.get(phase), left) for phase in ("connect", "read", "write", "pool")}

    def limit_reads(self, request: httpx.Request, seconds: float | None) -> None:
        """Bound each read of the response body (httpx takes the read timeout when the body starts)."""
        request.extensions["timeout"] = {**request.extensions.get("timeout", {}), "read": seconds}


def _least(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _root(error: BaseException) -> BaseException:
    """The innermost cause: async httpx errors often say nothing, the OSError under them does."""
    seen = {id(error)}
    while True:
        inner = error.__cause__ or error.__context__
        if inner is None or id(inner) in seen:
            return error
        seen.add(id(inner))
        error = inner


def transport_error(error: httpx.HTTPError, where: str, seconds: float | None = None) -> InferenceError:
    url = ""
    try:
        url = f" ({error.request.method} {error.request.url.copy_with(query=None)})"
    except RuntimeError:  # an error raised before a request existed
        pass
    if isinstance(error, httpx.TimeoutException):
        budget = f" after {seconds:g} s" if seconds is not None else ""
        return InferenceTimeoutError(f"{where}: timed out{budget}{url}: {type(error).__name__}")
    detail = f"{type(error).__name__}: {error}"
    root = _root(error)
    if root is not error and str(root) and str(root) not in detail:
        detail += f" ({type(root).__name__}: {root})"
    if isinstance(error, httpx.DecodingError):
        return ResponseError(f"{where}: the response body could not be decoded{url}: {detail}")
    if isinstance(error, httpx.TransportError):
        return InferenceConnectionError(f"{where}: connection failed{url}: {detail}")
    return InferenceError(f"{where}: HTTP failure{url}: {detail}")


def _log_retry(where: str, retry: int, failure: InferenceError, wait: float) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        reason = getattr(failure, "status_code", None) or type(failure).__name__
        logger.debug("%s: attempt %d failed (%s); retrying in %.2f s", where, retry + 1, reason, wait)


def send(http: httpx.Client, request: httpx.Request, deadline: Deadline, where: str, max_retries: int,
         stream: bool) -> tuple[httpx.Response, bytes]:
    """Send, retrying as _retry decides, until a 2xx response whose body (unless `stream`) was read whole.
    Returns the response (open when streaming) and its body. Error bodies are read into HTTPError."""
    retry = 0
    while True:
        request.extensions["timeout"] = deadline.timeouts(where)
        cause: BaseException | None = None
        try:
            with bounded(deadline.end):
                response = http.send(request, stream=True)
                if response.status_code < 400:
                    return response, b"" if stream else _read(response, deadline, where)
                failure = _read_error(response, deadline, where)
        except httpx.HTTPError as error:
            failure, cause = transport_error(error, where, deadline.seconds), error
        wait = _retry.delay(failure, retry, max_retries, deadline)
        if wait is None:
            raise failure from cause
        _log_retry(where, retry, failure, wait)
        time.sleep(wait)
        retry += 1


def _read(response: httpx.Response, deadline: Deadline, where: str) -> bytes:
    # The deadline holds during the read: the socket operations are bounded by it (see _deadline_socket).
    deadline.limit_reads(response.request, deadline.timeouts(where)["read"])
    try:
        return response.read()
    finally:
        response.close()


def _read_error(response: httpx.Response, deadline: Deadline, where: str) -> InferenceError:
    """The error an error status stands for, its body read (so that error.response.text works)."""
    deadline.limit_reads(response.request, deadline.timeouts(where)["read"])
    try:
        response.read()
    except httpx.HTTPError as error:
        return transport_error(error, where, deadline.seconds)
    finally:
        response.close()
    return error_from_response(response, response.content)


async def asend(http: httpx.AsyncClient, request: httpx.Request, deadline: Deadline, where: str, max_retries: int,
                stream: bool) -> tuple[httpx.Response, bytes]:
    import asyncio  # here, not at the top: `import inferlink` stays cheap for the sync client

    retry = 0
    while True:
        request.extensions["timeout"] = deadline.timeouts(where)
        cause: BaseException | None = None
        try:
            response = await http.send(request, stream=True)
            if response.status_code < 400:
                return response, b"" if stream else await _aread(response, deadline, where)
            failure = await _aread_error(response, deadline, where)
        except httpx.HTTPError as error:
            failure, cause = transport_error(error, where, deadline.seconds), error
        wait = _retry.delay(failure, retry, max_retries, deadline)
        if wait is None:
            raise failure from cause
        _log_retry(where, retry, failure, wait)
        await asyncio.sleep(wait)
        retry += 1


async def _aread(response: httpx.Response, deadline: Deadline, where: str) -> bytes:
    # The deadline holds during the read: the caller runs inside within(deadline).
    deadline.limit_reads(response.request, deadline.timeouts(where)["read"])
    try:
        return await response.aread()
    finally:
        await response.aclose()


async def _aread_error(response: httpx.Response, deadline: Deadline, where: str) -> InferenceError:
    deadline.limit_reads(response.request, deadline.timeouts(where)["read"])
    try:
        await response.aread()
    except httpx.HTTPError as error:
        return transport_error(error, where, deadline.seconds)
    finally:
        await response.aclose()
    return error_from_response(response, response.content)


@contextlib.asynccontextmanager
async def within(deadline: Deadline, where: str) -> AsyncIterator[None]:
    """Cancel what runs inside when the deadline passes (the event loop keeps time exactly, unlike socket
    timeouts), and report it as InferenceTimeoutError."""
    import asyncio

    left = deadline.remaining()
    if left is None:
        yield
        return
    try:
        async with asyncio.timeout(left):
            yield
    except TimeoutError as error:
        if isinstance(error, InferenceError):
            raise
        raise deadline.expired(where) from None
