"""The fault battery, defined once: each case names a fault of tests/faults/server.py, how the client calls it, and
the outcome it must have. tests/test_faults.py asserts every case sync and async; `python -m tests.faults.report`
prints them as a table.

Outcomes:
  "ok"       the call returns the normal answer (after the number of attempts the server must have seen; with
             no server, as for a refused connection, attempts are the retries the SDK logged plus one);
  "error"    the call raises exactly `error`, whose message contains every string of `message`;
  "timeout"  the call raises InferenceTimeoutError no later than `deadline` + MARGIN seconds (and not before
             0.9 * `deadline`).
In every case, whatever is raised must be an inferlink.InferenceError: no raw httpx, json or pydantic exception.

Settings of the transport API (max_retries, stream_idle_timeout, phase_timeouts) are passed through `client` and
`call` mappings, so that this file type-checks whichever version of the SDK is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal, Mapping

import httpx

from inferlink import (
    AsyncInferenceClient,
    BadRequestError,
    InferenceClient,
    InferenceConnectionError,
    InferenceError,
    InferenceTimeoutError,
    JobFailedError,
    NotFoundError,
    RateLimitError,
    ResponseError,
    ServerError,
    StreamError,
    _retry,
)

from inferlink.providers import register_provider

from .server import CHAT_TEXT, EMBEDDING_WIDTH, JOB_ERROR, JOB_OUTPUT, STREAM_PIECES, FaultServer

MARGIN = 1.0  # seconds a timeout may overrun its deadline
FAST_BACKOFF = 0.01  # inferlink._retry.INITIAL_DELAY during the battery
MESSAGES = [{"role": "user", "content": "Say hello"}]
BIG_ROWS = 5500  # x 1024 floats: a 50 MB JSON embedding response
BIG_CHUNKS = 100_000  # chunks in the long stream (16 MB of SSE)

POLL = 0.05  # seconds between two polls of a job
# Jobs go to a provider registered like any user's: Replicate-style predictions, its output downloaded.
JOBS = register_provider("fault-jobs", base_url="http://127.0.0.1", replace=True, routes={
    "text-to-video": {"path": "/jobs", "dialect": "replicate-prompt", "flow": "replicate-prediction"}})

Task = Literal["labels", "chat", "stream", "embedding", "job"]
Kind = Literal["ok", "error", "timeout"]
Mode = Literal["sync", "async"]


@dataclass(frozen=True)
class Case:
    name: str
    fault: str  # a fault of server.FAULTS, "ok" (the normal answer) or "refused" (a port nobody listens on)
    task: Task  # labels: text_classification; chat / stream: chat_completion; embedding: feature_extraction;
    # job: text_to_video on a provider whose answer is a job to poll (every request of the job is an attempt)
    kind: Kind
    expected: str  # the expected outcome, in words
    params: Mapping[str, str | int | float] = field(default_factory=dict)  # the fault's query parameters
    error: type[InferenceError] | None = None  # kind "error": the exact class
    message: tuple[str, ...] = ()  # kind "error"/"timeout": substrings of str(error) (case-insensitive)
    attrs: Mapping[str, Any] = field(default_factory=dict)  # attributes the error must have
    attempts: int | None = None  # requests the server must have seen (None: not checked)
    timeout: float | None = 10.0  # the client's timeout
    deadline: float | None = None  # kind "timeout": the bound that must fire (default: timeout)
    at_least: float | None = None  # elapsed seconds the call must take at least (a honoured Retry-After)
    at_most: float | None = None  # elapsed seconds the call may take at most
    chunks: int | None = None  # stream chunks the caller must have received (before the error, or all)
    client: Mapping[str, Any] = field(default_factory=dict)  # more constructor arguments
    call: Mapping[str, Any] = field(default_factory=dict)  # more per-call arguments

    @property
    def bound(self) -> float | None:
        return self.deadline if self.deadline is not None else self.timeout


def ok(name: str, fault: str, task: Task, expected: str, *, attempts: int = 1, **more: Any) -> Case:
    return Case(name, fault, task, "ok", expected, attempts=attempts, **more)


def fails(name: str, fault: str, task: Task, error: type[InferenceError], expected: str, *message: str,
          **more: Any) -> Case:
    return Case(name, fault, task, "error", expected, error=error, message=message, **more)


def times_out(name: str, fault: str, task: Task, expected: str, **more: Any) -> Case:
    more.setdefault("message", ("timed out",))
    return Case(name, fault, task, "timeout", expected, error=InferenceTimeoutError, **more)


CASES: list[Case] = [
    # --- the normal answers ---------------------------------------------------------------------------------------
    ok("ok_labels", "ok", "labels", "ok, 1 attempt"),
    ok("ok_chat", "ok", "chat", "ok, 1 attempt"),
    ok("ok_stream", "ok", "stream", "ok, 5 chunks, 1 attempt", chunks=len(STREAM_PIECES)),
    # --- connections ----------------------------------------------------------------------------------------------
    fails("refused", "refused", "labels", InferenceConnectionError,
          "InferenceConnectionError naming the refusal, after 3 quick attempts (counted in the retry log)",
          "refused", attempts=3, at_most=2.0),
    ok("close_then_ok", "close", "labels", "closed without a response once: retried, ok on attempt 2",
       attempts=2, params={"fail": 1}),
    fails("close_always", "close", "labels", InferenceConnectionError,
          "InferenceConnectionError naming the disconnect, after 3 attempts", "disconnected", attempts=3),
    ok("reset_headers_then_ok", "reset_headers", "labels", "reset during headers once: retried, ok on attempt 2",
       attempts=2, params={"fail": 1}),
    fails("reset_headers_always", "reset_headers", "labels", InferenceConnectionError,
          "InferenceConnectionError naming the reset, after 3 attempts", "reset", attempts=3),
    ok("reset_body_then_ok", "reset_body", "labels", "reset during the body once: retried, ok on attempt 2",
       attempts=2, params={"fail": 1}),
    fails("reset_body_always", "reset_body", "chat", InferenceConnectionError,
          "InferenceConnectionError naming the reset, after 3 attempts", "reset", attempts=3),
    fails("short_body", "short_body", "labels", InferenceConnectionError,
          "InferenceConnectionError naming the incomplete body, after 3 attempts", "complete message body",
          attempts=3),
    # --- timeouts -------------------------------------------------------------------------------------------------
    times_out("stall_headers", "stall_headers", "labels", "InferenceTimeoutError within timeout (0.5 s) + 1 s",
              timeout=0.5),
    ok("stall_headers_then_ok", "stall_headers", "labels",
       "read phase (0.5 s) times out once, budget remains: retried, ok on attempt 2", attempts=2,
       params={"fail": 1}, timeout=5.0, at_least=0.45,
       client={"phase_timeouts": httpx.Timeout(5.0, read=0.5)}),
    times_out("trickle_headers", "trickle_headers", "labels",
              "head 1 byte / 50 ms for 4 s: InferenceTimeoutError within timeout (0.5 s) + 1 s", timeout=0.5),
    times_out("trickle_body", "trickle_body", "labels",
              "body 1 byte / 100 ms: InferenceTimeoutError within timeout (0.5 s) + 1 s", timeout=0.5),
    times_out("trickle_body_slow", "trickle_body", "labels",
              "body 1 byte / 1.4 s: InferenceTimeoutError within timeout (1.5 s) + 1 s", timeout=1.5,
              params={"gap": 1.4}),
    times_out("stall_stream", "stall_stream", "stream",
              "2 chunks then silence: InferenceTimeoutError within timeout (0.5 s, the idle default) + 1 s, "
              "1 attempt", timeout=0.5, chunks=2, attempts=1),
    times_out("stall_stream_idle", "stall_stream", "stream",
              "2 chunks then silence: InferenceTimeoutError within stream_idle_timeout (0.5 s) + 1 s, 1 attempt",
              timeout=10.0, deadline=0.5, chunks=2, attempts=1, client={"stream_idle_timeout": 0.5}),
    # --- bodies ---------------------------------------------------------------------------------------------------
    fails("malformed_json", "malformed_json", "labels", ResponseError, "ResponseError naming invalid JSON",
          "invalid JSON", attempts=1),
    fails("truncated_json", "truncated_json", "labels", ResponseError, "ResponseError naming invalid JSON",
          "invalid JSON", attempts=1),
    fails("wrong_shape", "wrong_shape", "labels", ResponseError,
          "ResponseError: not what the task returns", "not what this task returns", attempts=1),
    ok("text_plain_json", "text_plain_json", "labels", "JSON labelled text/plain is parsed: ok, 1 attempt"),
    fails("html_200", "html_200", "chat", ResponseError, "ResponseError showing the HTML it got", "<html",
          attempts=1),
    ok("gzip", "gzip", "labels", "gzip-encoded JSON: ok, 1 attempt"),
    fails("bad_gzip", "bad_gzip", "labels", ResponseError,
          "ResponseError naming the undecodable body, 1 attempt", "decod", attempts=1),
    fails("bad_chunk", "bad_chunk", "labels", InferenceConnectionError,
          "InferenceConnectionError naming the chunk framing, after 3 attempts", "chunk", attempts=3),
    # --- statuses -------------------------------------------------------------------------------------------------
    fails("html_502", "status", "labels", ServerError,
          "ServerError 502 after 3 attempts, no HTML in server_message", "502", attempts=3,
          params={"codes": 502, "body": "html"}, attrs={"status_code": 502, "server_message": None}),
    fails("html_404", "status", "labels", NotFoundError, "NotFoundError at once (1 attempt)", "404", attempts=1,
          params={"codes": 404, "body": "html"}, attrs={"status_code": 404, "server_message": None}),
    fails("json_400", "status", "labels", BadRequestError, "BadRequestError with the server's message, 1 attempt",
          "inputs must be a string", attempts=1, params={"codes": 400},
          attrs={"status_code": 400, "server_message": "inputs must be a string"}),
    ok("429_retry_after_s", "status", "labels", "429 Retry-After: 1 once: waits ~1 s, ok on attempt 2",
       attempts=2, at_least=0.75, params={"codes": 429, "retry_after": 1, "fail": 1}),
    ok("429_retry_after_date", "status", "labels",
       "429 Retry-After: <HTTP date 1-2 s ahead> once: waits, ok on attempt 2", attempts=2, at_least=0.75,
       params={"codes": 429, "retry_after": "date:2", "fail": 1}),
    ok("503_retry_after_ms", "status", "labels", "503 retry-after-ms: 300 twice: waits ~0.6 s, ok on attempt 3",
       attempts=3, at_least=0.45, params={"codes": 503, "retry_after_ms": 300, "fail": 2}),
    ok("408_500_502_504", "status", "chat", "408, 500, 502, 504 then ok with max_retries=4: ok on attempt 5",
       attempts=5, params={"codes": "408,500,502,504", "fail": 4}, client={"max_retries": 4}),
    fails("503_exhausted", "status", "labels", ServerError,
          "ServerError 503 with the server's message after 3 attempts", "503", "overloaded", attempts=3,
          params={"codes": 503, "retry_after": 0}, attrs={"status_code": 503, "request_id": "req-3"}),
    fails("429_exhausted", "status", "chat", RateLimitError, "RateLimitError after 3 attempts", "429",
          "rate limit", attempts=3, params={"codes": 429}),
    fails("429_after_deadline", "status", "labels", RateLimitError,
          "Retry-After: 30 > the 3 s deadline: RateLimitError at once, 1 attempt", "429", attempts=1,
          at_most=1.0, timeout=3.0, params={"codes": 429, "retry_after": 30}),
    fails("503_max_retries_0", "status", "labels", ServerError, "per-call max_retries=0: ServerError, 1 attempt",
          "503", attempts=1, params={"codes": 503}, call={"max_retries": 0}),
    ok("stream_503_then_ok", "status", "stream", "503 before the stream's headers: retried, 5 chunks on attempt 2",
       attempts=2, chunks=len(STREAM_PIECES), params={"codes": 503, "fail": 1}),
    # --- streams --------------------------------------------------------------------------------------------------
    fails("stream_error_openai", "stream_error", "stream", StreamError,
          "StreamError with the server's message after 2 chunks, 1 attempt", "overloaded", chunks=2, attempts=1,
          params={"style": "openai"}, attrs={"error_type": "server_error"}),
    fails("stream_error_tgi", "stream_error", "stream", StreamError,
          "StreamError with the server's message after 2 chunks, 1 attempt", "overloaded", chunks=2, attempts=1,
          params={"style": "tgi"}, attrs={"error_type": "overloaded"}),
    fails("stream_error_event", "stream_error", "stream", StreamError,
          "`event: error`: StreamError with its text after 2 chunks, 1 attempt", "overloaded", chunks=2,
          attempts=1, params={"style": "event"}),
    fails("reset_stream", "reset_stream", "stream", InferenceConnectionError,
          "InferenceConnectionError naming the reset after 2 chunks, never retried (1 attempt)", "reset", chunks=2,
          attempts=1),
    fails("bad_chunk_stream", "bad_chunk_stream", "stream", InferenceConnectionError,
          "InferenceConnectionError naming the chunk framing after 2 chunks, 1 attempt", "chunk", chunks=2,
          attempts=1),
    # --- size -----------------------------------------------------------------------------------------------------
    ok("big_json", "ok", "embedding", f"50 MB of embeddings ({BIG_ROWS} x {EMBEDDING_WIDTH}): ok, 1 attempt",
       params={"answer": "embedding", "rows": BIG_ROWS}, timeout=30.0),
    ok("big_stream", "ok", "stream", f"{BIG_CHUNKS:,} chunks: ok, all received, 1 attempt",
       params={"chunks": BIG_CHUNKS}, chunks=BIG_CHUNKS, timeout=30.0),
    # --- jobs (submitted, polled, output downloaded) -----------------------------------------------------------------
    ok("job_ok", "job", "job", "submitted, polled twice, output downloaded: ok, 4 requests", attempts=4),
    fails("job_failed", "job", "job", JobFailedError,
          "JobFailedError with the provider's message after 3 requests", "out of memory", attempts=3,
          params={"mode": "failed"}, attrs={"provider": "fault-jobs", "provider_message": JOB_ERROR}),
    times_out("job_never_done", "job", "job",
              "still processing at the deadline: InferenceTimeoutError naming the job within timeout (1 s) + 1 s",
              timeout=1.0, params={"mode": "never"}, message=("timed out", "still processing")),
    times_out("job_stall_poll", "job", "job", "a poll unanswered: InferenceTimeoutError within timeout (1 s) + 1 s",
              timeout=1.0, params={"mode": "stall_poll"}, message=("timed out", "fault-jobs job")),
    ok("job_poll_503_then_ok", "job", "job", "the first poll is a 503: retried, ok, 4 requests", attempts=4,
       params={"mode": "poll_503", "polls": 1}),
    fails("job_poll_reset_always", "job", "job", InferenceConnectionError,
          "every poll reset: InferenceConnectionError after 3 polls, not resubmitted (4 requests)", "reset",
          attempts=4, params={"mode": "reset_poll"}),
    times_out("job_trickle_download", "job", "job",
              "output 1 byte / 100 ms: InferenceTimeoutError within timeout (1 s) + 1 s", timeout=1.0,
              params={"mode": "trickle_download"}, message=("timed out", "downloaded")),
    fails("job_download_404", "job", "job", NotFoundError, "the output is gone: NotFoundError, 3 requests", "404",
          attempts=3, params={"mode": "download_404", "polls": 1}),
]


@dataclass
class Outcome:
    mode: Mode
    key: str
    elapsed: float = 0.0
    attempts: int | None = None
    value: Any = field(default=None, repr=False)  # may be 50 MB of floats: never in a repr
    error: BaseException | None = None
    chunks: int = 0

    def summary(self) -> str:
        parts = ["ok" if self.error is None else type(self.error).__name__]
        if self.chunks:
            parts.append(f"{self.chunks} chunks")
        if self.attempts is not None:
            parts.append(f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        return ", ".join(parts)


def fast_backoff() -> float:
    """Make retry backoff short for the battery; returns the old inferlink._retry.INITIAL_DELAY."""
    old = _retry.INITIAL_DELAY
    _retry.INITIAL_DELAY = FAST_BACKOFF
    return old


class _RetryLog(logging.Handler):
    """Counts the retries the SDK logs (DEBUG, logger "inferlink"): the attempts of a call no server saw."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retry" in record.getMessage().lower():
            self.retries += 1


