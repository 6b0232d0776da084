"""Wire-format tests for the three local servers that cannot run here: Text Generation Inference, vLLM and Ollama.
Sync and async, over pytest-httpx. Every fixture is written from the server's own definition of its API:

- TGI: docs/openapi.json (GenerateRequest / GenerateParameters, GenerateResponse, Details, BestOfSequence,
  PrefillToken, Token, StreamResponse, StreamDetails, GrammarType, ErrorResponse {error, error_type}, FinishReason
  length | eos_token | stop_sequence) and router/src/server.rs: 422 validation, 424 generation, 429 overloaded,
  500 incomplete_generation, errors inside /generate_stream sent as a `data:` event of a 200 stream (validation,
  overload and generation failures alike), `data:` written without a space by axum, `:` keep-alive comments,
  `data:[DONE]` at the end of chat streams, "Bearer <api key>" compared by the auth layer, a bare 401.
- vLLM: vllm/entrypoints/openai/protocol.py: extra sampling parameters (top_k, min_p, repetition_penalty, ...) and
  guided decoding (guided_json / guided_regex / guided_choice / guided_grammar, structured_outputs on newer
  versions) as top-level fields of the chat and completions bodies; ErrorResponse {"object": "error", "message",
  "type", "param", "code"} (and {"error": {...}} on newer versions); stream errors as data: {"error": {...}}.
- Ollama: openai/openai.go and middleware/openai.go: /v1/chat/completions, /v1/completions, /v1/embeddings, chunks
  with system_fingerprint "fp_ollama", a final chunk with an empty delta and finish_reason, a usage chunk with
  choices [] when stream_options.include_usage is set, `data: [DONE]`, errors as {"error": {"message", "type",
  "param": null, "code": null}} (invalid_request_error / not_found_error / api_error).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, TypeVar

import pytest
from pytest_httpx import HTTPXMock

from inferlink import (
    AsyncInferenceClient,
    AsyncStream,
    AuthenticationError,
    BadRequestError,
    HTTPError,
    InferenceClient,
    InferenceError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    ServerError,
    Stream,
    StreamError,
    UnprocessableEntityError,
)
from inferlink.types import (
    ChatCompletionOutput,
    ChatCompletionStreamOutput,
    TextGenerationInputGrammarRegex,
    TextGenerationOutput,
    TextGenerationStreamOutput,
)

E = TypeVar("E", bound=InferenceError)
MODES = ["sync", "async"]
SSE = {"content-type": "text/event-stream"}

TGI = "http://127.0.0.1:3000"  # an overridden base URL (the default is :8080)
VLLM_DEFAULT = "http://localhost:8000"
VLLM_CUSTOM = "http://127.0.0.1:8001"
OLLAMA = "http://localhost:11434"

MESSAGES = [{"role": "system", "content": "Answer in one word."}, {"role": "user", "content": "Capital of France?"}]


# --- helpers ---------------------------------------------------------------------------------------------------------


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Drained:
    """What a call gave: its value (a list of chunks for a stream), whether the stream ended closed, and the
    inferlink error raised while iterating, if any."""

    value: Any = None
    chunks: list[Any] = field(default_factory=list)
    closed: bool | None = None
    error: InferenceError | None = None


async def call(mode: str, client: Mapping[str, Any], method: str, *args: Any, **kwargs: Any) -> Drained:
    """Call `method` on a fresh client (sync or async); drain a returned stream, keeping the chunks that arrived
    before an error."""
    out = Drained()
    if mode == "sync":
        with InferenceClient(**client) as sync_client:
            result = getattr(sync_client, method)(*args, **kwargs)
            if not isinstance(result, Stream):
                out.value = result
                return out
            try:
                for chunk in result:
                    out.chunks.append(chunk)
            except InferenceError as error:
                out.error = error
            out.closed = result.closed
            out.value = out.chunks
            return out
    async with AsyncInferenceClient(**client) as async_client:
        result = await getattr(async_client, method)(*args, **kwargs)
        if not isinstance(result, AsyncStream):
            out.value = result
            return out
        try:
            async for chunk in result:
                out.chunks.append(chunk)
        except InferenceError as error:
            out.error = error
        out.closed = result.closed
        out.value = out.chunks
        return out


async def fails(mode: str, cls: type[E], client: Mapping[str, Any], method: str, *args: Any, **kwargs: Any) -> E:
    """The error `cls` that the call itself raises (not its iteration)."""
    with pytest.raises(cls) as info:
        await call(mode, client, method, *args, **kwargs)
    return info.value


def sse(*payloads: Any, space: bool = True, done: str | None = None, comments: bool = False) -> bytes:
    """A server-sent-events body: one `data:` event per payload (dicts as compact JSON, like the servers send),
    optionally a keep-alive comment before each event and a final `[DONE]` line."""
    prefix = b"data: " if space else b"data:"
    out = b""
    for payload in payloads:
        if comments:
            out += b":\n\n"
        data = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        out += prefix + data + b"\n\n"
    if done is not None:
        out += done.encode() + b"\n\n"
    return out


def sent(httpx_mock: HTTPXMock, index: int = 0) -> Any:
    return json.loads(httpx_mock.get_requests()[index].content)


def only_request(httpx_mock: HTTPXMock) -> Any:
    requests = httpx_mock.get_requests()
    assert len(requests) == 1, f"expected exactly one request, got {len(requests)}"
    return requests[0]


# --- TGI: fixtures from docs/openapi.json ------------------------------------------------------------------------------

PERSON_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
PROMPT = "Describe Ada Lovelace as JSON:"


def tok(token_id: int, text: str, logprob: float | None, special: bool = False) -> dict[str, Any]:
    return {"id": token_id, "text": text, "logprob": logprob, "special": special}


# /generate with details, decoder_input_details (prefill), top_n_tokens=2 (top_tokens), best_of=2 (best_of_sequences)
# and a JSON grammar. The EOS token counts in generated_tokens but is not part of generated_text.
TGI_TOKENS = [tok(6377, '{"', -0.1171875), tok(978, "name", -0.0263), tok(1115, '":"', -0.0049),
              tok(3253, "Ada", -0.3046875), tok(9092, '"}', -0.0012), tok(2, "</s>", -0.0001, special=True)]
TGI_TOP_TOKENS = [[tok(6377, '{"', -0.1171875), tok(426, "{", -2.2)],
                  [tok(978, "name", -0.0263), tok(1024, "full", -3.75)],
                  [tok(1115, '":"', -0.0049), tok(1264, '":', -5.4)],
                  [tok(3253, "Ada", -0.3046875), tok(382, "Aug", -1.3203125)],
                  [tok(9092, '"}', -0.0012), tok(613, '",', -6.9)],
                  [tok(2, "</s>", -0.0001, special=True), tok(13, "\n", -9.1)]]
TGI_PREFILL = [{"id": 1, "text": "<s>", "logprob": None}, {"id": 4803, "text": "Describe", "logprob": -9.3046875},
               {"id": 23467, "text": " Ada", "logprob": -7.1171875},
               {"id": 8610, "text": " Lovelace", "logprob": -1.953125}]
TGI_DETAILS_REPLY = {
    "generated_text": '{"name":"Ada"}',
    "details": {
        "finish_reason": "eos_token",
        "generated_tokens": 6,
        "seed": 4077340213,
        "prefill": TGI_PREFILL,
        "tokens": TGI_TOKENS,
        "top_tokens": TGI_TOP_TOKENS,
        "best_of_sequences": [{
            "generated_text": '{"name":"Augusta Ada',
            "finish_reason": "length",
            "generated_tokens": 8,
            "seed": 1190212734,
            "prefill": TGI_PREFILL,
            "tokens": [tok(6377, '{"', -0.1171875), tok(978, "name", -0.0263), tok(1115, '":"', -0.0049),
                       tok(382, "Aug", -1.3203125), tok(3394, "usta", -0.01), tok(23467, " Ada", -0.4),
                       tok(29889, ",", -2.5), tok(1024, " full", -3.0)],
            "top_tokens": [],
        }],
    },
}


def tgi_event(index: int, token: dict[str, Any], top: list[dict[str, Any]] | None = None, *,
              generated_text: str | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"index": index, "token": token}
    if top is not None:
        event["top_tokens"] = top
    event["generated_text"] = generated_text
    event["details"] = details
    return event


TGI_STREAM_DETAILS = [
    tgi_event(1, tok(415, "The", -0.41), [tok(415, "The", -0.41), tok(330, "A", -1.6)]),
    tgi_event(2, tok(7212, " sky", -0.2), [tok(7212, " sky", -0.2), tok(3914, " sun", -2.1)]),
    tgi_event(3, tok(2, "</s>", -0.05, special=True), [tok(2, "</s>", -0.05, special=True), tok(28723, ".", -3.3)],
              generated_text="The sky",
              details={"finish_reason": "eos_token", "generated_tokens": 3, "seed": None, "input_length": 6}),
]


def tgi_client(**extra: Any) -> dict[str, Any]:
    return {"provider": "tgi", "base_url": TGI, **extra}


# --- TGI: /generate -------------------------------------------------------------------------------------------------


async def test_tgi_generate_details_best_of_prefill_top_tokens_json_grammar(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", json=TGI_DETAILS_REPLY,
                            headers={"x-compute-type": "gpu+optimized", "x-generated-tokens": "6"})
    got = await call(mode, tgi_client(), "text_generation", PROMPT, details=True, best_of=2, do_sample=True,
                     decoder_input_details=True, top_n_tokens=2, max_new_tokens=8,
                     grammar={"type": "json", "value": PERSON_SCHEMA})
    request = only_request(httpx_mock)
    assert json.loads(request.content) == {
        "inputs": PROMPT,
        "parameters": {"details": True, "best_of": 2, "do_sample": True, "decoder_input_details": True,
                       "top_n_tokens": 2, "max_new_tokens": 8, "grammar": {"type": "json", "value": PERSON_SCHEMA}},
    }
    assert request.headers["content-type"] == "application/json"

    out = got.value
    assert isinstance(out, TextGenerationOutput)
    assert out.generated_text == '{"name":"Ada"}'
    assert json.loads(out.generated_text) == {"name": "Ada"}
    details = out.details
    assert details is not None
    assert details.finish_reason == "eos_token"
    assert details.generated_tokens == 6
    assert details.seed == 4077340213
    # prefill: the prompt's tokens, the first without a logprob
    assert details.prefill is not None
    assert [(p.id, p.text, p.logprob) for p in details.prefill] == [
        (1, "<s>", None), (4803, "Describe", -9.3046875), (23467, " Ada", -7.1171875), (8610, " Lovelace", -1.953125)]
    # tokens: generated_text is the non-special tokens' text; the EOS token is marked special
    assert details.tokens is not None
    assert len(details.tokens) == details.generated_tokens
    assert "".join(t.text for t in details.tokens if not t.special) == out.generated_text
    assert details.tokens[-1].special is True and details.tokens[-1].id == 2
    assert details.tokens[3].logprob == -0.3046875
    # top_tokens: one list of top_n_tokens per generated position, the chosen token first
    assert details.top_tokens is not None
    assert len(details.top_tokens) == len(details.tokens)
    assert all(len(position) == 2 for position in details.top_tokens)
    assert [position[0].id for position in details.top_tokens] == [t.id for t in details.tokens]
    assert details.top_tokens[3][1].text == "Aug"
    # best_of_sequences: the other candidate, with its own finish reason and seed
    assert details.best_of_sequences is not None and len(details.best_of_sequences) == 1
    other = details.best_of_sequences[0]
    assert other.generated_text == '{"name":"Augusta Ada'
    assert other.finish_reason == "length"
    assert other.generated_tokens == 8
    assert other.seed == 1190212734
    assert other.tokens is not None and len(other.tokens) == 8
    assert other.prefill is not None and other.prefill[0].logprob is None


@pytest.mark.parametrize("grammar", [
    {"type": "regex", "value": r"\d{3}-\d{4}"},
    TextGenerationInputGrammarRegex(type="regex", value=r"\d{3}-\d{4}"),
], ids=["mapping", "model"])
async def test_tgi_generate_regex_grammar_plain_text(mode: str, httpx_mock: HTTPXMock, grammar: Any) -> None:
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", json={"generated_text": "555-0199"})
    got = await call(mode, tgi_client(), "text_generation", "Phone: ", grammar=grammar, max_new_tokens=10,
                     stop=["\n"], seed=42)
    assert got.value == "555-0199"
    body = sent(httpx_mock)
    assert body == {"inputs": "Phone: ", "parameters": {"details": False, "grammar": {"type": "regex",
                                                                                     "value": r"\d{3}-\d{4}"},
                                                        "max_new_tokens": 10, "stop": ["\n"], "seed": 42}}
    assert "stream" not in body


async def test_tgi_generate_all_sampling_parameters_keep_their_tgi_names(mode: str, httpx_mock: HTTPXMock) -> None:
    """Every TGI GenerateParameters field the client names reaches /generate under `parameters`, as given."""
    reply = {"generated_text": " and", "details": {"finish_reason": "stop_sequence", "generated_tokens": 1, "seed": 7,
                                                   "prefill": [], "tokens": [tok(322, " and", -0.5)],
                                                   "top_tokens": None}}
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", json=reply)
    got = await call(mode, tgi_client(), "text_generation", "Salt", details=True, adapter_id="org/lora-a",
                     do_sample=True, frequency_penalty=0.1, max_new_tokens=20, repetition_penalty=1.03,
                     return_full_text=False, seed=7, stop=[" and"], temperature=0.5, top_k=10, top_p=0.95,
                     truncate=1000, typical_p=0.95, watermark=True)
    assert sent(httpx_mock) == {"inputs": "Salt", "parameters": {
        "details": True, "adapter_id": "org/lora-a", "do_sample": True, "frequency_penalty": 0.1,
        "max_new_tokens": 20, "repetition_penalty": 1.03, "return_full_text": False, "seed": 7, "stop": [" and"],
        "temperature": 0.5, "top_k": 10, "top_p": 0.95, "truncate": 1000, "typical_p": 0.95, "watermark": True}}
    out = got.value
    assert isinstance(out, TextGenerationOutput)
    assert out.details is not None
    assert out.details.finish_reason == "stop_sequence"
    assert out.details.prefill == []
    assert out.details.top_tokens is None  # TGI sends null without top_n_tokens


def test_tgi_generate_typed_sync(httpx_mock: HTTPXMock) -> None:
    """The overloads give the typed result without a cast (checked by mypy --strict on this file)."""
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", json=TGI_DETAILS_REPLY)
    with InferenceClient(provider="tgi", base_url=TGI) as client:
        out: TextGenerationOutput = client.text_generation(PROMPT, details=True, best_of=2, do_sample=True)
    assert out.details is not None and out.details.best_of_sequences is not None


async def test_tgi_generate_typed_async(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", json={"generated_text": "hi"})
    async with AsyncInferenceClient(provider="tgi", base_url=TGI) as client:
        text: str = await client.text_generation("x")
    assert text == "hi"


# --- TGI: /generate_stream ------------------------------------------------------------------------------------------


async def test_tgi_generate_stream_details(mode: str, httpx_mock: HTTPXMock) -> None:
    body = sse(*TGI_STREAM_DETAILS, space=False, comments=True)  # axum writes `data:`; `:` lines are keep-alives
    httpx_mock.add_response(url=f"{TGI}/generate_stream", method="POST", headers={**SSE, "x-accel-buffering": "no"},
                            content=body)
    got = await call(mode, tgi_client(), "text_generation", "Describe the sky:", details=True, stream=True,
                     top_n_tokens=2, max_new_tokens=20)
    request = only_request(httpx_mock)
    assert json.loads(request.content) == {"inputs": "Describe the sky:",
                                           "parameters": {"details": True, "top_n_tokens": 2, "max_new_tokens": 20}}
    assert request.headers["accept"] == "text/event-stream"

    chunks = got.chunks
    assert got.error is None and got.closed is True
    assert len(chunks) == 3
    assert all(isinstance(c, TextGenerationStreamOutput) for c in chunks)
    assert [c.index for c in chunks] == [1, 2, 3]
    assert [c.token.text for c in chunks] == ["The", " sky", "</s>"]
    assert [c.token.special for c in chunks] == [False, False, True]
    assert all(c.top_tokens is not None and len(c.top_tokens) == 2 for c in chunks)
    assert chunks[1].top_tokens is not None and chunks[1].top_tokens[1].text == " sun"
    for chunk in chunks[:-1]:
        assert chunk.generated_text is None
        assert chunk.details is None
    last = chunks[-1]
    assert last.generated_text == "The sky"
    assert last.details is not None
    assert last.details.finish_reason == "eos_token"
    assert last.details.generated_tokens == 3
    assert last.details.input_length == 6
    assert last.details.seed is None


async def test_tgi_generate_stream_tokens_as_text(mode: str, httpx_mock: HTTPXMock) -> None:
    events = [tgi_event(1, tok(415, "The", -0.41)), tgi_event(2, tok(7212, " sky", -0.2)),
              tgi_event(3, tok(2, "</s>", -0.05, special=True), generated_text="The sky")]  # details=False: null
    httpx_mock.add_response(url=f"{TGI}/generate_stream", method="POST", headers=SSE, content=sse(*events, space=False))
    got = await call(mode, tgi_client(), "text_generation", "Describe the sky:", stream=True, max_new_tokens=20)
    assert sent(httpx_mock) == {"inputs": "Describe the sky:", "parameters": {"details": False, "max_new_tokens": 20}}
    # Each event's token.text, as huggingface_hub yields it: TGI's EOS token text comes last.
    assert got.chunks == ["The", " sky", "</s>"]
    assert got.closed is True


# --- TGI: errors --------------------------------------------------------------------------------------------------

TGI_VALIDATION = ("Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. "
                  "Given: 4000 `inputs` tokens and 200 `max_new_tokens`")
TGI_GENERATION = "Request failed during generation: Server error: CUDA out of memory. Tried to allocate 2.00 GiB"


async def test_tgi_422_validation(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", status_code=422,
                            json={"error": TGI_VALIDATION, "error_type": "validation"})
    error = await fails(mode, UnprocessableEntityError, tgi_client(), "text_generation", "x" * 10,
                        max_new_tokens=200)
    assert isinstance(error, ValueError)
    assert error.status_code == 422
    assert error.error_type == "validation"
    assert error.server_message == TGI_VALIDATION
    assert TGI_VALIDATION in str(error)
    assert f"{TGI}/generate" in str(error)
    only_request(httpx_mock)  # a validation error is not retried


async def test_tgi_424_generation_error(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", status_code=424,
                            json={"error": TGI_GENERATION, "error_type": "generation"})
    error = await fails(mode, HTTPError, tgi_client(), "text_generation", "x")
    assert type(error) is HTTPError  # 424 Failed Dependency has no dedicated subclass
    assert error.status_code == 424
    assert error.error_type == "generation"
    assert error.server_message == TGI_GENERATION
    assert "424" in str(error)
    only_request(httpx_mock)  # not a retryable status, even with the default max_retries


async def test_tgi_429_overloaded(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", status_code=429,
                            json={"error": "Model is overloaded", "error_type": "overloaded"})
    error = await fails(mode, RateLimitError, tgi_client(max_retries=0), "text_generation", "x", details=True)
    assert error.status_code == 429
    assert error.error_type == "overloaded"
    assert error.server_message == "Model is overloaded"
    only_request(httpx_mock)


async def test_tgi_500_incomplete_generation(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", status_code=500,
                            json={"error": "Incomplete generation", "error_type": "incomplete_generation"})
    error = await fails(mode, ServerError, tgi_client(), "text_generation", "x", max_retries=0)
    assert error.error_type == "incomplete_generation"
    assert error.server_message == "Incomplete generation"


async def test_tgi_401_bare_status(mode: str, httpx_mock: HTTPXMock) -> None:
    """TGI's --api-key layer answers a bare 401 (no body)."""
    httpx_mock.add_response(url=f"{TGI}/generate", method="POST", status_code=401)
    error = await fails(mode, AuthenticationError, tgi_client(token="wrong"), "text_generation", "x")
    assert error.server_message is None
    assert "401" in str(error)
    assert "wrong" not in str(error)


