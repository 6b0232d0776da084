"""The typed client against a real LiteLLM proxy. Its models (see conftest.litellm_models): mocks answered by LiteLLM
itself ("mock-chat" answers the alphabet, "mock-embed" one fixed vector, "mock-429" and "mock-500" fail), and "tiny",
which LiteLLM forwards to the llama.cpp server of the tiny alphabet model (LiteLLM's mocks ignore stop and
max_tokens; the real model does not). Sync and async."""

from __future__ import annotations

import time

import pytest

from inferlink import (
    AsyncInferenceClient,
    AuthenticationError,
    BadRequestError,
    InferenceClient,
    RateLimitError,
    ServerError,
)
from inferlink import _retry
from inferlink.types import TextGenerationOutput

from .checks import check_reply, finish_reasons, joined
from .conftest import ALPHABET, LiveServer

MESSAGES = [{"role": "user", "content": "Say the alphabet."}]
CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
LLAMA_DIM = 64


def client(live: LiveServer, *, max_retries: int = _retry.DEFAULT_MAX_RETRIES) -> InferenceClient:
    return InferenceClient(provider="litellm", base_url=live.base_url, token=live.api_key, timeout=30,
                           max_retries=max_retries)


def aclient(live: LiveServer, *, max_retries: int = _retry.DEFAULT_MAX_RETRIES) -> AsyncInferenceClient:
    return AsyncInferenceClient(provider="litellm", base_url=live.base_url, token=live.api_key, timeout=30,
                                max_retries=max_retries)


# chat completion


def test_chat_completion_openai_surface(litellm: LiveServer) -> None:
    with client(litellm) as c:
        reply = c.chat.completions.create(model="mock-chat", messages=MESSAGES)
    check_reply(reply, ALPHABET, "stop")
    assert reply.model == "mock-chat"


async def test_chat_completion_async(litellm: LiveServer) -> None:
    async with aclient(litellm) as c:
        mocked = await c.chat_completion(MESSAGES, model="mock-chat")
        proxied = await c.chat.completions.create(model="tiny", messages=MESSAGES)
    check_reply(mocked, ALPHABET, "stop")
    check_reply(proxied, ALPHABET, "stop")
    assert proxied.usage is not None and proxied.usage.completion_tokens == len(ALPHABET)


def test_chat_completion_stream(litellm: LiveServer) -> None:
    with client(litellm) as c:
        stream = c.chat_completion(MESSAGES, model="mock-chat", stream=True)
        mocked = list(stream)
        proxied = list(c.chat_completion(MESSAGES, model="tiny", stream=True,
                                         stream_options={"include_usage": True}))
    assert stream.closed
    assert joined(mocked) == ALPHABET
    assert finish_reasons(mocked) == ["stop"]
    assert joined(proxied) == ALPHABET
    assert finish_reasons(proxied) == ["stop"]
    assert proxied[-1].usage is not None  # stream_options.include_usage: a last chunk with the usage


async def test_chat_completion_stream_async(litellm: LiveServer) -> None:
    async with aclient(litellm) as c:
        stream = await c.chat.completions.create(model="mock-chat", messages=MESSAGES, stream=True)
        chunks = [chunk async for chunk in stream]
    assert stream.closed
    assert joined(chunks) == ALPHABET
    assert finish_reasons(chunks) == ["stop"]


def test_chat_completion_stop(litellm: LiveServer) -> None:
    with client(litellm) as c:
        reply = c.chat_completion(MESSAGES, model="tiny", stop=["f"])
        chunks = list(c.chat_completion(MESSAGES, model="tiny", stop=["f"], stream=True))
    assert reply.choices[0].message.content == "abcde"
    assert reply.choices[0].finish_reason == "stop"
    assert joined(chunks) == "abcde"


async def test_chat_completion_stop_async(litellm: LiveServer) -> None:
    async with aclient(litellm) as c:
        reply = await c.chat.completions.create(model="tiny", messages=MESSAGES, stop=["f"])
    assert reply.choices[0].message.content == "abcde"
    assert reply.choices[0].finish_reason == "stop"


def test_chat_completion_max_tokens(litellm: LiveServer) -> None:
    with client(litellm) as c:
        reply = c.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=3)
    check_reply(reply, "abc", "length")
    assert reply.usage is not None and reply.usage.completion_tokens == 3


