"""Sending a request and reading its answer, sync and async: the only place that touches the network. Everything
httpx raises becomes an inferlink error here."""

from __future__ import annotations

import time

import httpx

from .errors import (
    InferenceConnectionError,
    InferenceError,
    InferenceTimeoutError,
    error_from_response,
)


class Deadline:
    """The end of a call's time budget: every connect, send, read and download of the call draws from it."""

    __slots__ = ("seconds", "_end")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self._end is None else self._end - time.monotonic()

    def timeout(self, where: str) -> httpx.Timeout:
        left = self.remaining()
        if left is not None and left <= 0:
            raise InferenceTimeoutError(f"{where}: timed out after {self.seconds:g} s")
        return httpx.Timeout(left)

    def check(self, where: str) -> None:
        left = self.remaining()
        if left is not None and left <= 0:
            raise InferenceTimeoutError(f"{where}: timed out after {self.seconds:g} s")


def transport_error(error: httpx.HTTPError, where: str, seconds: float | None = None) -> InferenceError:
    url = ""
    try:
        url = f" ({error.request.method} {error.request.url.copy_with(query=None)})"
    except RuntimeError:  # an error raised before a request existed
        pass
    if isinstance(error, httpx.TimeoutException):
        budget = f" after {seconds:g} s" if seconds is not None else ""
        return InferenceTimeoutError(f"{where}: timed out{budget}{url}: {type(error).__name__}")
    if isinstance(error, httpx.TransportError):
        return InferenceConnectionError(f"{where}: connection failed{url}: {type(error).__name__}: {error}")
    return InferenceError(f"{where}: HTTP failure{url}: {type(error).__name__}: {error}")


def send(http: httpx.Client, request: httpx.Request, deadline: Deadline, where: str) -> httpx.Response:
    """Send and return the open response (status checked; error bodies read and turned into HTTPError)."""
    try:
        response = http.send(request, stream=True)
    except httpx.HTTPError as error:
        raise transport_error(error, where, deadline.seconds) from error
    if response.status_code >= 400:
        try:
            response.read()
        except httpx.HTTPError as error:
            raise transport_error(error, where, deadline.seconds) from error
        finally:
            response.close()
        raise error_from_response(response, response.content)
    return response


def read(response: httpx.Response, deadline: Deadline, where: str) -> bytes:
    try:
        chunks = []
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            deadline.check(where)
        return b"".join(chunks)
    except httpx.HTTPError as error:
        raise transport_error(error, where, deadline.seconds) from error
    finally:
        response.close()


async def asend(http: httpx.AsyncClient, request: httpx.Request, deadline: Deadline, where: str) -> httpx.Response:
    try:
        response = await http.send(request, stream=True)
    except httpx.HTTPError as error:
        raise transport_error(error, where, deadline.seconds) from error
    if response.status_code >= 400:
        try:
            await response.aread()
        except httpx.HTTPError as error:
            raise transport_error(error, where, deadline.seconds) from error
        finally:
            await response.aclose()
        raise error_from_response(response, response.content)
    return response


async def aread(response: httpx.Response, deadline: Deadline, where: str) -> bytes:
    try:
        chunks = []
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            deadline.check(where)
        return b"".join(chunks)
    except httpx.HTTPError as error:
        raise transport_error(error, where, deadline.seconds) from error
    finally:
        await response.aclose()