async def test_tgi_error_event_mid_stream(mode: str, httpx_mock: HTTPXMock) -> None:
    """A generation failure after some tokens: TGI ends the 200 stream with an error event."""
    body = sse(tgi_event(1, tok(415, "The", -0.41)), tgi_event(2, tok(7212, " sky", -0.2)),
               {"error": TGI_GENERATION, "error_type": "generation"}, space=False)
    httpx_mock.add_response(url=f"{TGI}/generate_stream", method="POST", headers=SSE, content=body)
    got = await call(mode, tgi_client(), "text_generation", "Describe the sky:", stream=True, details=True)
    assert [c.token.text for c in got.chunks] == ["The", " sky"]
    assert isinstance(got.error, StreamError)
    assert got.error.error_type == "generation"
    assert TGI_GENERATION in str(got.error)
    assert got.error.payload == {"error": TGI_GENERATION, "error_type": "generation"}
    assert got.closed is True


@pytest.mark.parametrize(("message", "error_type", "kwargs"), [
    ("Input validation error: `best_of` != 1 is not supported when streaming tokens", "validation",
     {"best_of": 2, "do_sample": True}),
    ("Input validation error: `decoder_input_details` == true is not supported when streaming tokens", "validation",
     {"decoder_input_details": True}),
    ("Model is overloaded", "overloaded", {}),
], ids=["best_of", "decoder_input_details", "overloaded"])
async def test_tgi_error_as_first_stream_event(mode: str, httpx_mock: HTTPXMock, message: str, error_type: str,
                                               kwargs: dict[str, Any]) -> None:
    """/generate_stream answers 200 and sends validation and overload errors as its only event."""
    httpx_mock.add_response(url=f"{TGI}/generate_stream", method="POST", headers=SSE,
                            content=sse({"error": message, "error_type": error_type}, space=False))
    got = await call(mode, tgi_client(), "text_generation", "x", stream=True, **kwargs)
    assert got.chunks == []
    assert isinstance(got.error, StreamError)
    assert got.error.error_type == error_type
    assert message in str(got.error)
    assert got.closed is True
    for key, value in kwargs.items():
        assert sent(httpx_mock)["parameters"][key] == value  # sent as given; the server is the judge


