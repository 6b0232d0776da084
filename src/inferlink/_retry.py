"""When to try a failed attempt again, and after how long. Pure decisions shared by the sync and async transports.

Backoff: INITIAL_DELAY * 2.0**retry, capped at MAX_DELAY, times a random factor in [1 - JITTER, 1] so that clients that
failed together do not retry together. A server's Retry-After (seconds or an HTTP date) or retry-after-ms wins when
present, up to MAX_RETRY_AFTER. No retry starts when its wait would end past the call's deadline."""

from __future__ import annotations

import email.utils
import random
import time
from typing import TYPE_CHECKING

from .errors import HTTPError, InferenceConnectionError, InferenceError, InferenceTimeoutError

if TYPE_CHECKING:
    import httpx

    from ._transport import Deadline

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
JITTER = 0.25
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_MAX_RETRIES = 2


def retry_after(headers: httpx.Headers) -> float | None:
    """The wait a server asked for, in seconds, or None."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff(retry: int) -> float:
    return min(MAX_DELAY, INITIAL_DELAY * 2.0**retry) * (1 - JITTER * random.random())


def delay(error: InferenceError, retry: int, max_retries: int, deadline: Deadline) -> float | None:
    """Seconds to wait before the next attempt, or None when `error` is final."""
    if retry >= max_retries:
        return None
    wait: float | None
    if isinstance(error, HTTPError):
        if error.status_code not in RETRY_STATUSES:
            return None
        wait = retry_after(error.response.headers)
        if wait is not None and wait > MAX_RETRY_AFTER:
            return None
    elif isinstance(error, (InferenceConnectionError, InferenceTimeoutError)):
        wait = None
    else:
        return None
    wait = backoff(retry) if wait is None else wait
    left = deadline.remaining()
    if left is not None and left <= wait:
        return None
    return wait