@contextlib.contextmanager
def _retry_log() -> Iterator[_RetryLog]:
    logger = logging.getLogger("inferlink")
    handler, level = _RetryLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _attempts(case: Case, server: FaultServer, key: str, log: _RetryLog) -> int:
    """Attempts the server saw; for a refused connection (no server), the retries the SDK logged plus one."""
    return log.retries + 1 if case.fault == "refused" else server.attempts(key)


def base_url(case: Case, server: FaultServer, key: str) -> str:
    if case.fault == "refused":
        return server.refused_url()
    return server.url(case.fault, key, dict(case.params))


def _jobs(case: Case) -> dict[str, Any]:
    return {"provider": JOBS, "poll_interval": POLL} if case.task == "job" else {}


def new_key(case: Case, mode: Mode) -> str:
    return f"{case.name}-{mode}-{uuid.uuid4().hex[:8]}"


def run_sync(case: Case, server: FaultServer) -> Outcome:
    outcome = Outcome("sync", new_key(case, "sync"))
    with _retry_log() as log:
        start = time.monotonic()
        try:
            with InferenceClient(base_url=base_url(case, server, outcome.key), timeout=case.timeout,
                                 **_jobs(case), **case.client) as client:
                start = time.monotonic()
                if case.task == "labels":
                    outcome.value = client.text_classification("I love it", **case.call)
                elif case.task == "embedding":
                    outcome.value = client.feature_extraction(["a", "b"], **case.call)
                elif case.task == "chat":
                    outcome.value = client.chat_completion(MESSAGES, **case.call)
                elif case.task == "job":
                    outcome.value = client.text_to_video("a fox in the snow", **case.call)
                else:
                    for chunk in client.chat_completion(MESSAGES, stream=True, **case.call):
                        outcome.chunks += 1
                        outcome.value = chunk
        except Exception as error:  # noqa: BLE001 -- whatever escapes is the outcome
            outcome.error = error
        outcome.elapsed = time.monotonic() - start
    outcome.attempts = _attempts(case, server, outcome.key, log)
    return outcome


