"""The typed client against a real llama.cpp server (llama-cpp-python) serving the tiny alphabet model: whatever the
prompt, a chat answers "abcdefghijklmnopqrstuvwxyz" and stops; a completion continues the alphabet from the prompt's
last letter ("hello" -> "pqrstuvwxyz"); embeddings have 64 dimensions. Sync and async."""

from __future__ import annotations

import pytest

from inferlink import AsyncInferenceClient, AuthenticationError, InferenceClient
from inferlink.types import ChatCompletionOutput, TextGenerationOutput, TextGenerationStreamOutput

from .checks import check_reply as shared_check_reply
from .checks import finish_reasons, joined
from .conftest import ALPHABET, LiveServer

MESSAGES = [{"role": "user", "content": "Say the alphabet."}]
DIM = 64
CHAT = "/v1/chat/completions"


def client(live: LiveServer) -> InferenceClient:
    return InferenceClient(provider="llama.cpp", base_url=live.base_url, token=live.api_key, timeout=30)


def aclient(live: LiveServer) -> AsyncInferenceClient:
    return AsyncInferenceClient(provider="llama.cpp", base_url=live.base_url, token=live.api_key, timeout=30)


def check_reply(reply: ChatCompletionOutput, content: str, finish_reason: str) -> None:
    shared_check_reply(reply, content, finish_reason)
    assert len(reply.choices) == 1
    assert reply.usage is not None and reply.usage.completion_tokens == len(content)  # one token per letter


# chat completion


def test_chat_completion_openai_surface(llama: LiveServer) -> None:
    with client(llama) as c:
        reply = c.chat.completions.create(model="tiny", messages=MESSAGES)
    check_reply(reply, ALPHABET, "stop")


async def test_chat_completion_async(llama: LiveServer) -> None:
    async with aclient(llama) as c:
        reply = await c.chat_completion(MESSAGES)
        again = await c.chat.completions.create(model="tiny", messages=MESSAGES, temperature=1.5, seed=7)
    check_reply(reply, ALPHABET, "stop")
    check_reply(again, ALPHABET, "stop")  # the model is deterministic at any temperature and seed


def test_chat_completion_stream(llama: LiveServer) -> None:
    with client(llama) as c:
        stream = c.chat_completion(MESSAGES, stream=True)
        chunks = list(stream)
    assert stream.closed
    assert joined(chunks) == ALPHABET
    assert finish_reasons(chunks) == ["stop"]
    assert sum(1 for ch in chunks if ch.choices and ch.choices[0].delta.content) == len(ALPHABET)  # token by token


async def test_chat_completion_stream_async(llama: LiveServer) -> None:
    async with aclient(llama) as c:
        stream = await c.chat.completions.create(model="tiny", messages=MESSAGES, stream=True)
        chunks = [chunk async for chunk in stream]
    assert stream.closed
    assert joined(chunks) == ALPHABET
    assert finish_reasons(chunks) == ["stop"]


def test_chat_completion_stream_break_closes(llama: LiveServer) -> None:
    with client(llama) as c:
        stream = c.chat_completion(MESSAGES, stream=True)
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content == "c":
                break
        stream.close()
        assert stream.closed
        assert c.chat_completion(MESSAGES, max_tokens=2).choices[0].message.content == "ab"  # the pool still works


def test_chat_completion_stop(llama: LiveServer) -> None:
    with client(llama) as c:
        reply = c.chat_completion(MESSAGES, stop=["f"])
    assert reply.choices[0].message.content == "abcde"
    assert reply.choices[0].finish_reason == "stop"


async def test_chat_completion_stop_async(llama: LiveServer) -> None:
    async with aclient(llama) as c:
        reply = await c.chat_completion(MESSAGES, stop=["f"])
        chunks = [chunk async for chunk in await c.chat_completion(MESSAGES, stop=["k"], stream=True)]
    assert reply.choices[0].message.content == "abcde"
    assert joined(chunks) == "abcdefghij"


def test_chat_completion_max_tokens(llama: LiveServer) -> None:
    with client(llama) as c:
        reply = c.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=3)
    check_reply(reply, "abc", "length")


async def test_chat_completion_max_tokens_async(llama: LiveServer) -> None:
    async with aclient(llama) as c:
        reply = await c.chat_completion(MESSAGES, max_tokens=3)
        chunks = [chunk async for chunk in await c.chat_completion(MESSAGES, max_tokens=5, stream=True)]
    check_reply(reply, "abc", "length")
    assert joined(chunks) == "abcde"
    assert finish_reasons(chunks) == ["length"]


# completions as text_generation


