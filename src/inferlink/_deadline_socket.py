"""A whole-call deadline for the sync client, enforced on every socket operation.

httpx's timeouts restart with each read, so a server that trickles a byte at a time can hold a sync call far past
its budget. This network backend for httpcore bounds every connect, read and write by what is left of the deadline
that the current thread's call has set (the async client uses the event loop's own timeout instead)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import httpcore

_current = threading.local()


class bounded:
    """`with bounded(end):` bounds this thread's socket operations by the monotonic time `end` (None: no bound)."""

    __slots__ = ("_end", "_previous")

    def __init__(self, end: float | None) -> None:
        self._end = end

    def __enter__(self) -> None:
        self._previous = getattr(_current, "end", None)
        _current.end = self._end

    def __exit__(self, *exc: object) -> None:
        _current.end = self._previous


def _clamp(timeout: float | None) -> float | None:
    end: float | None = getattr(_current, "end", None)
    if end is None:
        return timeout
    left = max(end - time.monotonic(), 1e-3)  # an expired budget still lets a read that has data finish
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