async def run_async(case: Case, server: FaultServer) -> Outcome:
    outcome = Outcome("async", new_key(case, "async"))
    with _retry_log() as log:
        start = time.monotonic()
        try:
            async with AsyncInferenceClient(base_url=base_url(case, server, outcome.key), timeout=case.timeout,
                                            **_jobs(case), **case.client) as client:
                start = time.monotonic()
                if case.task == "labels":
                    outcome.value = await client.text_classification("I love it", **case.call)
                elif case.task == "embedding":
                    outcome.value = await client.feature_extraction(["a", "b"], **case.call)
                elif case.task == "chat":
                    outcome.value = await client.chat_completion(MESSAGES, **case.call)
                elif case.task == "job":
                    outcome.value = await client.text_to_video("a fox in the snow", **case.call)
                else:
                    async for chunk in await client.chat_completion(MESSAGES, stream=True, **case.call):
                        outcome.chunks += 1
                        outcome.value = chunk
        except (Exception, asyncio.CancelledError) as error:  # noqa: BLE001 -- whatever escapes is the outcome
            outcome.error = error
        outcome.elapsed = time.monotonic() - start
    outcome.attempts = _attempts(case, server, outcome.key, log)
    return outcome


_URL = re.compile(r"https?://\S+")


def _value_problems(case: Case, value: Any, chunks: int) -> list[str]:
    if case.task == "labels":
        labels = [(getattr(v, "label", None), getattr(v, "score", None)) for v in value or []]
        if labels[:1] != [("POSITIVE", 0.98)]:
            return [f"expected the labels answer, got {value!r:.200}"]
    elif case.task == "chat":
        content = value.choices[0].message.content if getattr(value, "choices", None) else None
        if content != CHAT_TEXT:
            return [f"expected the chat answer, got {value!r:.200}"]
    elif case.task == "embedding":
        rows = case.params.get("rows", 4)
        if not (isinstance(value, list) and len(value) == rows and len(value[0]) == EMBEDDING_WIDTH
                and value[-1][-1] == float("%.6f" % ((EMBEDDING_WIDTH - 1) / EMBEDDING_WIDTH))):
            return [f"expected {rows} embeddings of {EMBEDDING_WIDTH} floats"]
    elif case.task == "job":
        if value != JOB_OUTPUT:
            return [f"expected the job's output, got {value!r:.100}"]
    elif case.chunks is None and chunks == 0:
        return ["expected stream chunks, got none"]
    return []


