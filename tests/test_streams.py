"""Streamed calls through the public clients, sync and async: chunk parsing, end-of-stream markers, routes, errors
inside a stream, and when the response gets closed."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from pytest_httpx import HTTPXMock

from inferlink import (
    AsyncInferenceClient,
    AsyncStream,
    InferenceClient,
    InferenceConnectionError,
    InferenceError,
    InferenceTimeoutError,
    ResponseError,
    Stream,
    StreamError,
)
from inferlink.types import ChatCompletionStreamOutput, TextGenerationStreamOutput

HF_CHAT_URL = "https://router.huggingface.co/hf-inference/models/org/m/v1/chat/completions"
HF_MODEL_URL = "https://router.huggingface.co/hf-inference/models/org/m"
SSE_HEADERS = {"content-type": "text/event-stream"}
MESSAGES = [{"role": "user", "content": "Say hello"}]
MODES = ["sync", "async"]


# --- helpers -----------------------------------------------------------------------------------------------------


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def sse(*payloads: Any, sep: bytes = b" ") -> bytes:
    """Server-sent events, one `data:` line per payload (dicts/lists as JSON, bytes and str as they are)."""
    out = b""
    for payload in payloads:
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = json.dumps(payload, ensure_ascii=False).encode()
        out += b"data:" + sep + data + b"\n\n"
    return out


def client_for(mode: str, **kwargs: Any) -> InferenceClient | AsyncInferenceClient:
    return InferenceClient(**kwargs) if mode == "sync" else AsyncInferenceClient(**kwargs)


async def open_stream(mode: str, method: str, *args: Any, client: Any = None, **kwargs: Any) -> Any:
    """Call `method` with stream=True on a client of the given mode; return the Stream / AsyncStream."""
    if client is None:
        client = client_for(mode, model="org/m", token="hf_x")
    result = getattr(client, method)(*args, stream=True, **kwargs)
    if mode == "async":
        result = await result
        assert isinstance(result, AsyncStream)
    else:
        assert isinstance(result, Stream)
    return result


async def drain(stream: Any, into: list[Any] | None = None) -> list[Any]:
    """Iterate a Stream or AsyncStream to its end, appending each chunk to `into` as it arrives."""
    out = [] if into is None else into
    if isinstance(stream, AsyncStream):
        async for chunk in stream:
            out.append(chunk)
    else:
        for chunk in stream:
            out.append(chunk)
    return out


async def run(mode: str, method: str, *args: Any, client: Any = None, **kwargs: Any) -> list[Any]:
    return await drain(await open_stream(mode, method, *args, client=client, **kwargs))


class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body sent in the given chunks, optionally failing with `error` after them. Records how many
    chunks were pulled and whether it was closed."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error
        self.pulled = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def chat_chunk(content: str | None = None, *, role: str | None = None, finish: str | None = None,
               index: int = 0) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1718000000, "model": "org/m",
            "system_fingerprint": "3.2.3-sha-a1f3ebe",
            "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": None}


USAGE_CHUNK = {"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1718000000, "model": "org/m",
               "system_fingerprint": "3.2.3-sha-a1f3ebe", "choices": [],
               "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}

CHAT_SEQUENCE = [
    chat_chunk("", role="assistant"),
    chat_chunk("Hello"),
    chat_chunk(", wor"),
    chat_chunk("ld!"),
    chat_chunk(finish="stop"),
    USAGE_CHUNK,
]


def tgi_token(i: int, text: str, *, last: bool = False, full: str = "") -> dict[str, Any]:
    return {"index": i, "token": {"id": 100 + i, "text": text, "logprob": -0.25, "special": False},
            "generated_text": full if last else None,
            "details": {"finish_reason": "length", "generated_tokens": i, "seed": None} if last else None}


TGI_SEQUENCE = [tgi_token(1, "Hello"), tgi_token(2, ","), tgi_token(3, " world", last=True, full="Hello, world")]


def simple_chat(*contents: str) -> bytes:
    return sse(*(chat_chunk(c) for c in contents))


# --- chat_completion ---------------------------------------------------------------------------------------------


async def test_chat_stream_typed_chunks_in_order(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, method="POST", headers=SSE_HEADERS,
                            content=sse(*CHAT_SEQUENCE, "[DONE]"))
    chunks = await run(mode, "chat_completion", MESSAGES, stream_options={"include_usage": True})

    assert len(chunks) == len(CHAT_SEQUENCE)
    assert all(type(c) is ChatCompletionStreamOutput for c in chunks)
    assert [c.model_dump(mode="json", exclude_unset=True) for c in chunks] == CHAT_SEQUENCE
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello, world!"
    assert chunks[-2].choices[0].finish_reason == "stop"
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (9, 4, 13)

    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == "Bearer hf_x"
    assert json.loads(request.content) == {"model": "org/m", "messages": MESSAGES, "stream": True,
                                           "stream_options": {"include_usage": True}}


async def test_chat_stream_chunks_arrive_one_by_one(httpx_mock: HTTPXMock, mode: str) -> None:
    # the body arrives split at awkward places: inside JSON, inside "\n\n", inside a UTF-8 character
    body = sse(chat_chunk("héllo"), chat_chunk(" 世界"), "[DONE]")
    cut = [7, 40, body.index("世".encode()) + 1, len(body) - 3]
    pieces = [body[a:b] for a, b in zip([0, *cut], [*cut, len(body)])]
    httpx_mock.add_response(url=HF_CHAT_URL, stream=Body(pieces))
    chunks = await run(mode, "chat_completion", MESSAGES)
    assert [c.choices[0].delta.content for c in chunks] == ["héllo", " 世界"]


@pytest.mark.parametrize("done", [b"data: [DONE]\n\n", b"data:[DONE]\n\n", b"data: [DONE]\r\n\r\n",
                                  b"data: [DONE]"],
                         ids=["space", "no-space", "crlf", "no-final-blank-line"])
async def test_done_ends_the_stream(httpx_mock: HTTPXMock, mode: str, done: bytes) -> None:
    # invalid JSON after [DONE], in the same network chunk: it must not be parsed
    httpx_mock.add_response(url=HF_CHAT_URL, content=simple_chat("a", "b") + done + b"\n\ndata: {not json\n\n")
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    chunks = await drain(stream)
    assert [c.choices[0].delta.content for c in chunks] == ["a", "b"]
    assert stream.closed


@pytest.mark.parametrize("done", [b"data: [DONE]\n\n", b"data:[DONE]\n\n"], ids=["space", "no-space"])
async def test_nothing_after_done_is_read(httpx_mock: HTTPXMock, mode: str, done: bytes) -> None:
    body = Body([simple_chat("a"), done, b"data: {not json\n\n", b"data: also not json\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    chunks = await drain(stream)
    assert [c.choices[0].delta.content for c in chunks] == ["a"]
    assert body.pulled == 2  # the chunks after [DONE] were never pulled from the connection
    assert stream.closed and stream.response.is_closed
    assert body.closed


async def test_done_without_any_chunk(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, content=b": keep-alive\n\ndata: [DONE]\n\n")
    assert await run(mode, "chat_completion", MESSAGES) == []


async def test_chat_stream_ignores_comments_and_blank_data(httpx_mock: HTTPXMock, mode: str) -> None:
    body = b": ping\n\n" + simple_chat("a") + b"data:\n\ndata: \n\n: ping\n\n" + simple_chat("b") + b"data: [DONE]\n\n"
    httpx_mock.add_response(url=HF_CHAT_URL, content=body)
    chunks = await run(mode, "chat_completion", MESSAGES)
    assert [c.choices[0].delta.content for c in chunks] == ["a", "b"]


async def test_chat_stream_ending_without_done(httpx_mock: HTTPXMock, mode: str) -> None:
    # some servers just close the connection; the last event may even lack its blank line
    httpx_mock.add_response(url=HF_CHAT_URL, content=simple_chat("a") + b"data: " + json.dumps(chat_chunk("b")).encode())
    chunks = await run(mode, "chat_completion", MESSAGES)
    assert [c.choices[0].delta.content for c in chunks] == ["a", "b"]


# --- text_generation: TGI style ----------------------------------------------------------------------------------


async def test_text_generation_stream_tgi_tokens(httpx_mock: HTTPXMock, mode: str) -> None:
    # TGI writes "data:" without a space and sends no [DONE]: the stream ends with the connection
    httpx_mock.add_response(url=HF_MODEL_URL, method="POST", headers=SSE_HEADERS, content=sse(*TGI_SEQUENCE, sep=b""))
    tokens = await run(mode, "text_generation", "Say", max_new_tokens=3)
    assert tokens == ["Hello", ",", " world"]
    assert all(type(t) is str for t in tokens)
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["accept"] == "text/event-stream"
    assert json.loads(request.content) == {"inputs": "Say", "parameters": {"details": False, "max_new_tokens": 3},
                                           "stream": True}


async def test_text_generation_stream_tgi_details(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url=HF_MODEL_URL, content=sse(*TGI_SEQUENCE, sep=b""))
    chunks = await run(mode, "text_generation", "Say", details=True)
    assert all(type(c) is TextGenerationStreamOutput for c in chunks)
    assert [c.token.text for c in chunks] == ["Hello", ",", " world"]
    assert [c.token.id for c in chunks] == [101, 102, 103]
    assert [c.generated_text for c in chunks[:-1]] == [None, None]
    assert [c.details for c in chunks[:-1]] == [None, None]
    last = chunks[-1]
    assert last.generated_text == "Hello, world"
    assert last.details is not None
    assert (last.details.finish_reason, last.details.generated_tokens) == ("length", 3)
    request = httpx_mock.get_request()
    assert request is not None
    assert json.loads(request.content) == {"inputs": "Say", "parameters": {"details": True}, "stream": True}


async def test_text_generation_stream_token_text_error_is_not_an_error(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url=HF_MODEL_URL, content=sse(tgi_token(1, "error"), tgi_token(2, '"error"'), sep=b""))
    assert await run(mode, "text_generation", "Say") == ["error", '"error"']


# --- text_generation: OpenAI-compatible server and TGI's own routes ----------------------------------------------


def completion_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "cmpl-1", "object": "text_completion", "created": 1718000000, "model": "m",
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}]}


async def test_text_generation_stream_openai_completions(httpx_mock: HTTPXMock, mode: str) -> None:
    body = sse(completion_chunk("Hel"), completion_chunk("lo"), completion_chunk("!", "length"), "[DONE]")
    httpx_mock.add_response(url="http://127.0.0.1:8000/v1/completions", method="POST", headers=SSE_HEADERS,
                            content=body)
    client = client_for(mode, base_url="http://127.0.0.1:8000/v1")
    tokens = await run(mode, "text_generation", "Once", client=client, max_new_tokens=3)
    assert tokens == ["Hel", "lo", "!"]
    request = httpx_mock.get_request()
    assert request is not None
    assert json.loads(request.content) == {"prompt": "Once", "stream": True, "max_tokens": 3}
    assert "authorization" not in request.headers


async def test_text_generation_stream_openai_completions_details(httpx_mock: HTTPXMock, mode: str) -> None:
    body = sse(completion_chunk("Hel"), completion_chunk("lo", "length"), "[DONE]")
    httpx_mock.add_response(url="http://127.0.0.1:8000/v1/completions", content=body)
    client = client_for(mode, base_url="http://127.0.0.1:8000/v1")
    chunks = await run(mode, "text_generation", "Once", client=client, details=True)
    assert all(type(c) is TextGenerationStreamOutput for c in chunks)
    assert [c.token.text for c in chunks] == ["Hel", "lo"]
    assert chunks[0].details is None
    assert chunks[-1].details is not None and chunks[-1].details.finish_reason == "length"


async def test_text_generation_stream_openai_completions_usage_chunk(httpx_mock: HTTPXMock, mode: str) -> None:
    # with stream_options.include_usage, OpenAI-compatible servers (vLLM, llama.cpp, OpenAI) end with a chunk whose
    # choices are empty: it carries no token, and must not break a stream that otherwise succeeded
    usage = {"id": "cmpl-1", "object": "text_completion", "created": 1718000000, "model": "m", "choices": [],
             "usage": {"prompt_tokens": 2, "completion_tokens": 2, "total_tokens": 4}}
    body = sse(completion_chunk("Hel"), completion_chunk("lo", "length"), usage, "[DONE]")
    httpx_mock.add_response(url="http://127.0.0.1:8000/v1/completions", content=body)
    client = client_for(mode, base_url="http://127.0.0.1:8000/v1")
    tokens = await run(mode, "text_generation", "Once", client=client,
                       extra_body={"stream_options": {"include_usage": True}})
    assert "".join(tokens) == "Hello"


async def test_tgi_provider_stream_route(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:8080/generate_stream", method="POST", headers=SSE_HEADERS,
                            content=sse(*TGI_SEQUENCE, sep=b""))
    client = client_for(mode, provider="tgi", base_url="http://127.0.0.1:8080")
    assert await run(mode, "text_generation", "x", client=client) == ["Hello", ",", " world"]
    request = httpx_mock.get_request()
    assert request is not None
    assert json.loads(request.content) == {"inputs": "x", "parameters": {"details": False}}  # no "stream" key
    assert request.headers["accept"] == "text/event-stream"


async def test_tgi_provider_non_stream_route(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:8080/generate", method="POST",
                            json={"generated_text": "Hello, world"})
    client = client_for(mode, provider="tgi", base_url="http://127.0.0.1:8080")
    result: Any = client.text_generation("x", max_new_tokens=2)
    if mode == "async":
        result = await result
    assert result == "Hello, world"
    request = httpx_mock.get_request()
    assert request is not None
    assert json.loads(request.content) == {"inputs": "x", "parameters": {"details": False, "max_new_tokens": 2}}


# --- errors inside a stream --------------------------------------------------------------------------------------


async def test_tgi_error_mid_stream(httpx_mock: HTTPXMock, mode: str) -> None:
    body = sse(tgi_token(1, "Hello"), tgi_token(2, ","),
               {"error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096",
                "error_type": "validation"},
               tgi_token(3, " never"), sep=b"")
    httpx_mock.add_response(url=HF_MODEL_URL, content=body)
    stream = await open_stream(mode, "text_generation", "Say")
    got: list[Any] = []
    with pytest.raises(StreamError) as info:
        await drain(stream, got)
    assert got == ["Hello", ","]  # the good chunks were yielded before the error
    error = info.value
    assert error.error_type == "validation"
    assert "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096" in str(error)
    assert error.payload == {"error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096",
                             "error_type": "validation"}
    assert stream.closed


async def test_tgi_error_mid_chat_stream(httpx_mock: HTTPXMock, mode: str) -> None:
    body = simple_chat("a", "b") + sse({"error": "Input validation error", "error_type": "validation"}) + b"data: [DONE]\n\n"
    httpx_mock.add_response(url=HF_CHAT_URL, content=body)
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    got: list[Any] = []
    with pytest.raises(StreamError, match="Input validation error") as info:
        await drain(stream, got)
    assert [c.choices[0].delta.content for c in got] == ["a", "b"]
    assert info.value.error_type == "validation"
    assert stream.closed


async def test_openai_error_mid_stream(httpx_mock: HTTPXMock, mode: str) -> None:
    error = {"error": {"message": "The server had an error while processing your request.", "type": "server_error",
                       "param": None, "code": None}}
    httpx_mock.add_response(url=HF_CHAT_URL, content=simple_chat("a", "b") + sse(error))
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    got: list[Any] = []
    with pytest.raises(StreamError) as info:
        await drain(stream, got)
    assert [c.choices[0].delta.content for c in got] == ["a", "b"]
    assert info.value.error_type == "server_error"
    assert "The server had an error while processing your request." in str(info.value)
    assert info.value.payload == error
    assert stream.closed


async def test_error_event_with_non_json_data(httpx_mock: HTTPXMock, mode: str) -> None:
    body = simple_chat("a", "b") + b"event: error\ndata: upstream model overloaded, try later\n\n" + simple_chat("c")
    httpx_mock.add_response(url=HF_CHAT_URL, content=body)
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    got: list[Any] = []
    with pytest.raises(StreamError, match="upstream model overloaded, try later") as info:
        await drain(stream, got)
    assert [c.choices[0].delta.content for c in got] == ["a", "b"]
    assert info.value.error_type is None
    assert stream.closed


async def test_error_event_with_json_data(httpx_mock: HTTPXMock, mode: str) -> None:
    body = simple_chat("a") + b'event: error\ndata: {"message": "overloaded", "code": 529}\n\n'
    httpx_mock.add_response(url=HF_CHAT_URL, content=body)
    with pytest.raises(StreamError, match="overloaded"):
        await run(mode, "chat_completion", MESSAGES)


@pytest.mark.parametrize("content", ['no "error" here', "error", '{"error": "x"}', "error_type: validation"])
async def test_content_mentioning_error_is_not_an_error(httpx_mock: HTTPXMock, mode: str, content: str) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, content=simple_chat("a", content, "b") + b"data: [DONE]\n\n")
    chunks = await run(mode, "chat_completion", MESSAGES)
    assert [c.choices[0].delta.content for c in chunks] == ["a", content, "b"]


async def test_chunk_with_null_error_field_is_not_an_error(httpx_mock: HTTPXMock, mode: str) -> None:
    chunk = {**chat_chunk("a"), "error": None}
    httpx_mock.add_response(url=HF_CHAT_URL, content=sse(chunk, "[DONE]"))
    chunks = await run(mode, "chat_completion", MESSAGES)
    assert [c.choices[0].delta.content for c in chunks] == ["a"]


# --- close semantics ---------------------------------------------------------------------------------------------


async def test_closed_when_exhausted(httpx_mock: HTTPXMock, mode: str) -> None:
    body = Body([simple_chat("a", "b"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    assert not stream.closed
    assert len(await drain(stream)) == 2
    assert stream.closed and stream.response.is_closed
    assert body.closed


async def test_closed_when_exhausted_without_done(httpx_mock: HTTPXMock, mode: str) -> None:
    body = Body([sse(*TGI_SEQUENCE, sep=b"")])
    httpx_mock.add_response(url=HF_MODEL_URL, stream=body)
    stream = await open_stream(mode, "text_generation", "x")
    assert len(await drain(stream)) == 3
    assert stream.closed and body.closed


def test_sync_closed_after_break(httpx_mock: HTTPXMock) -> None:
    body = Body([simple_chat("a"), simple_chat("b"), simple_chat("c"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    stream = InferenceClient(model="org/m", token="hf_x").chat_completion(MESSAGES, stream=True)
    for chunk in stream:
        assert chunk.choices[0].delta.content == "a"
        break
    assert stream.closed
    assert stream.response.is_closed
    assert body.closed
    assert body.pulled == 1


async def test_async_closed_after_break(httpx_mock: HTTPXMock) -> None:
    body = Body([simple_chat("a"), simple_chat("b"), simple_chat("c"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    stream = await AsyncInferenceClient(model="org/m", token="hf_x").chat_completion(MESSAGES, stream=True)
    async for chunk in stream:
        assert chunk.choices[0].delta.content == "a"
        break
    # an abandoned async generator is closed by the event loop (PEP 525 finalizer hook), a few loop turns later
    for _ in range(10):
        if stream.closed:
            break
        await asyncio.sleep(0)
    assert stream.closed
    assert stream.response.is_closed
    assert body.closed
    assert body.pulled == 1


def test_sync_close_method(httpx_mock: HTTPXMock) -> None:
    body = Body([simple_chat("a"), simple_chat("b"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    stream = InferenceClient(model="org/m", token="hf_x").chat_completion(MESSAGES, stream=True)
    iterator = iter(stream)  # kept alive: only close() may close the response
    assert next(iterator).choices[0].delta.content == "a"
    assert not stream.closed
    stream.close()
    assert stream.closed and body.closed
    stream.close()  # idempotent
    assert stream.closed


def test_sync_close_before_iterating(httpx_mock: HTTPXMock) -> None:
    body = Body([simple_chat("a"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    stream = InferenceClient(model="org/m", token="hf_x").chat_completion(MESSAGES, stream=True)
    stream.close()
    assert stream.closed and body.closed
    assert body.pulled == 0


def test_sync_iterating_a_closed_stream_raises_no_httpx_error(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, content=simple_chat("a") + b"data: [DONE]\n\n")
    stream = InferenceClient(model="org/m", token="hf_x").chat_completion(MESSAGES, stream=True)
    stream.close()
    # errors.py: "Every public call raises these (or builtins they subclass), never raw httpx or pydantic errors"
    try:
        list(stream)
    except Exception as error:  # noqa: BLE001
        assert isinstance(error, InferenceError), f"raw {type(error).__module__}.{type(error).__name__}: {error}"


async def test_async_iterating_a_closed_stream_raises_no_httpx_error(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, content=simple_chat("a") + b"data: [DONE]\n\n")
    stream = await AsyncInferenceClient(model="org/m", token="hf_x").chat_completion(MESSAGES, stream=True)
    await stream.aclose()
    try:
        await drain(stream)
    except Exception as error:  # noqa: BLE001
        assert isinstance(error, InferenceError), f"raw {type(error).__module__}.{type(error).__name__}: {error}"


def test_sync_with_statement(httpx_mock: HTTPXMock) -> None:
    body = Body([simple_chat("a"), simple_chat("b"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    client = InferenceClient(model="org/m", token="hf_x")
    with client.chat_completion(MESSAGES, stream=True) as stream:
        iterator = iter(stream)
        assert next(iterator).choices[0].delta.content == "a"
        assert not stream.closed
    assert stream.closed and body.closed


def test_sync_with_statement_closes_on_exception(httpx_mock: HTTPXMock) -> None:
    body = Body([simple_chat("a"), simple_chat("b"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    client = InferenceClient(model="org/m", token="hf_x")
    iterator = None
    with pytest.raises(KeyError):
        with client.chat_completion(MESSAGES, stream=True) as stream:
            iterator = iter(stream)
            next(iterator)
            raise KeyError("caller's own error")
    assert iterator is not None
    assert stream.closed and body.closed


async def test_async_with_statement(httpx_mock: HTTPXMock) -> None:
    body = Body([simple_chat("a"), simple_chat("b"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    client = AsyncInferenceClient(model="org/m", token="hf_x")
    async with await client.chat_completion(MESSAGES, stream=True) as stream:
        iterator = stream.__aiter__()  # kept alive: only the `async with` exit may close the response
        assert (await iterator.__anext__()).choices[0].delta.content == "a"
        assert not stream.closed
    assert stream.closed and body.closed
    await iterator.aclose()


async def test_async_aclose(httpx_mock: HTTPXMock) -> None:
    body = Body([simple_chat("a"), simple_chat("b"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    stream = await AsyncInferenceClient(model="org/m", token="hf_x").chat_completion(MESSAGES, stream=True)
    iterator = stream.__aiter__()
    assert (await iterator.__anext__()).choices[0].delta.content == "a"
    assert not stream.closed
    await stream.aclose()
    assert stream.closed and body.closed
    await stream.aclose()  # idempotent
    await iterator.aclose()


def test_sync_stream_outlives_its_client(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, stream=Body([simple_chat("a"), simple_chat("b"), b"data: [DONE]\n\n"]))
    client = InferenceClient(model="org/m", token="hf_x")
    stream = client.chat_completion(MESSAGES, stream=True)
    del client
    gc.collect()
    assert [c.choices[0].delta.content for c in stream] == ["a", "b"]
    assert stream.closed


async def test_async_stream_outlives_its_client(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, stream=Body([simple_chat("a"), simple_chat("b"), b"data: [DONE]\n\n"]))
    client = AsyncInferenceClient(model="org/m", token="hf_x")
    stream = await client.chat_completion(MESSAGES, stream=True)
    del client
    gc.collect()
    assert [c.choices[0].delta.content for c in await drain(stream)] == ["a", "b"]
    assert stream.closed


def test_sync_stream_dropped_unread_closes_its_response(httpx_mock: HTTPXMock) -> None:
    body = Body([simple_chat("a"), b"data: [DONE]\n\n"])
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    stream = InferenceClient(model="org/m", token="hf_x").chat_completion(MESSAGES, stream=True)
    response = stream.response
    del stream
    gc.collect()
    assert response.is_closed and body.closed


# --- iterating twice ---------------------------------------------------------------------------------------------


async def test_iterating_twice_raises(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, content=simple_chat("a", "b") + b"data: [DONE]\n\n")
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    assert len(await drain(stream)) == 2
    with pytest.raises(RuntimeError, match="once") as info:
        await drain(stream)
    assert not type(info.value).__module__.startswith("httpx")  # ours, not httpx.StreamConsumed


async def test_second_iterator_while_first_is_open_raises(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, content=simple_chat("a", "b") + b"data: [DONE]\n\n")
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    if mode == "sync":
        first = iter(stream)
        assert next(first).choices[0].delta.content == "a"
        with pytest.raises(RuntimeError):
            iter(stream)
        assert next(first).choices[0].delta.content == "b"
    else:
        afirst = stream.__aiter__()
        assert (await afirst.__anext__()).choices[0].delta.content == "a"
        with pytest.raises(RuntimeError):
            stream.__aiter__()
        assert (await afirst.__anext__()).choices[0].delta.content == "b"
        await afirst.aclose()


# --- invalid chunks and transport errors -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [b"{not json", b'{"choices": [', b'{"choices": "nope"}', b"[1, 2]", b'"text"'],
                         ids=["garbage", "truncated", "wrong-shape", "array", "string"])
async def test_invalid_chunk_raises_response_error(httpx_mock: HTTPXMock, mode: str, bad: bytes) -> None:
    httpx_mock.add_response(url=HF_CHAT_URL, content=simple_chat("a") + b"data: " + bad + b"\n\n" + simple_chat("b"))
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    got: list[Any] = []
    with pytest.raises(ResponseError) as info:
        await drain(stream, got)
    assert [c.choices[0].delta.content for c in got] == ["a"]
    assert info.value.body == bad
    assert not isinstance(info.value, ValueError)  # not a json.JSONDecodeError or pydantic.ValidationError
    assert type(info.value.__cause__).__module__.split(".")[0] not in ("json", "pydantic", "pydantic_core")
    assert stream.closed


async def test_invalid_tgi_chunk_raises_response_error(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url=HF_MODEL_URL, content=sse(tgi_token(1, "a"), {"index": 2}, sep=b""))
    got: list[Any] = []
    with pytest.raises(ResponseError, match="token"):
        await drain(await open_stream(mode, "text_generation", "x"), got)
    assert got == ["a"]


async def test_invalid_openai_completions_chunk_raises_response_error(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:8000/v1/completions",
                            content=sse(completion_chunk("a"), b"{oops", "[DONE]"))
    client = client_for(mode, base_url="http://127.0.0.1:8000/v1")
    got: list[Any] = []
    with pytest.raises(ResponseError):
        await drain(await open_stream(mode, "text_generation", "x", client=client), got)
    assert got == ["a"]


async def test_read_error_mid_stream(httpx_mock: HTTPXMock, mode: str) -> None:
    body = Body([simple_chat("a"), simple_chat("b")], error=httpx.ReadError("connection reset by peer"))
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    stream = await open_stream(mode, "chat_completion", MESSAGES)
    got: list[Any] = []
    with pytest.raises(InferenceConnectionError) as info:
        await drain(stream, got)
    assert [c.choices[0].delta.content for c in got] == ["a", "b"]
    assert isinstance(info.value.__cause__, httpx.ReadError)
    assert "chat_completion()" in str(info.value)
    assert stream.closed and body.closed


async def test_read_error_mid_event(httpx_mock: HTTPXMock, mode: str) -> None:
    # the connection breaks inside an event: the half-received event is not delivered
    body = Body([simple_chat("a"), b'data: {"choices": [{"index": 0, "delta": {"content": "b"}}]}'],
                error=httpx.RemoteProtocolError("peer closed connection without sending complete message body"))
    httpx_mock.add_response(url=HF_CHAT_URL, stream=body)
    got: list[Any] = []
    with pytest.raises(InferenceConnectionError):
        await drain(await open_stream(mode, "chat_completion", MESSAGES), got)
    assert [c.choices[0].delta.content for c in got] == ["a"]


async def test_read_timeout_mid_stream(httpx_mock: HTTPXMock, mode: str) -> None:
    body = Body([sse(tgi_token(1, "a"), sep=b"")], error=httpx.ReadTimeout("timed out"))
    httpx_mock.add_response(url=HF_MODEL_URL, stream=body)
    stream = await open_stream(mode, "text_generation", "x")
    got: list[Any] = []
    with pytest.raises(InferenceTimeoutError) as info:
        await drain(stream, got)
    assert got == ["a"]
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert isinstance(info.value, TimeoutError)
    assert stream.closed and body.closed


async def test_timeout_before_stream_starts(httpx_mock: HTTPXMock, mode: str) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"), url=HF_CHAT_URL)
    with pytest.raises(InferenceTimeoutError):
        await open_stream(mode, "chat_completion", MESSAGES, max_retries=0)