# --- TGI: chat ----------------------------------------------------------------------------------------------------

TGI_CHAT_REPLY = {
    "object": "chat.completion", "id": "", "created": 1735689603, "model": "meta-llama/Llama-3.1-8B-Instruct",
    "system_fingerprint": "3.0.1-sha-bb9095a",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "logprobs": None,
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 24, "completion_tokens": 3, "total_tokens": 27},
}


def tgi_chat_chunk(content: str, finish: str | None = None) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "id": "", "created": 1735689603,
            "model": "meta-llama/Llama-3.1-8B-Instruct", "system_fingerprint": "3.0.1-sha-bb9095a",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "logprobs": None,
                         "finish_reason": finish}], "usage": None}


async def test_tgi_chat_sends_model_tgi(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{TGI}/v1/chat/completions", method="POST", json=TGI_CHAT_REPLY)
    got = await call(mode, tgi_client(), "chat_completion", MESSAGES, max_tokens=16)
    body = sent(httpx_mock)
    assert body == {"model": "tgi", "messages": MESSAGES, "stream": False, "max_tokens": 16}
    assert next(iter(body)) == "model"  # first, so routers can read it early
    out = got.value
    assert isinstance(out, ChatCompletionOutput)
    assert out.choices[0].message.content == "Paris."
    assert out.choices[0].finish_reason == "stop"
    assert out.usage is not None and out.usage.total_tokens == 27


async def test_tgi_chat_stream_done_without_space(mode: str, httpx_mock: HTTPXMock) -> None:
    body = sse(tgi_chat_chunk("Par"), tgi_chat_chunk("is"), tgi_chat_chunk(".", "stop"), space=False,
               done="data:[DONE]")
    httpx_mock.add_response(url=f"{TGI}/v1/chat/completions", method="POST", headers=SSE, content=body)
    got = await call(mode, tgi_client(), "chat_completion", MESSAGES, stream=True)
    assert sent(httpx_mock) == {"model": "tgi", "messages": MESSAGES, "stream": True}
    assert all(isinstance(c, ChatCompletionStreamOutput) for c in got.chunks)
    assert "".join(c.choices[0].delta.content or "" for c in got.chunks) == "Paris."
    assert [c.choices[0].finish_reason for c in got.chunks] == [None, None, "stop"]
    assert got.closed is True


async def test_tgi_chat_template_error(mode: str, httpx_mock: HTTPXMock) -> None:
    message = ("Template error: After the optional system message, conversation roles must alternate "
               "user/assistant/user/assistant/... (in <string>:1)")
    httpx_mock.add_response(url=f"{TGI}/v1/chat/completions", method="POST", status_code=422,
                            json={"error": message, "error_type": "template_error"})
    error = await fails(mode, UnprocessableEntityError, tgi_client(), "chat_completion",
                        [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert error.error_type == "template_error"
    assert error.server_message == message


# --- vLLM ---------------------------------------------------------------------------------------------------------

VLLM_CHAT_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
VLLM_BASE_MODEL = "Qwen/Qwen2.5-0.5B"
CITY_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
               "required": ["city", "country"]}
VLLM_EXTRA = {"top_k": 20, "min_p": 0.05, "repetition_penalty": 1.1}

VLLM_CHAT_REPLY: dict[str, Any] = {
    "id": "chatcmpl-9f1c2b7e4a0d4c8f9e6b5a3d2c1b0a99", "object": "chat.completion", "created": 1735689600,
    "model": VLLM_CHAT_MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "reasoning_content": None,
                                         "content": '{"city": "Paris", "country": "France"}', "tool_calls": []},
                 "logprobs": None, "finish_reason": "stop", "stop_reason": None}],
    "service_tier": None, "system_fingerprint": None,
    "usage": {"prompt_tokens": 31, "total_tokens": 44, "completion_tokens": 13, "prompt_tokens_details": None},
    "prompt_logprobs": None, "kv_transfer_params": None,
}