def problems(case: Case, outcome: Outcome) -> list[str]:
    """What differs from the expected outcome (empty: the case passes)."""
    found: list[str] = []
    error = outcome.error
    if error is not None and not isinstance(error, InferenceError):
        found.append(f"raw {type(error).__module__}.{type(error).__name__} escaped: {error}")
    if case.kind == "ok":
        if error is not None:
            found.append(f"expected success, got {type(error).__name__}: {error}")
        else:
            found += _value_problems(case, outcome.value, outcome.chunks)
    else:
        assert case.error is not None
        if error is None:
            found.append(f"expected {case.error.__name__}, the call succeeded")
        elif type(error) is not case.error:
            found.append(f"expected {case.error.__name__}, got {type(error).__name__}: {error}")
        else:
            text = _URL.sub("<url>", str(error)).lower()  # the URL names the fault: it must not count
            for part in case.message:
                if part.lower() not in text:
                    found.append(f"message does not name {part!r}: {error}")
            for name, want in case.attrs.items():
                got = getattr(error, name, "<missing>")
                if got != want:
                    found.append(f"{name} is {got!r}, expected {want!r}")
    if case.kind == "timeout" and case.bound is not None:
        if outcome.elapsed > case.bound + MARGIN:
            found.append(f"took {outcome.elapsed:.2f} s, more than {case.bound:g} s + {MARGIN:g} s")
        if outcome.elapsed < 0.9 * case.bound:
            found.append(f"took {outcome.elapsed:.2f} s, less than the {case.bound:g} s deadline")
    if case.at_most is not None and outcome.elapsed > case.at_most:
        found.append(f"took {outcome.elapsed:.2f} s, more than {case.at_most:g} s")
    if case.at_least is not None and outcome.elapsed < case.at_least:
        found.append(f"took {outcome.elapsed:.2f} s, less than {case.at_least:g} s (the server's wait)")
    if case.attempts is not None and outcome.attempts != case.attempts:
        found.append(f"the server saw {outcome.attempts} attempts, expected {case.attempts}")
    if case.chunks is not None and outcome.chunks != case.chunks:
        found.append(f"{outcome.chunks} chunks received, expected {case.chunks}")
    return found
