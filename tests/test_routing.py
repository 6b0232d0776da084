"""Where calls go and what they carry: the router, endpoint URLs, OpenAI-compatible and TGI servers, auth."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from inferlink import AsyncInferenceClient, InferenceClient, InvalidInputError
from inferlink._routing import chat_url
from inferlink.providers import ProviderName
from inferlink.types import TextGenerationOutput

ROUTER = "https://router.huggingface.co/hf-inference"
CHAT_REPLY = {"id": "c1", "created": 1, "model": "m", "object": "chat.completion",
              "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}}]}
MESSAGES = [{"role": "user", "content": "Hello"}]


def body(httpx_mock: HTTPXMock, index: int = 0) -> Any:
    return json.loads(httpx_mock.get_requests()[index].content)


@pytest.mark.parametrize(("base", "expected"), [
    ("http://h:8080", "http://h:8080/v1/chat/completions"),
    ("http://h:8080/", "http://h:8080/v1/chat/completions"),
    ("http://h:8080/v1", "http://h:8080/v1/chat/completions"),
    ("http://h:8080/v1/", "http://h:8080/v1/chat/completions"),
    ("http://h/v1/chat/completions", "http://h/v1/chat/completions"),
    ("http://h/custom", "http://h/custom/v1/chat/completions"),
    ("https://e.cloud/path?api-version=2", "https://e.cloud/path/v1/chat/completions?api-version=2"),
])
def test_chat_url(base: str, expected: str) -> None:
    assert chat_url(base) == expected


def test_endpoint_url_is_used_as_is_for_tasks(httpx_mock: HTTPXMock) -> None:
    url = "https://abc123.us-east-1.aws.endpoints.huggingface.cloud"
    httpx_mock.add_response(url=url, json=[{"label": "POSITIVE", "score": 0.9}])
    with InferenceClient(model=url, token="hf_x") as client:
        assert client.text_classification("good")[0].label == "POSITIVE"
    assert body(httpx_mock) == {"inputs": "good"}


def test_endpoint_chat_sends_no_invented_model(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:8080/v1/chat/completions", json=CHAT_REPLY)
    httpx_mock.add_response(url="http://127.0.0.1:8080/v1/chat/completions", json=CHAT_REPLY)
    with InferenceClient(model="http://127.0.0.1:8080") as client:
        client.chat_completion(MESSAGES)
        client.chat_completion(MESSAGES, model="my-served-model")
    assert "model" not in body(httpx_mock, 0)
    first = list(body(httpx_mock, 1))
    assert first[0] == "model" and body(httpx_mock, 1)["model"] == "my-served-model"


def test_per_call_model_wins_for_chat(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{ROUTER}/models/org/B/v1/chat/completions", json=CHAT_REPLY)
    with InferenceClient(model="org/A", token="hf_x") as client:
        client.chat_completion(MESSAGES, model="org/B")
    assert body(httpx_mock)["model"] == "org/B"


def test_openai_compatible_completions_dialect(httpx_mock: HTTPXMock) -> None:
    reply = {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
             "choices": [{"index": 0, "text": " world", "finish_reason": "length", "logprobs": None}],
             "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    httpx_mock.add_response(url="http://127.0.0.1:8000/v1/completions", json=reply)
    httpx_mock.add_response(url="http://127.0.0.1:8000/v1/completions", json=reply)
    with InferenceClient(base_url="http://127.0.0.1:8000/v1", model="qwen") as client:
        assert client.text_generation("Hello", max_new_tokens=2, temperature=0.5) == " world"
        out = client.text_generation("Hello", details=True, extra_body={"min_p": 0.1})
        with pytest.raises(InvalidInputError, match="watermark.*extra_body"):
            client.text_generation("Hello", watermark=True)
    assert body(httpx_mock, 0) == {"model": "qwen", "prompt": "Hello", "stream": False, "max_tokens": 2,
                                   "temperature": 0.5}
    assert body(httpx_mock, 1)["min_p"] == 0.1
    assert isinstance(out, TextGenerationOutput)
    assert out.details is not None and out.details.finish_reason == "length"
    assert out.details.generated_tokens == 2


def test_openai_compatible_embeddings_dialect(httpx_mock: HTTPXMock) -> None:
    reply = {"object": "list", "model": "e", "data": [
        {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
        {"object": "embedding", "index": 1, "embedding": [0.3, 0.4]}]}
    httpx_mock.add_response(url="http://127.0.0.1:8000/v1/embeddings", json=reply)
    with InferenceClient(base_url="http://127.0.0.1:8000/v1") as client:
        vectors = client.feature_extraction(["a", "b"], dimensions=2, model="embed")
    assert vectors == [[0.1, 0.2], [0.3, 0.4]]
    assert body(httpx_mock) == {"model": "embed", "input": ["a", "b"], "dimensions": 2}


def test_tgi_generate_routes(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:8080/generate", json={"generated_text": "ok"})
    httpx_mock.add_response(url="http://127.0.0.1:8080/v1/chat/completions", json=CHAT_REPLY)
    with InferenceClient(provider="tgi", base_url="http://127.0.0.1:8080") as client:
        assert client.text_generation("x", max_new_tokens=3) == "ok"
        client.chat_completion(MESSAGES)
    assert body(httpx_mock, 0) == {"inputs": "x", "parameters": {"details": False, "max_new_tokens": 3}}
    assert body(httpx_mock, 1)["model"] == "tgi"


@pytest.mark.parametrize(("provider", "port"), [("llama.cpp", 8080), ("vllm", 8000), ("ollama", 11434),
                                                 ("litellm", 4000), ("tgi", 8080)])
def test_local_providers_default_addresses(provider: ProviderName, port: int, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"http://localhost:{port}/v1/chat/completions", json=CHAT_REPLY)
    with InferenceClient(provider=provider) as client:
        client.chat_completion(MESSAGES, model="m")


def test_implicit_token_only_reaches_hugging_face(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_CANARY_implicit")
    httpx_mock.add_response(url=f"{ROUTER}/models/org/m", json=[{"label": "a", "score": 1.0}])
    httpx_mock.add_response(url="http://127.0.0.1:9999/", json=[{"label": "a", "score": 1.0}])
    httpx_mock.add_response(url="http://localhost:8080/v1/chat/completions", json=CHAT_REPLY)
    with InferenceClient(model="org/m", bill_to="acme") as client:
        client.text_classification("x")
    with InferenceClient(model="http://127.0.0.1:9999/", bill_to="acme") as client:
        client.text_classification("x")
    with InferenceClient(provider="llama.cpp") as client:
        client.chat_completion(MESSAGES)
    router, local, llama = httpx_mock.get_requests()
    assert router.headers["authorization"] == "Bearer hf_CANARY_implicit"
    assert router.headers["x-hf-bill-to"] == "acme"
    for request in (local, llama):
        assert "authorization" not in request.headers
        assert "x-hf-bill-to" not in request.headers


def test_saved_login_token_is_read(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    (tmp_path / "token").write_text("hf_saved_login\n")
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "token"))
    httpx_mock.add_response(json=[{"label": "a", "score": 1.0}])
    with InferenceClient(model="org/m") as client:
        client.text_classification("x")
    assert httpx_mock.get_requests()[0].headers["authorization"] == "Bearer hf_saved_login"


def test_explicit_token_goes_where_the_caller_points(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:4000/v1/chat/completions", json=CHAT_REPLY)
    with InferenceClient(base_url="http://127.0.0.1:4000/v1", api_key="sk-master") as client:
        client.chat_completion(MESSAGES, model="gpt-mock")
    assert httpx_mock.get_requests()[0].headers["authorization"] == "Bearer sk-master"


def test_headers_merge_and_extra_body(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=[{"label": "a", "score": 1.0}])
    with InferenceClient(model="org/m", token="hf_x", headers={"x-a": "client", "x-b": "client"}) as client:
        client.text_classification("x", top_k=1, headers={"x-b": "call"},
                                   extra_body={"parameters": {"truncation": True}, "options": {"wait": True}})
    request = httpx_mock.get_requests()[0]
    assert (request.headers["x-a"], request.headers["x-b"]) == ("client", "call")
    assert json.loads(request.content) == {"inputs": "x", "parameters": {"top_k": 1, "truncation": True},
                                           "options": {"wait": True}}


async def test_async_routes_the_same(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:8000/v1/embeddings",
                            json={"data": [{"embedding": [1.0, 2.0]}]})
    async with AsyncInferenceClient(base_url="http://127.0.0.1:8000/v1") as client:
        assert await client.feature_extraction("a") == [[1.0, 2.0]]
    assert body(httpx_mock) == {"input": "a"}


TGI_INFO = {"model_id": "meta-llama/Llama-3.1-8B-Instruct", "max_input_tokens": 4095, "max_total_tokens": 4096,
            "version": "3.0.1", "router": "text-generation-router"}


def test_tgi_info_and_health(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="http://127.0.0.1:8080/info", method="GET", json=TGI_INFO)
    httpx_mock.add_response(url="http://127.0.0.1:8080/health", method="GET")
    httpx_mock.add_response(url="http://127.0.0.1:8080/health", method="GET", status_code=503)
    with InferenceClient(provider="tgi", base_url="http://127.0.0.1:8080", max_retries=0) as client:
        assert client.get_endpoint_info()["model_id"] == "meta-llama/Llama-3.1-8B-Instruct"
        assert client.health_check() is True
        assert client.health_check() is False


def test_endpoint_url_info_and_unreachable_health(httpx_mock: HTTPXMock) -> None:
    url = "https://abc.us-east-1.aws.endpoints.huggingface.cloud"
    httpx_mock.add_response(url=f"{url}/info", method="GET", json=TGI_INFO)
    httpx_mock.add_exception(httpx.ConnectError("refused"), url="http://127.0.0.1:9/health")
    with InferenceClient(model=url, token="hf_x") as client:
        assert client.get_endpoint_info()["version"] == "3.0.1"
        assert client.health_check("http://127.0.0.1:9") is False
    assert httpx_mock.get_requests()[0].headers["authorization"] == "Bearer hf_x"


def test_service_routes_need_a_server_that_has_them(httpx_mock: HTTPXMock) -> None:
    with InferenceClient(model="org/m") as client:
        with pytest.raises(InvalidInputError, match="tgi"):
            client.get_endpoint_info()
    with InferenceClient(provider="vllm") as client:
        with pytest.raises(InvalidInputError, match="no info route"):
            client.get_endpoint_info()
    assert httpx_mock.get_requests() == []


async def test_async_info_and_health(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="http://localhost:8080/info", method="GET", json=TGI_INFO)
    httpx_mock.add_response(url="http://localhost:8080/health", method="GET")
    async with AsyncInferenceClient(provider="tgi") as client:
        assert (await client.get_endpoint_info())["max_total_tokens"] == 4096
        assert await client.health_check() is True