def vllm_completion(text: str, finish: str | None, stop_reason: str | None = None) -> dict[str, Any]:
    return {"id": "cmpl-4b0e6c1d2f3a4b5c", "object": "text_completion", "created": 1735689601,
            "model": VLLM_BASE_MODEL,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish,
                         "stop_reason": stop_reason, "prompt_logprobs": None}],
            "usage": {"prompt_tokens": 9, "total_tokens": 11, "completion_tokens": 2, "prompt_tokens_details": None},
            "kv_transfer_params": None}


def vllm_completion_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "cmpl-7d8e9f", "object": "text_completion", "created": 1735689602, "model": VLLM_BASE_MODEL,
            "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish, "stop_reason": None}],
            "usage": None}


async def test_vllm_chat_default_address_extra_sampling_and_guided_json(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{VLLM_DEFAULT}/v1/chat/completions", method="POST", json=VLLM_CHAT_REPLY)
    got = await call(mode, {"provider": "vllm"}, "chat_completion", MESSAGES, model=VLLM_CHAT_MODEL, max_tokens=64,
                     temperature=0.2, extra_body={**VLLM_EXTRA, "guided_json": CITY_SCHEMA})
    request = only_request(httpx_mock)
    body = json.loads(request.content)
    assert body == {"model": VLLM_CHAT_MODEL, "messages": MESSAGES, "stream": False, "max_tokens": 64,
                    "temperature": 0.2, "top_k": 20, "min_p": 0.05, "repetition_penalty": 1.1,
                    "guided_json": CITY_SCHEMA}
    assert "authorization" not in request.headers
    out = got.value
    assert isinstance(out, ChatCompletionOutput)
    assert out.choices[0].message.content is not None
    assert json.loads(out.choices[0].message.content) == {"city": "Paris", "country": "France"}
    assert out.choices[0].message.tool_calls == []
    assert out.usage is not None and out.usage.completion_tokens == 13


@pytest.mark.parametrize("guided", [
    {"guided_json": CITY_SCHEMA},
    {"guided_regex": r"(Paris|Lyon|Nice)"},
    {"guided_choice": ["Paris", "Lyon", "Nice"]},
    {"guided_grammar": 'root ::= "Paris" | "Lyon"'},
    {"structured_outputs": {"choice": ["Paris", "Lyon", "Nice"]}},
], ids=["guided_json", "guided_regex", "guided_choice", "guided_grammar", "structured_outputs"])
async def test_vllm_guided_decoding_reaches_top_level(mode: str, httpx_mock: HTTPXMock,
                                                      guided: dict[str, Any]) -> None:
    reply = {**VLLM_CHAT_REPLY, "choices": [{**VLLM_CHAT_REPLY["choices"][0],
                                             "message": {"role": "assistant", "content": "Paris"}}]}
    httpx_mock.add_response(url=f"{VLLM_CUSTOM}/v1/chat/completions", method="POST", json=reply)
    got = await call(mode, {"provider": "vllm", "base_url": VLLM_CUSTOM, "model": VLLM_CHAT_MODEL},
                     "chat_completion", MESSAGES, extra_body=guided)
    assert sent(httpx_mock) == {"model": VLLM_CHAT_MODEL, "messages": MESSAGES, "stream": False, **guided}
    assert got.value.choices[0].message.content == "Paris"


async def test_vllm_extra_body_wins_over_mapped_arguments(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{VLLM_DEFAULT}/v1/chat/completions", method="POST", json=VLLM_CHAT_REPLY)
    await call(mode, {"provider": "vllm"}, "chat_completion", MESSAGES, model=VLLM_CHAT_MODEL, temperature=0.7,
               extra_body={"temperature": 0.0, "top_k": 20})
    body = sent(httpx_mock)
    assert body["temperature"] == 0.0  # merged last
    assert body["top_k"] == 20


async def test_vllm_completions_overridden_address(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{VLLM_CUSTOM}/v1/completions", method="POST",
                            json=vllm_completion(" 42", "stop", stop_reason="\n"))
    got = await call(mode, {"provider": "vllm", "base_url": VLLM_CUSTOM}, "text_generation",
                     "The answer to everything is", model=VLLM_BASE_MODEL, details=True, max_new_tokens=16,
                     temperature=0.7, top_p=0.9, seed=7, stop=["\n"],
                     extra_body={**VLLM_EXTRA, "guided_regex": r" \d+"})
    assert sent(httpx_mock) == {"model": VLLM_BASE_MODEL, "prompt": "The answer to everything is", "stream": False,
                                "max_tokens": 16, "temperature": 0.7, "top_p": 0.9, "seed": 7, "stop": ["\n"],
                                "top_k": 20, "min_p": 0.05, "repetition_penalty": 1.1, "guided_regex": r" \d+"}
    out = got.value
    assert isinstance(out, TextGenerationOutput)
    assert out.generated_text == " 42"
    assert out.details is not None
    assert out.details.finish_reason == "stop"
    assert out.details.generated_tokens == 2


async def test_vllm_completions_stream(mode: str, httpx_mock: HTTPXMock) -> None:
    usage = {**vllm_completion_chunk(""), "choices": [],
             "usage": {"prompt_tokens": 5, "total_tokens": 8, "completion_tokens": 3}}
    body = sse(vllm_completion_chunk(" Paris"), vllm_completion_chunk(","), vllm_completion_chunk(" France", "length"),
               usage, done="data: [DONE]")
    httpx_mock.add_response(url=f"{VLLM_DEFAULT}/v1/completions", method="POST", headers=SSE, content=body)
    got = await call(mode, {"provider": "vllm", "model": VLLM_BASE_MODEL}, "text_generation", "The capital is",
                     stream=True, max_new_tokens=3, extra_body={"stream_options": {"include_usage": True}})
    assert sent(httpx_mock) == {"model": VLLM_BASE_MODEL, "prompt": "The capital is", "stream": True,
                                "max_tokens": 3, "stream_options": {"include_usage": True}}
    assert got.chunks == [" Paris", ",", " France"]
    assert got.closed is True


async def test_vllm_completions_stream_details(mode: str, httpx_mock: HTTPXMock) -> None:
    body = sse(vllm_completion_chunk(" Paris"), vllm_completion_chunk(" France", "length"), done="data: [DONE]")
    httpx_mock.add_response(url=f"{VLLM_DEFAULT}/v1/completions", method="POST", headers=SSE, content=body)
    got = await call(mode, {"provider": "vllm", "model": VLLM_BASE_MODEL}, "text_generation", "The capital is",
                     stream=True, details=True)
    assert all(isinstance(c, TextGenerationStreamOutput) for c in got.chunks)
    assert [c.token.text for c in got.chunks] == [" Paris", " France"]
    assert got.chunks[0].details is None
    assert got.chunks[-1].details is not None and got.chunks[-1].details.finish_reason == "length"


@pytest.mark.parametrize("argument", [
    {"repetition_penalty": 1.1},
    {"grammar": {"type": "regex", "value": r"\d{3}-\d{4}"}},
    {"grammar": {"type": "json", "value": CITY_SCHEMA}},
], ids=["repetition_penalty", "grammar-regex", "grammar-json"])
async def test_vllm_completions_do_not_drop_an_argument_silently(mode: str, httpx_mock: HTTPXMock,
                                                                 argument: dict[str, Any]) -> None:
    """vLLM's /v1/completions takes repetition_penalty and guided_regex / guided_json (or structured_outputs) at
    the top level. An argument the caller names must either reach the server in some form or be refused before
    anything is sent; silently generating without the penalty or the constraint is wrong."""
    httpx_mock.add_response(url=f"{VLLM_DEFAULT}/v1/completions", method="POST",
                            json=vllm_completion("555-0199", "stop"), is_optional=True)
    try:
        await call(mode, {"provider": "vllm", "model": VLLM_BASE_MODEL}, "text_generation", "Phone:", **argument)
    except InvalidInputError:
        assert httpx_mock.get_requests() == []
        return
    body = sent(httpx_mock)
    (name, value), = argument.items()
    if name == "grammar":  # as guided_regex / guided_json / structured_outputs / response_format: some form of it
        assert contains(body, value["value"]), f"grammar={value!r} was not sent; the body was {body}"
    else:  # vLLM reads it under the same name at the top level
        assert body.get(name) == value, f"{name}={value!r} was not sent; the body was {body}"


def contains(node: Any, wanted: Any) -> bool:
    """Whether `wanted` occurs anywhere in a JSON value (a JSON-encoded string of it counts too)."""
    if node == wanted or (isinstance(node, str) and not isinstance(wanted, str) and _decodes_to(node, wanted)):
        return True
    if isinstance(node, dict):
        return any(contains(v, wanted) for v in node.values())
    if isinstance(node, list):
        return any(contains(v, wanted) for v in node)
    return False


def _decodes_to(text: str, wanted: Any) -> bool:
    try:
        return bool(json.loads(text) == wanted)
    except ValueError:
        return False


async def test_vllm_embeddings_with_model(mode: str, httpx_mock: HTTPXMock) -> None:
    reply = {"id": "embd-5e3f0a9b8c7d", "object": "list", "created": 1735689604, "model": "BAAI/bge-small-en-v1.5",
             "data": [{"index": 0, "object": "embedding", "embedding": [0.0123, -0.0456, 0.0789]},
                      {"index": 1, "object": "embedding", "embedding": [-0.0321, 0.0654, -0.0987]}],
             "usage": {"prompt_tokens": 6, "total_tokens": 6, "completion_tokens": 0, "prompt_tokens_details": None}}
    httpx_mock.add_response(url=f"{VLLM_DEFAULT}/v1/embeddings", method="POST", json=reply)
    got = await call(mode, {"provider": "vllm"}, "feature_extraction", ["first text", "second text"],
                     model="BAAI/bge-small-en-v1.5")
    assert sent(httpx_mock) == {"model": "BAAI/bge-small-en-v1.5", "input": ["first text", "second text"]}
    assert got.value == [[0.0123, -0.0456, 0.0789], [-0.0321, 0.0654, -0.0987]]


VLLM_CONTEXT = ("This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (100 in the "
                "messages, 2000 in the completion). Please reduce the length of the messages or completion.")


@pytest.mark.parametrize("shape", ["flat", "nested"])
async def test_vllm_400_error_body(mode: str, httpx_mock: HTTPXMock, shape: str) -> None:
    """vLLM's ErrorResponse: {"object": "error", "message", "type", "param", "code"}; newer versions nest the same
    fields under "error"."""
    fields = {"message": VLLM_CONTEXT, "type": "BadRequestError", "param": None, "code": 400}
    payload = {"object": "error", **fields} if shape == "flat" else {"error": fields}
    httpx_mock.add_response(url=f"{VLLM_DEFAULT}/v1/chat/completions", method="POST", status_code=400, json=payload)
    error = await fails(mode, BadRequestError, {"provider": "vllm"}, "chat_completion", MESSAGES,
                        model=VLLM_CHAT_MODEL, max_tokens=2000)
    assert error.status_code == 400
    assert error.server_message == VLLM_CONTEXT
    assert error.error_type == "BadRequestError"
    assert VLLM_CONTEXT in str(error)
    only_request(httpx_mock)


async def test_vllm_404_unknown_model(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{VLLM_DEFAULT}/v1/embeddings", method="POST", status_code=404,
                            json={"object": "error", "message": "The model `gpt-4` does not exist.",
                                  "type": "NotFoundError", "param": None, "code": 404})
    error = await fails(mode, NotFoundError, {"provider": "vllm"}, "feature_extraction", "x", model="gpt-4")
    assert error.server_message == "The model `gpt-4` does not exist."
    assert error.error_type == "NotFoundError"


async def test_vllm_error_inside_chat_stream(mode: str, httpx_mock: HTTPXMock) -> None:
    first = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1735689605, "model": VLLM_CHAT_MODEL,
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                          "finish_reason": None}]}
    error = {"error": {"object": "error", "message": "guided_regex is not a valid regular expression",
                       "type": "BadRequestError", "param": None, "code": 400}}
    httpx_mock.add_response(url=f"{VLLM_DEFAULT}/v1/chat/completions", method="POST", headers=SSE,
                            content=sse(first, error, done="data: [DONE]"))
    got = await call(mode, {"provider": "vllm", "model": VLLM_CHAT_MODEL}, "chat_completion", MESSAGES, stream=True,
                     extra_body={"guided_regex": "("})
    assert len(got.chunks) == 1
    assert isinstance(got.error, StreamError)
    assert got.error.error_type == "BadRequestError"
    assert "guided_regex is not a valid regular expression" in str(got.error)
    assert got.closed is True


