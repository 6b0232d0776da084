"""Bad input is rejected before anything is sent, sync and async: wrong argument types and values, unusable binary
inputs, bad client settings, calls that cannot be routed, and a missing optional dependency. Every case ends with
no request recorded."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from inferlink import (
    AsyncInferenceClient,
    InferenceClient,
    InferenceError,
    InvalidInputError,
    MissingDependencyError,
)

TOKEN = "hf_bad_input_token"
MODEL = "org/m"
URL = "https://router.huggingface.co/hf-inference/models/org/m"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 16


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def nothing_sent(httpx_mock: HTTPXMock) -> Iterator[HTTPXMock]:
    yield httpx_mock
    assert httpx_mock.get_requests() == []


async def call(mode: str, method: str, *args: Any, client: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"model": MODEL, "token": TOKEN, **(client or {})}
    if mode == "sync":
        with InferenceClient(**options) as sync_client:
            return getattr(sync_client, method)(*args, **kwargs)
    async with AsyncInferenceClient(**options) as async_client:
        return await getattr(async_client, method)(*args, **kwargs)


async def rejected(mode: str, method: str, *args: Any, **kwargs: Any) -> str:
    """The message of the InvalidInputError the call raises (exactly that class, which is also a ValueError)."""
    with pytest.raises(BaseException) as info:
        await call(mode, method, *args, **kwargs)
    error = info.value
    assert type(error) is InvalidInputError, f"expected InvalidInputError, got {type(error).__name__}: {error}"
    assert isinstance(error, ValueError)
    assert isinstance(error, InferenceError)
    return str(error)


# --- wrong argument types and values ------------------------------------------------------------------------------

WRONG = [
    ("text_classification", (123,), {}, "text", ["valid string", "123"]),
    ("text_classification", ("x",), {"top_k": "2"}, "top_k", ["valid integer", "'2'"]),
    ("text_classification", ("x",), {"top_k": 2.5}, "top_k", ["valid integer", "2.5"]),
    ("text_classification", ("x",), {"top_k": True}, "top_k", ["valid integer"]),
    ("text_classification", ("x",), {"function_to_apply": "bogus"}, "function_to_apply",
     ["'sigmoid'", "'softmax'", "'none'", "bogus"]),
    ("chat_completion", (), {"messages": "hi"}, "messages", ["array", "'hi'"]),
    ("chat_completion", ([{"role": "user"}],), {"temperature": "hot"}, "temperature", ["valid number", "hot"]),
    ("chat_completion", ([{"content": "hi"}],), {}, "messages[0].role", ["Field required"]),
    ("chat_completion", ([{"role": "user", "content": "a"}, {"role": 7, "content": "b"}],), {},
     "messages[1].role", ["valid string"]),
    ("feature_extraction", (["a", 1],), {}, "text", ["valid string", "[1]"]),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "argument", "expected"), WRONG,
                         ids=[f"{w[0]}-{w[3]}-{i}" for i, w in enumerate(WRONG)])
async def test_wrong_argument(mode: str, nothing_sent: HTTPXMock, method: str, args: tuple[Any, ...],
                              kwargs: dict[str, Any], argument: str, expected: list[str]) -> None:
    message = await rejected(mode, method, *args, **kwargs)
    assert f"{method}()" in message
    assert argument in message
    for word in expected:
        assert word in message


async def test_argument_names_are_python_names(mode: str, nothing_sent: HTTPXMock) -> None:
    """A nested request path (parameters.top_k, inputs) is reported by the argument the caller typed."""
    message = await rejected(mode, "text_classification", "x", top_k="2")
    assert "parameters" not in message
    message = await rejected(mode, "text_classification", 123)
    assert "inputs" not in message


# --- unusable binary inputs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [3.5, {"image": "x"}, None.__class__, ["a.png"]],
                         ids=["float", "dict", "type", "list"])
async def test_unsupported_object_as_image(mode: str, nothing_sent: HTTPXMock, value: Any) -> None:
    message = await rejected(mode, "image_classification", value)
    assert "image_classification()" in message
    assert "image" in message
    assert type(value).__name__ in message


async def test_missing_file(mode: str, nothing_sent: HTTPXMock, tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    for value in (missing, str(missing)):
        message = await rejected(mode, "image_classification", value)
        assert "image_classification()" in message
        assert "image" in message
        assert str(missing) in message


async def test_bad_image_inside_json_body(mode: str, nothing_sent: HTTPXMock, tmp_path: Path) -> None:
    message = await rejected(mode, "visual_question_answering", tmp_path / "nope.png", "what?")
    assert "visual_question_answering()" in message
    assert "image" in message


async def test_bad_data_url(mode: str, nothing_sent: HTTPXMock) -> None:
    await rejected(mode, "image_classification", "data:image/png;base64,@@not base64@@")


# --- client construction -------------------------------------------------------------------------------------------

BAD_CLIENTS = [
    ({"token": "hf_a", "api_key": "hf_b"}, "api_key"),
    ({"base_url": "localhost:8080"}, "base_url"),
    ({"base_url": "ftp://example.com/v1"}, "base_url"),
    ({"model": "http://127.0.0.1:8080", "base_url": "http://127.0.0.1:8081"}, "base_url"),
    ({"provider": "no-such-provider"}, "no-such-provider"),
    ({"timeout": -1}, "timeout"),
    ({"timeout": 0}, "timeout"),
    ({"timeout": "5"}, "timeout"),
    ({"token": ""}, "token"),
]


@pytest.mark.parametrize("cls", [InferenceClient, AsyncInferenceClient], ids=["sync", "async"])
@pytest.mark.parametrize(("options", "word"), BAD_CLIENTS, ids=[f"{i}-{w}" for i, (_, w) in enumerate(BAD_CLIENTS)])
def test_bad_client_settings(nothing_sent: HTTPXMock, cls: type[Any], options: dict[str, Any], word: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        cls(**options)
    assert isinstance(info.value, ValueError)
    assert f"{cls.__name__}()" in str(info.value)
    assert word in str(info.value)


@pytest.mark.parametrize("cls", [InferenceClient, AsyncInferenceClient], ids=["sync", "async"])
def test_bad_client_headers(nothing_sent: HTTPXMock, cls: type[Any]) -> None:
    """Beyond the brief: headers that are not a mapping are a bad setting like the others."""
    with pytest.raises(InvalidInputError) as info:
        cls(headers="x-one: 1")
    assert "headers" in str(info.value)


# --- per-call settings (beyond the brief) -------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "word"), [
    ({"timeout": -1}, "timeout"),
    ({"timeout": 0}, "timeout"),
    ({"timeout": "5"}, "timeout"),
    ({"model": 123}, "model"),
    ({"headers": "x-one: 1"}, "headers"),
    ({"extra_body": ["not", "a", "mapping"]}, "extra_body"),
], ids=["timeout-negative", "timeout-zero", "timeout-str", "model-int", "headers-str", "extra_body-list"])
async def test_bad_call_settings(mode: str, nothing_sent: HTTPXMock, kwargs: dict[str, Any], word: str) -> None:
    message = await rejected(mode, "text_classification", "x", **kwargs)
    assert "text_classification()" in message
    assert word in message


# --- routing -------------------------------------------------------------------------------------------------------

async def test_no_model(mode: str, nothing_sent: HTTPXMock) -> None:
    message = await rejected(mode, "text_classification", "x", client={"model": None})
    assert "text_classification()" in message
    assert "model=" in message


async def test_provider_does_not_serve_the_task(mode: str, nothing_sent: HTTPXMock) -> None:
    message = await rejected(mode, "text_classification", "x", client={"provider": "tgi"})
    assert "text_classification()" in message
    assert "'tgi'" in message
    assert "text-classification" in message
    assert "hf-inference" in message.split("tgi", 1)[1]


async def test_provider_list_names_exactly_the_serving_providers(mode: str, nothing_sent: HTTPXMock) -> None:
    message = await rejected(mode, "feature_extraction", "x", client={"provider": "tgi"})
    tail = message.rsplit(":", 1)[1]
    named = {name.strip() for name in tail.split(",")}
    assert named == {"deepinfra", "hf-inference", "litellm", "llama.cpp", "ollama", "scaleway", "together", "vllm"}


async def test_url_model_with_base_url_on_the_call(mode: str, nothing_sent: HTTPXMock) -> None:
    message = await rejected(mode, "text_classification", "x", model="http://127.0.0.1:8080",
                             client={"model": None, "base_url": "http://127.0.0.1:8081"})
    assert "base_url" in message


# --- a missing optional dependency -----------------------------------------------------------------------------------

@pytest.fixture
def no_pillow(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "PIL" or m.startswith("PIL.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.setitem(sys.modules, "PIL.Image", None)


async def test_pil_output_without_pillow(mode: str, nothing_sent: HTTPXMock, no_pillow: None) -> None:
    cases: list[dict[str, Any]] = [{}, {"output_type": "pil"}]
    for kwargs in cases:
        with pytest.raises(MissingDependencyError) as info:
            await call(mode, "text_to_image", "a cat", **kwargs)
        error = info.value
        assert isinstance(error, ImportError)
        assert isinstance(error, InferenceError)
        assert "text_to_image()" in str(error)
        assert "inferlink[images]" in str(error)
        assert "Pillow" in str(error)


async def test_bytes_output_without_pillow(mode: str, httpx_mock: HTTPXMock, no_pillow: None) -> None:
    httpx_mock.add_response(url=URL, method="POST", content=PNG, headers={"content-type": "image/png"})
    result = await call(mode, "text_to_image", "a cat", output_type="bytes")
    assert result == PNG
    assert len(httpx_mock.get_requests()) == 1