def test_text_generation(llama: LiveServer) -> None:
    with client(llama) as c:
        assert c.text_generation("hello") == "pqrstuvwxyz"
        assert c.text_generation("hello", max_new_tokens=3) == "pqr"
        assert c.text_generation("x", stop=["z"]) == "y"
        details = c.text_generation("hello", max_new_tokens=3, details=True)
    assert isinstance(details, TextGenerationOutput)
    assert details.generated_text == "pqr"
    assert details.details is not None
    assert details.details.finish_reason == "length"
    assert details.details.generated_tokens == 3


async def test_text_generation_async(llama: LiveServer) -> None:
    async with aclient(llama) as c:
        assert await c.text_generation("hello") == "pqrstuvwxyz"
        assert await c.text_generation("hello", max_new_tokens=3) == "pqr"
        details = await c.text_generation("w", details=True)
    assert details.generated_text == "xyz"
    assert details.details is not None
    assert details.details.finish_reason == "stop"


def test_text_generation_stream(llama: LiveServer) -> None:
    with client(llama) as c:
        tokens = list(c.text_generation("hello", stream=True))
        detailed = list(c.text_generation("hello", max_new_tokens=4, stream=True, details=True))
    assert all(isinstance(t, str) for t in tokens)
    assert "".join(tokens) == "pqrstuvwxyz"
    assert [t for t in tokens if t] == list("pqrstuvwxyz")
    assert all(isinstance(t, TextGenerationStreamOutput) for t in detailed)
    assert "".join(t.token.text for t in detailed) == "pqrs"
    assert detailed[-1].details is not None
    assert detailed[-1].details.finish_reason == "length"


async def test_text_generation_stream_async(llama: LiveServer) -> None:
    async with aclient(llama) as c:
        tokens = [t async for t in await c.text_generation("hello", stream=True)]
        detailed = [t async for t in await c.text_generation("t", stream=True, details=True)]
    assert "".join(tokens) == "pqrstuvwxyz"
    assert "".join(t.token.text for t in detailed) == "uvwxyz"
    assert detailed[-1].details is not None
    assert detailed[-1].details.finish_reason == "stop"


# embeddings as feature_extraction


def test_feature_extraction(llama: LiveServer) -> None:
    with client(llama) as c:
        vectors = c.feature_extraction(["a", "hello world", "xyz"])
        single = c.feature_extraction("hello world")
    assert len(vectors) == 3
    assert all(len(v) == DIM and all(isinstance(x, float) for x in v) for v in vectors)
    assert len(single) == 1 and len(single[0]) == DIM
    assert single[0] == pytest.approx(vectors[1], abs=1e-5)  # the same text, the same vector
    assert vectors[0] != pytest.approx(vectors[2], abs=1e-3)


async def test_feature_extraction_async(llama: LiveServer) -> None:
    async with aclient(llama) as c:
        vectors = await c.feature_extraction(["one", "two"])
    assert [len(v) for v in vectors] == [DIM, DIM]


# auth


def test_auth_failure(llama: LiveServer) -> None:
    before = llama.requests(CHAT, 401)
    with InferenceClient(provider="llama.cpp", base_url=llama.base_url, token="sk-wrong") as c:
        with pytest.raises(AuthenticationError) as caught:
            c.chat_completion(MESSAGES)
    error = caught.value
    assert error.status_code == 401
    assert error.server_message == "Invalid API key"
    assert "sk-wrong" not in str(error) and "sk-wrong" not in repr(error)
    assert llama.wait_requests(CHAT, 401, before + 1) == before + 1  # a 401 is not retried


async def test_auth_failure_async(llama: LiveServer) -> None:
    async with AsyncInferenceClient(provider="llama.cpp", base_url=llama.base_url) as c:  # no token at all
        with pytest.raises(AuthenticationError) as caught:
            await c.feature_extraction("a")
        with pytest.raises(AuthenticationError):
            await c.chat_completion(MESSAGES, stream=True)
    assert caught.value.status_code == 401


# the server's own routes

def test_health_check(llama: LiveServer) -> None:
    with client(llama) as c:
        assert c.health_check() is True
    with InferenceClient(provider="llama.cpp", base_url="http://127.0.0.1:9", timeout=2) as down:
        assert down.health_check() is False


async def test_health_check_async(llama: LiveServer) -> None:
    async with aclient(llama) as c:
        assert await c.health_check() is True


# structured output: the schema reaches llama.cpp in its own dialect and constrains the reply (the JSON opening is
# forced by the grammar); the alphabet model then cannot close the string, and the client says so with the raw reply

def test_structured_output_schema_is_applied_and_checked(llama: LiveServer) -> None:
    from pydantic import BaseModel

    from inferlink import StructuredOutputError

    class Letters(BaseModel):
        letters: str

    with client(llama) as c, pytest.raises(StructuredOutputError) as info:
        c.chat.completions.create(model="tiny", messages=MESSAGES, response_format=Letters, max_tokens=40)
    assert info.value.text.replace(" ", "").startswith('{"letters":"abcdefghij')