async def test_chat_completion_max_tokens_async(litellm: LiveServer) -> None:
    async with aclient(litellm) as c:
        reply = await c.chat_completion(MESSAGES, model="tiny", max_tokens=3)
        chunks = [chunk async for chunk in await c.chat_completion(MESSAGES, model="tiny", max_tokens=4, stream=True)]
    check_reply(reply, "abc", "length")
    assert joined(chunks) == "abcd"
    assert finish_reasons(chunks) == ["length"]


# completions as text_generation


def test_text_generation(litellm: LiveServer) -> None:
    with client(litellm) as c:
        assert c.text_generation("hello", model="mock-chat") == ALPHABET
        assert c.text_generation("hello", model="tiny") == "pqrstuvwxyz"
        details = c.text_generation("hello", model="tiny", max_new_tokens=3, details=True)
    assert isinstance(details, TextGenerationOutput)
    assert details.generated_text == "pqr"
    assert details.details is not None
    assert details.details.finish_reason == "length"
    assert details.details.generated_tokens == 3


async def test_text_generation_async(litellm: LiveServer) -> None:
    async with aclient(litellm) as c:
        assert await c.text_generation("hello", model="tiny", max_new_tokens=3) == "pqr"
        assert await c.text_generation("hello", model="mock-chat") == ALPHABET


def test_text_generation_stream(litellm: LiveServer) -> None:
    with client(litellm) as c:
        proxied = list(c.text_generation("hello", model="tiny", stream=True))
        mocked = list(c.text_generation("hello", model="mock-chat", stream=True))
    assert "".join(proxied) == "pqrstuvwxyz"
    assert "".join(mocked) == ALPHABET


async def test_text_generation_stream_async(litellm: LiveServer) -> None:
    async with aclient(litellm) as c:
        detailed = [t async for t in await c.text_generation("t", model="tiny", stream=True, details=True)]
    assert "".join(t.token.text for t in detailed) == "uvwxyz"
    assert detailed[-1].details is not None
    assert detailed[-1].details.finish_reason == "stop"


# embeddings as feature_extraction


def test_feature_extraction(litellm: LiveServer) -> None:
    with client(litellm) as c:
        proxied = c.feature_extraction(["a", "hello world", "xyz"], model="tiny")
        mocked = c.feature_extraction("anything", model="mock-embed")
    assert [len(v) for v in proxied] == [LLAMA_DIM] * 3
    assert mocked == [[0.25, 0.5, 0.75]]


async def test_feature_extraction_async(litellm: LiveServer) -> None:
    async with aclient(litellm) as c:
        proxied = await c.feature_extraction(["one", "two"], model="tiny")
        mocked = await c.feature_extraction(["anything"], model="mock-embed")
    assert [len(v) for v in proxied] == [LLAMA_DIM] * 2
    assert mocked == [[0.25, 0.5, 0.75]]


# auth


def test_auth_failure_upstream(litellm: LiveServer) -> None:
    """LiteLLM's key for the server it forwards to is wrong: the server's 401 comes back as a 401."""
    before = litellm.requests(CHAT, 401)
    with client(litellm) as c:
        with pytest.raises(AuthenticationError) as caught:
            c.chat_completion(MESSAGES, model="tiny-bad-key")
    assert caught.value.status_code == 401
    assert caught.value.error_type == "authentication_error"
    assert caught.value.server_message is not None and "AuthenticationError" in caught.value.server_message
    assert litellm.wait_requests(CHAT, 401, before + 1) == before + 1  # not retried


async def test_auth_failure_upstream_async(litellm: LiveServer) -> None:
    async with aclient(litellm) as c:
        with pytest.raises(AuthenticationError) as caught:
            await c.chat_completion(MESSAGES, model="tiny-bad-key", stream=True)
    assert caught.value.status_code == 401


def test_wrong_proxy_key(litellm: LiveServer) -> None:
    """A key that is not the master key: without a database of virtual keys LiteLLM answers 400 no_db_connection
    (not 401); it is still a plain client error, raised at once."""
    before = litellm.requests(CHAT, 400)
    with InferenceClient(provider="litellm", base_url=litellm.base_url, token="sk-wrong") as c:
        with pytest.raises(BadRequestError) as caught:
            c.chat_completion(MESSAGES, model="mock-chat")
    assert caught.value.status_code == 400
    assert caught.value.error_type == "no_db_connection"
    assert "sk-wrong" not in str(caught.value)
    assert litellm.wait_requests(CHAT, 400, before + 1) == before + 1