# --- Ollama -------------------------------------------------------------------------------------------------------

OLLAMA_MODEL = "llama3.2"


def ollama_chunk(content: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-417", "object": "chat.completion.chunk", "created": 1735689606, "model": OLLAMA_MODEL,
            "system_fingerprint": "fp_ollama",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": finish}]}


def ollama_completion_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"id": "cmpl-88", "object": "text_completion", "created": 1735689607,
            "choices": [{"text": text, "index": 0, "finish_reason": finish}], "model": OLLAMA_MODEL,
            "system_fingerprint": "fp_ollama"}


async def test_ollama_chat(mode: str, httpx_mock: HTTPXMock) -> None:
    reply = {"id": "chatcmpl-417", "object": "chat.completion", "created": 1735689606, "model": OLLAMA_MODEL,
             "system_fingerprint": "fp_ollama",
             "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 26, "completion_tokens": 3, "total_tokens": 29}}
    httpx_mock.add_response(url=f"{OLLAMA}/v1/chat/completions", method="POST", json=reply)
    got = await call(mode, {"provider": "ollama"}, "chat_completion", MESSAGES, model=OLLAMA_MODEL, seed=1,
                     temperature=0.0, stop=["\n"])
    assert sent(httpx_mock) == {"model": OLLAMA_MODEL, "messages": MESSAGES, "stream": False, "seed": 1,
                                "temperature": 0.0, "stop": ["\n"]}
    out = got.value
    assert isinstance(out, ChatCompletionOutput)
    assert out.system_fingerprint == "fp_ollama"
    assert out.choices[0].message.content == "Paris."
    assert out.usage is not None and out.usage.prompt_tokens == 26


async def test_ollama_chat_stream_final_and_usage_chunks(mode: str, httpx_mock: HTTPXMock) -> None:
    usage = {**ollama_chunk(""), "choices": [], "usage": {"prompt_tokens": 26, "completion_tokens": 3,
                                                          "total_tokens": 29}}
    body = sse(ollama_chunk("Par"), ollama_chunk("is"), ollama_chunk("."), ollama_chunk("", "stop"), usage,
               done="data: [DONE]")
    httpx_mock.add_response(url=f"{OLLAMA}/v1/chat/completions", method="POST", headers=SSE, content=body)
    got = await call(mode, {"provider": "ollama", "model": OLLAMA_MODEL}, "chat_completion", MESSAGES, stream=True,
                     stream_options={"include_usage": True})
    assert sent(httpx_mock) == {"model": OLLAMA_MODEL, "messages": MESSAGES, "stream": True,
                                "stream_options": {"include_usage": True}}
    chunks = got.chunks
    assert len(chunks) == 5 and all(isinstance(c, ChatCompletionStreamOutput) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Paris."
    assert [c.choices[0].finish_reason for c in chunks if c.choices] == [None, None, None, "stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 29
    assert got.closed is True


async def test_ollama_completions(mode: str, httpx_mock: HTTPXMock) -> None:
    reply = {"id": "cmpl-88", "object": "text_completion", "created": 1735689607, "model": OLLAMA_MODEL,
             "system_fingerprint": "fp_ollama",
             "choices": [{"text": " there was a fox.", "index": 0, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}}
    httpx_mock.add_response(url=f"{OLLAMA}/v1/completions", method="POST", json=reply)
    got = await call(mode, {"provider": "ollama"}, "text_generation", "Once upon a time", model=OLLAMA_MODEL,
                     max_new_tokens=12, temperature=0.2, stop=["\n"])
    assert sent(httpx_mock) == {"model": OLLAMA_MODEL, "prompt": "Once upon a time", "stream": False,
                                "max_tokens": 12, "temperature": 0.2, "stop": ["\n"]}
    assert got.value == " there was a fox."


async def test_ollama_completions_stream(mode: str, httpx_mock: HTTPXMock) -> None:
    body = sse(ollama_completion_chunk(" there"), ollama_completion_chunk(" was"),
               ollama_completion_chunk("", "stop"), done="data: [DONE]")
    httpx_mock.add_response(url=f"{OLLAMA}/v1/completions", method="POST", headers=SSE, content=body)
    got = await call(mode, {"provider": "ollama", "model": OLLAMA_MODEL}, "text_generation", "Once upon a time",
                     stream=True)
    assert sent(httpx_mock)["stream"] is True
    assert got.chunks == [" there", " was"]
    assert got.closed is True


async def test_ollama_embeddings(mode: str, httpx_mock: HTTPXMock) -> None:
    reply = {"object": "list", "data": [{"object": "embedding", "embedding": [0.010071029, -0.0017594862, 0.05007221],
                                         "index": 0},
                                        {"object": "embedding", "embedding": [-0.009802181, 0.060359772, 0.025140163],
                                         "index": 1}],
             "model": "all-minilm", "usage": {"prompt_tokens": 4, "total_tokens": 4}}
    httpx_mock.add_response(url=f"{OLLAMA}/v1/embeddings", method="POST", json=reply)
    got = await call(mode, {"provider": "ollama"}, "feature_extraction", ["why is the sky blue?", "why is grass green?"],
                     model="all-minilm")
    assert sent(httpx_mock) == {"model": "all-minilm", "input": ["why is the sky blue?", "why is grass green?"]}
    assert got.value == [[0.010071029, -0.0017594862, 0.05007221], [-0.009802181, 0.060359772, 0.025140163]]


@pytest.mark.parametrize(("status", "message", "error_type", "cls"), [
    (404, "model 'llama3.2' not found", "not_found_error", NotFoundError),
    (400, "invalid message content type: <nil>", "invalid_request_error", BadRequestError),
    (500, "llama runner process has terminated: exit status 2", "api_error", ServerError),
], ids=["404", "400", "500"])
async def test_ollama_error_bodies(mode: str, httpx_mock: HTTPXMock, status: int, message: str, error_type: str,
                                   cls: type[HTTPError]) -> None:
    # middleware/openai.go writes openai.NewError(...) with json.Encoder: a trailing newline, param and code null.
    payload = json.dumps({"error": {"message": message, "type": error_type, "param": None, "code": None}}) + "\n"
    httpx_mock.add_response(url=f"{OLLAMA}/v1/chat/completions", method="POST", status_code=status,
                            content=payload.encode(), headers={"content-type": "application/json; charset=utf-8"})
    error = await fails(mode, cls, {"provider": "ollama", "model": OLLAMA_MODEL, "max_retries": 0},
                        "chat_completion", MESSAGES)
    assert error.status_code == status
    assert error.server_message == message
    assert error.error_type == error_type
    assert message in str(error)


# --- Authorization ----------------------------------------------------------------------------------------------------

# (provider, base_url, method, args, kwargs, url, response)
AUTH_CASES: dict[str, tuple[str, str | None, str, tuple[Any, ...], dict[str, Any], str, Any]] = {
    "tgi-generate": ("tgi", TGI, "text_generation", ("x",), {}, f"{TGI}/generate", {"generated_text": "y"}),
    "tgi-stream": ("tgi", TGI, "text_generation", ("x",), {"stream": True}, f"{TGI}/generate_stream",
                   sse(tgi_event(1, tok(1, "y", None), generated_text="y"), space=False)),
    "tgi-chat": ("tgi", None, "chat_completion", (MESSAGES,), {}, "http://localhost:8080/v1/chat/completions",
                 TGI_CHAT_REPLY),
    "vllm-chat": ("vllm", None, "chat_completion", (MESSAGES,), {"model": VLLM_CHAT_MODEL},
                  f"{VLLM_DEFAULT}/v1/chat/completions", VLLM_CHAT_REPLY),
    "vllm-completions": ("vllm", VLLM_CUSTOM, "text_generation", ("x",), {"model": VLLM_BASE_MODEL},
                         f"{VLLM_CUSTOM}/v1/completions", vllm_completion("y", "stop")),
    "ollama-embeddings": ("ollama", None, "feature_extraction", ("x",), {"model": "all-minilm"},
                          f"{OLLAMA}/v1/embeddings",
                          {"object": "list", "data": [{"object": "embedding", "embedding": [0.5], "index": 0}],
                           "model": "all-minilm"}),
}


def add_auth_response(httpx_mock: HTTPXMock, case: str) -> tuple[dict[str, Any], str, tuple[Any, ...], dict[str, Any]]:
    provider, base, method, args, kwargs, url, response = AUTH_CASES[case]
    if isinstance(response, bytes):
        httpx_mock.add_response(url=url, method="POST", headers=SSE, content=response)
    else:
        httpx_mock.add_response(url=url, method="POST", json=response)
    client: dict[str, Any] = {"provider": provider}
    if base is not None:
        client["base_url"] = base
    return client, method, args, kwargs


@pytest.mark.parametrize("case", list(AUTH_CASES))
async def test_no_authorization_without_an_explicit_token(mode: str, httpx_mock: HTTPXMock, case: str,
                                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """The machine's Hugging Face token (environment or saved login) never reaches a local server."""
    monkeypatch.setenv("HF_TOKEN", "hf_CANARY_environment")
    (tmp_path / "hf-home").mkdir(exist_ok=True)
    (tmp_path / "hf-home" / "token").write_text("hf_CANARY_saved_login\n")
    client, method, args, kwargs = add_auth_response(httpx_mock, case)
    await call(mode, {**client, "bill_to": "acme"}, method, *args, **kwargs)
    request = only_request(httpx_mock)
    assert "authorization" not in request.headers
    assert "x-hf-bill-to" not in request.headers
    assert b"CANARY" not in request.content


@pytest.mark.parametrize("how", ["token", "api_key"])
@pytest.mark.parametrize("case", list(AUTH_CASES))
async def test_explicit_token_is_sent(mode: str, httpx_mock: HTTPXMock, case: str, how: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_CANARY_environment")
    client, method, args, kwargs = add_auth_response(httpx_mock, case)
    await call(mode, {**client, how: "sk-local-7f3a"}, method, *args, **kwargs)
    request = only_request(httpx_mock)
    assert request.headers["authorization"] == "Bearer sk-local-7f3a"  # what vLLM's and TGI's --api-key compare
