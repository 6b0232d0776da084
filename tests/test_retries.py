"""Retry decisions (pure) and retries through the clients, sync and async."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from inferlink import (
    AsyncInferenceClient,
    BadRequestError,
    InferenceClient,
    InferenceConnectionError,
    InferenceTimeoutError,
    RateLimitError,
    ServerError,
    _retry,
)
from inferlink._transport import Deadline

URL = "https://router.huggingface.co/hf-inference/models/org/m"
OK = [{"label": "POSITIVE", "score": 0.9}]
TOKEN = "hf_CANARY_retry_token"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record backoff waits instead of sleeping them."""
    waits: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(time, "sleep", waits.append)
    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
    return waits


async def classify(mode: str, **options: Any) -> Any:
    if mode == "sync":
        with InferenceClient(model="org/m", token=TOKEN, **options) as client:
            return client.text_classification("x")
    async with AsyncInferenceClient(model="org/m", token=TOKEN, **options) as aclient:
        return await aclient.text_classification("x")


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# --- pure decisions --------------------------------------------------------------------------------------------------

def test_retry_after_forms() -> None:
    assert _retry.retry_after(httpx.Headers({"retry-after": "3"})) == 3.0
    assert _retry.retry_after(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    assert _retry.retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    future = email.utils.formatdate(time.time() + 5, usegmt=True)
    wait = _retry.retry_after(httpx.Headers({"retry-after": future}))
    assert wait is not None and 3.5 < wait <= 5.0
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert _retry.retry_after(httpx.Headers({"retry-after": past})) == 0.0
    assert _retry.retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert _retry.retry_after(httpx.Headers({})) is None


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    for retry in range(8):
        full = min(_retry.MAX_DELAY, _retry.INITIAL_DELAY * 2**retry)
        for _ in range(50):
            assert full * (1 - _retry.JITTER) <= _retry.backoff(retry) <= full
    assert len({_retry.backoff(1) for _ in range(20)}) > 1


def test_no_retry_past_the_deadline() -> None:
    error = InferenceConnectionError("reset")
    assert _retry.delay(error, 0, 2, Deadline(None)) is not None
    assert _retry.delay(error, 2, 2, Deadline(None)) is None
    assert _retry.delay(error, 0, 2, Deadline(0.1)) is None  # the wait would outlast the budget


# --- through the clients ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_status_then_success(mode: str, status: int, httpx_mock: HTTPXMock,
                                             sleeps: list[float]) -> None:
    httpx_mock.add_response(url=URL, status_code=status, json={"error": "busy"})
    httpx_mock.add_response(url=URL, json=OK)
    result = await classify(mode)
    assert result[0].label == "POSITIVE"
    assert len(httpx_mock.get_requests()) == 2
    assert len(sleeps) == 1 and 0 < sleeps[0] <= _retry.INITIAL_DELAY


async def test_retry_after_is_honoured(mode: str, httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    httpx_mock.add_response(url=URL, status_code=429, headers={"retry-after": "2"}, json={"error": "slow"})
    httpx_mock.add_response(url=URL, status_code=503, headers={"retry-after-ms": "1500"}, json={"error": "busy"})
    httpx_mock.add_response(url=URL, json=OK)
    await classify(mode)
    assert sleeps == [2.0, 1.5]


async def test_gives_up_after_max_retries(mode: str, httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    for _ in range(4):
        httpx_mock.add_response(url=URL, status_code=429, json={"error": "slow down"})
    with pytest.raises(RateLimitError) as info:
        await classify(mode, max_retries=3)
    assert info.value.server_message == "slow down"
    assert len(httpx_mock.get_requests()) == 4
    assert len(sleeps) == 3 and sleeps[0] < sleeps[1] < sleeps[2]


async def test_per_call_max_retries_wins(mode: str, httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    httpx_mock.add_response(url=URL, status_code=500, json={"error": "boom"})
    with pytest.raises(ServerError):
        if mode == "sync":
            with InferenceClient(model="org/m", max_retries=5) as client:
                client.text_classification("x", max_retries=0)
        else:
            async with AsyncInferenceClient(model="org/m", max_retries=5) as aclient:
                await aclient.text_classification("x", max_retries=0)
    assert len(httpx_mock.get_requests()) == 1 and sleeps == []


async def test_client_errors_are_not_retried(mode: str, httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    httpx_mock.add_response(url=URL, status_code=400, json={"error": "bad"})
    with pytest.raises(BadRequestError):
        await classify(mode)
    assert len(httpx_mock.get_requests()) == 1 and sleeps == []


async def test_connection_errors_are_retried(mode: str, httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=URL)
    httpx_mock.add_exception(httpx.RemoteProtocolError("reset"), url=URL)
    httpx_mock.add_response(url=URL, json=OK)
    assert (await classify(mode))[0].score == 0.9
    assert len(sleeps) == 2


async def test_retry_after_past_the_deadline_fails_at_once(mode: str, httpx_mock: HTTPXMock,
                                                          sleeps: list[float]) -> None:
    httpx_mock.add_response(url=URL, status_code=503, headers={"retry-after": "30"}, json={"error": "later"})
    with pytest.raises(ServerError):
        await classify(mode, timeout=5)
    assert sleeps == [] and len(httpx_mock.get_requests()) == 1


async def test_timeouts_with_budget_left_are_retried(mode: str, httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    httpx_mock.add_exception(httpx.ConnectTimeout("slow connect"), url=URL)
    httpx_mock.add_response(url=URL, json=OK)
    await classify(mode, phase_timeouts=httpx.Timeout(1.0), timeout=30)
    request = httpx_mock.get_requests()[-1]
    assert all(value is not None and value <= 1.0 for value in request.extensions["timeout"].values())


async def test_exhausted_timeouts_raise_timeout(mode: str, httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    for _ in range(3):
        httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=URL)
    with pytest.raises(InferenceTimeoutError):
        await classify(mode)
    assert len(httpx_mock.get_requests()) == 3


async def test_retries_are_logged_without_secrets(mode: str, httpx_mock: HTTPXMock, sleeps: list[float],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    httpx_mock.add_response(url=URL, status_code=503, json={"error": "busy"})
    httpx_mock.add_response(url=URL, json=OK)
    with caplog.at_level(logging.DEBUG, logger="inferlink"):
        await classify(mode)
    messages = [r.getMessage() for r in caplog.records if r.name == "inferlink"]
    assert any("text_classification()" in m and "503" in m and "retrying" in m for m in messages)
    assert all(TOKEN not in m for m in caplog.text.splitlines())


def test_a_stream_is_not_retried_once_it_started(httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    chunk = (b'data: {"id":"1","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'
             b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n')
    httpx_mock.add_response(url=URL + "/v1/chat/completions", content=chunk,
                            headers={"content-type": "text/event-stream"})
    from inferlink import StreamError
    with InferenceClient(model="org/m") as client:
        stream = client.chat_completion([{"role": "user", "content": "hi"}], stream=True)
        with pytest.raises(StreamError):
            list(stream)
    assert len(httpx_mock.get_requests()) == 1 and sleeps == []