async def test_wrong_proxy_key_async(litellm: LiveServer) -> None:
    async with AsyncInferenceClient(provider="litellm", base_url=litellm.base_url, api_key="sk-wrong") as c:
        with pytest.raises(BadRequestError) as caught:
            await c.feature_extraction("a", model="mock-embed")
    assert caught.value.error_type == "no_db_connection"


# server errors and retries


@pytest.mark.usefixtures("fast_retries")
def test_server_error_after_retries(litellm: LiveServer) -> None:
    before = litellm.requests(CHAT, 500)
    with client(litellm) as c:
        with pytest.raises(ServerError) as caught:
            c.chat_completion(MESSAGES, model="mock-500")
    assert caught.value.status_code == 500
    assert caught.value.server_message is not None and "mock internal server error" in caught.value.server_message
    assert litellm.wait_requests(CHAT, 500, before + 3) == before + 3  # max_retries=2: three attempts


@pytest.mark.usefixtures("fast_retries")
async def test_server_error_after_retries_async(litellm: LiveServer) -> None:
    before = litellm.requests(CHAT, 500)
    async with aclient(litellm, max_retries=0) as c:
        with pytest.raises(ServerError):
            await c.chat_completion(MESSAGES, model="mock-500")
    assert litellm.wait_requests(CHAT, 500, before + 1) == before + 1  # max_retries=0: one attempt


@pytest.mark.usefixtures("fast_retries")
def test_rate_limit_retried(litellm: LiveServer) -> None:
    before = litellm.requests(CHAT, 429)
    with client(litellm) as c:
        with pytest.raises(RateLimitError) as caught:
            c.chat_completion(MESSAGES, model="mock-429")
        assert litellm.wait_requests(CHAT, 429, before + 3) == before + 3  # the default: 2 retries
        with pytest.raises(RateLimitError):
            c.chat_completion(MESSAGES, model="mock-429", max_retries=4)  # per call, over the client's
        assert litellm.wait_requests(CHAT, 429, before + 8) == before + 8
        with pytest.raises(RateLimitError):
            c.chat_completion(MESSAGES, model="mock-429", stream=True)  # no Stream yet: retried too
        assert litellm.wait_requests(CHAT, 429, before + 11) == before + 11
    assert caught.value.status_code == 429
    assert caught.value.error_type == "throttling_error"


async def test_rate_limit_backoff_async(litellm: LiveServer) -> None:
    """The real backoff: 0.5 s then 1 s, each times a jitter factor in [0.75, 1]."""
    before = litellm.requests(CHAT, 429)
    async with aclient(litellm, max_retries=2) as c:
        started = time.monotonic()
        with pytest.raises(RateLimitError):
            await c.chat.completions.create(model="mock-429", messages=MESSAGES)
        elapsed = time.monotonic() - started
    assert litellm.wait_requests(CHAT, 429, before + 3) == before + 3
    low = 0.75 * (_retry.INITIAL_DELAY + 2 * _retry.INITIAL_DELAY)
    assert low <= elapsed < low / 0.75 + 5.0


async def test_rate_limit_not_past_deadline_async(litellm: LiveServer) -> None:
    """A retry whose wait would pass the call's timeout is not started: the 429 is raised at once."""
    before = litellm.requests(CHAT, 429)
    async with AsyncInferenceClient(provider="litellm", base_url=litellm.base_url, token=litellm.api_key,
                                    max_retries=5) as c:
        started = time.monotonic()
        with pytest.raises(RateLimitError):
            await c.chat_completion(MESSAGES, model="mock-429", timeout=0.3)
        elapsed = time.monotonic() - started
    assert elapsed < 0.3 + 0.5
    assert litellm.wait_requests(CHAT, 429, before + 1) == before + 1


# an error where a stream should start


def test_stream_fails_before_first_chunk(litellm: LiveServer) -> None:
    """LiteLLM's mock "error raised mid-stream" fails before its first chunk, so the proxy answers with a status (529)
    instead of starting the stream: a ServerError from the call itself; 529 is not a retried status."""
    before = litellm.requests(CHAT, 529)
    with client(litellm) as c:
        with pytest.raises(ServerError) as caught:
            c.chat_completion(MESSAGES, model="mock-stream-error", stream=True)
    assert caught.value.status_code == 529
    assert caught.value.server_message is not None and "mock error raised mid-stream" in caught.value.server_message
    assert litellm.wait_requests(CHAT, 529, before + 1) == before + 1
