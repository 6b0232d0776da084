"""Structured output: response_format=<pydantic model> sends the model's JSON schema in the route's dialect and
returns the reply with `.parsed`, sync and async."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel
from pytest_httpx import HTTPXMock

from inferlink import AsyncInferenceClient, InferenceClient, StructuredOutputError
from inferlink.types import ChatCompletionOutput, ChatCompletionParsedOutput

HF_CHAT = "https://router.huggingface.co/hf-inference/models/org/m/v1/chat/completions"
LOCAL_CHAT = "http://127.0.0.1:8000/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "Biggest city of France, as JSON."}]


class City(BaseModel):
    name: str
    population: int


def reply(*contents: str | None) -> dict[str, Any]:
    return {"id": "c", "created": 1, "model": "m", "object": "chat.completion", "system_fingerprint": "fp",
            "choices": [{"index": i, "finish_reason": "stop", "message": {"role": "assistant", "content": c}}
                        for i, c in enumerate(contents)]}


def sent(httpx_mock: HTTPXMock) -> Any:
    return json.loads(httpx_mock.get_requests()[0].content)["response_format"]


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def chat(mode: str, **options: Any) -> Any:
    client_options = {k: options.pop(k) for k in ("model", "base_url") if k in options}
    if mode == "sync":
        with InferenceClient(**client_options) as client:
            return client.chat_completion(MESSAGES, **options)
    async with AsyncInferenceClient(**client_options) as aclient:
        return await aclient.chat_completion(MESSAGES, **options)


async def test_hf_inference_gets_tgi_grammar_and_reply_is_parsed(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HF_CHAT, json=reply('{"name": "Paris", "population": 2102650}'))
    result = await chat(mode, model="org/m", response_format=City)
    assert sent(httpx_mock) == {"type": "json_object", "value": City.model_json_schema()}
    assert isinstance(result, ChatCompletionParsedOutput) and isinstance(result, ChatCompletionOutput)
    assert result.choices[0].message.parsed == City(name="Paris", population=2102650)
    assert result.choices[0].message.content == '{"name": "Paris", "population": 2102650}'
    assert result.system_fingerprint == "fp" and result.object == "chat.completion"


async def test_openai_compatible_servers_get_json_schema(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=LOCAL_CHAT, json=reply('{"name": "Lyon", "population": 522250}', None))
    result = await chat(mode, base_url="http://127.0.0.1:8000/v1", model="qwen", response_format=City)
    assert sent(httpx_mock) == {"type": "json_schema",
                                "json_schema": {"name": "City", "schema": City.model_json_schema()}}
    assert result.choices[0].message.parsed == City(name="Lyon", population=522250)
    assert result.choices[1].message.parsed is None  # no content to parse (e.g. a tool call)


async def test_a_reply_that_does_not_validate_raises_with_the_text(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HF_CHAT, json=reply('{"name": "Paris"}'))
    with pytest.raises(StructuredOutputError) as info:
        await chat(mode, model="org/m", response_format=City)
    assert info.value.text == '{"name": "Paris"}'
    assert "City" in str(info.value) and "population" in str(info.value)


async def test_plain_response_formats_are_sent_as_given(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HF_CHAT, json=reply('{"a": 1}'))
    result = await chat(mode, model="org/m", response_format={"type": "json_object"})
    assert sent(httpx_mock) == {"type": "json_object"}
    assert type(result) is ChatCompletionOutput


def test_openai_surface_takes_the_model_too(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HF_CHAT, json=reply('{"name": "Nice", "population": 348085}'))
    with InferenceClient() as client:
        result = client.chat.completions.create(model="org/m", messages=MESSAGES, response_format=City)
    parsed = result.choices[0].message.parsed
    assert parsed is not None and parsed.name == "Nice"
