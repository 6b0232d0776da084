"""Inference Providers: every route example of specs/providers replayed (through the router with an HF token, and
directly with the provider's key), the Hub's model mapping, and where tokens may go. Sync and async."""

from __future__ import annotations

import base64
import email.policy
import json
import logging
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from inferlink import AsyncInferenceClient, InferenceClient, InvalidInputError, _mapping

from .conftest import SPECS, jsonable, materialize

HF_TOKEN = "hf_CANARY_provider_test"
PROVIDER_KEY = "sk-provider-key"
METHODS = {json.loads(p.read_text())["task"]: json.loads(p.read_text()) for p in (SPECS / "tasks").glob("*.json")}
PROVIDERS = [json.loads(p.read_text()) for p in sorted((SPECS / "providers").glob("*.json"))]
CASES = [(p, e) for p in PROVIDERS for e in p.get("examples", [])]
IDS = [f"{p['name']}-{e['task']}-{e['key']}-{i}" for p in PROVIDERS for i, e in enumerate(p.get("examples", []))]
HUB = "https://huggingface.co/api/models/meta-llama/Llama-3.3-70B-Instruct?expand%5B%5D=inferenceProviderMapping"
CHAT = {"id": "c", "created": 1, "model": "m", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}}]}
MESSAGES = [{"role": "user", "content": "Hello"}]


def call_args(task: dict[str, Any], args: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    values = materialize(dict(args))
    positional = [values.pop(a["name"]) for a in task["call"]["args"] if a.get("positional") and a["name"] in values]
    return positional, values


async def run(mode: str, method: str, args: list[Any], kwargs: dict[str, Any], **options: Any) -> Any:
    if mode == "sync":
        with InferenceClient(**options) as client:
            return getattr(client, method)(*args, **kwargs)
    async with AsyncInferenceClient(**options) as aclient:
        return await getattr(aclient, method)(*args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def mock(httpx_mock: HTTPXMock, url: str, method: str, response: dict[str, Any]) -> None:
    if "json" in response:
        httpx_mock.add_response(url=url, method=method, json=response["json"], status_code=response.get("status", 200))
    else:
        httpx_mock.add_response(url=url, method=method, content=materialize(response["content"]),
                                headers=response.get("headers", {}), status_code=response.get("status", 200))


def multipart(request: httpx.Request) -> dict[str, Any]:
    """A multipart/form-data body in the examples' notation: fields as text, files with name, type and content."""
    message = BytesParser(policy=email.policy.default).parsebytes(
        f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode() + request.content)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        if part.get_filename():
            fields[name] = {"filename": part.get_filename(), "content_type": part.get_content_type(),
                            "$base64": base64.b64encode(payload).decode()}
        else:
            fields[name] = payload.decode()
    return fields


@pytest.mark.parametrize(("provider", "example"), CASES, ids=IDS)
async def test_route(provider: dict[str, Any], example: dict[str, Any], mode: str, httpx_mock: HTTPXMock) -> None:
    """The exact submission, then each GET of the job that follows it (polls, result, download), then the typed
    result. A token goes only where the example says (the call's own API), never to a result's host."""
    task = METHODS[example["task"]]
    token = HF_TOKEN if example["key"] == "hf" else PROVIDER_KEY
    mock(httpx_mock, example["request"]["url"], "POST", example["response"])
    follow = example.get("follow", [])
    for step in follow:
        mock(httpx_mock, step["url"], "GET", step["response"])
    args, kwargs = call_args(task, example["args"])
    result = await run(mode, task["method"], args, {**kwargs, "model": example["model"]}, provider=provider["name"],
                       token=token, provider_mapping={example["model"]: {provider["name"]: example["provider_id"]}},
                       poll_interval=0.001)
    request, *gets = httpx_mock.get_requests()
    if "multipart" in example["request"]:
        assert multipart(request) == example["request"]["multipart"]
    else:
        assert json.loads(request.content) == example["request"]["json"]
    scheme = "Key" if provider.get("auth") == "key" and example["key"] == "provider" else "Bearer"
    assert request.headers["authorization"] == f"{scheme} {token}"
    for name, value in example["request"].get("headers", {}).items():
        assert request.headers[name] == value
    assert [str(get.url) for get in gets] == [step["url"] for step in follow]
    for get, step in zip(gets, follow):
        assert get.headers.get("authorization") == (f"{scheme} {token}" if step["auth"] else None), step["url"]
    for sent in (request, *gets):
        if example["key"] == "provider":
            assert HF_TOKEN not in str(sent.headers)
    assert jsonable(result) == example["result"]


def test_every_provider_route_has_both_examples() -> None:
    for provider in PROVIDERS:
        if not provider.get("examples"):
            continue
        for task in provider["routes"]:
            keys = {e["key"] for e in provider["examples"] if e["task"] == task}
            expected = {"hf", "provider"} if provider.get("router") else {"provider"}
            assert expected <= keys, f"{provider['name']}/{task}: examples for {sorted(expected - keys)} missing"


# --- the Hub's model mapping ---------------------------------------------------------------------------------------

LIST_SHAPE = {"inferenceProviderMapping": [
    {"provider": "sambanova", "providerId": "Meta-Llama-3.3-70B-Instruct", "status": "live", "task": "conversational"},
    {"provider": "groq", "providerId": "llama-3.3-70b-versatile", "status": "live", "task": "conversational"},
]}
DICT_SHAPE = {"inferenceProviderMapping": {
    "together": {"providerId": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "status": "staging",
                 "task": "conversational"}}}


async def test_hub_mapping_list_shape_is_fetched_once(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HUB, method="GET", json=LIST_SHAPE)
    for _ in range(2):
        httpx_mock.add_response(url="https://router.huggingface.co/groq/openai/v1/chat/completions", json=CHAT)
    if mode == "sync":
        with InferenceClient(provider="groq", token=HF_TOKEN) as client:
            for _ in range(2):
                client.chat_completion(MESSAGES, model="meta-llama/Llama-3.3-70B-Instruct")
    else:
        async with AsyncInferenceClient(provider="groq", token=HF_TOKEN) as aclient:
            for _ in range(2):
                await aclient.chat_completion(MESSAGES, model="meta-llama/Llama-3.3-70B-Instruct")
    hub, first, second = httpx_mock.get_requests()
    assert hub.headers["authorization"] == f"Bearer {HF_TOKEN}"
    assert json.loads(first.content)["model"] == "llama-3.3-70b-versatile"
    assert json.loads(second.content)["model"] == "llama-3.3-70b-versatile"


async def test_hub_mapping_dict_shape_and_staging_warning(mode: str, httpx_mock: HTTPXMock,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    httpx_mock.add_response(url=HUB, method="GET", json=DICT_SHAPE)
    httpx_mock.add_response(url="https://router.huggingface.co/together/v1/chat/completions", json=CHAT)
    with caplog.at_level(logging.WARNING, logger="inferlink"):
        await run(mode, "chat_completion", [MESSAGES], {"model": "meta-llama/Llama-3.3-70B-Instruct"},
                  provider="together", token=HF_TOKEN)
    assert json.loads(httpx_mock.get_requests()[1].content)["model"] == "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    assert any("staging" in r.getMessage() for r in caplog.records)


async def test_a_provider_that_does_not_serve_the_model_names_those_that_do(mode: str,
                                                                          httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=HUB, method="GET", json=LIST_SHAPE)
    with pytest.raises(InvalidInputError, match="sambanova, groq"):
        await run(mode, "chat_completion", [MESSAGES], {"model": "meta-llama/Llama-3.3-70B-Instruct"},
                  provider="cerebras", token=HF_TOKEN)
    assert len(httpx_mock.get_requests()) == 1  # the mapping only


def test_mapping_cache_expires(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    httpx_mock.add_response(url=HUB, method="GET", json=LIST_SHAPE, is_reusable=True)
    httpx_mock.add_response(url="https://router.huggingface.co/groq/openai/v1/chat/completions", json=CHAT,
                            is_reusable=True)
    monkeypatch.setattr(_mapping, "TTL", 0.0)
    with InferenceClient(provider="groq", token=HF_TOKEN) as client:
        client.chat_completion(MESSAGES, model="meta-llama/Llama-3.3-70B-Instruct")
        client.chat_completion(MESSAGES, model="meta-llama/Llama-3.3-70B-Instruct")
    assert [r.method for r in httpx_mock.get_requests()] == ["GET", "POST", "GET", "POST"]


def test_mapping_file_from_the_environment(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"meta-llama/Llama-3.3-70B-Instruct": {"groq": "pinned-llama"}}))
    monkeypatch.setenv("INFERLINK_PROVIDER_MAPPING", str(path))
    httpx_mock.add_response(url="https://api.groq.com/openai/v1/chat/completions", json=CHAT)
    with InferenceClient(provider="groq", api_key=PROVIDER_KEY) as client:
        client.chat_completion(MESSAGES, model="meta-llama/Llama-3.3-70B-Instruct")
    (request,) = httpx_mock.get_requests()
    assert json.loads(request.content)["model"] == "pinned-llama"


# --- where tokens go -----------------------------------------------------------------------------------------------

def test_an_implicit_hf_token_goes_to_the_router_only(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    mapping = {"meta-llama/Llama-3.3-70B-Instruct": {"groq": "llama-3.3-70b-versatile"}}
    httpx_mock.add_response(url="https://router.huggingface.co/groq/openai/v1/chat/completions", json=CHAT)
    httpx_mock.add_response(url="https://api.groq.com/openai/v1/chat/completions", json=CHAT)
    with InferenceClient(provider="groq", provider_mapping=mapping, bill_to="acme") as client:
        client.chat_completion(MESSAGES, model="meta-llama/Llama-3.3-70B-Instruct")
    with InferenceClient(provider="groq", api_key=PROVIDER_KEY, provider_mapping=mapping, bill_to="acme") as client:
        client.chat_completion(MESSAGES, model="meta-llama/Llama-3.3-70B-Instruct")
    routed, direct = httpx_mock.get_requests()
    assert routed.headers["authorization"] == f"Bearer {HF_TOKEN}" and routed.headers["x-hf-bill-to"] == "acme"
    assert direct.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert HF_TOKEN not in str(direct.headers) and "x-hf-bill-to" not in direct.headers


def test_an_hf_token_is_refused_where_it_cannot_go(httpx_mock: HTTPXMock) -> None:
    with InferenceClient(provider="openai", token=HF_TOKEN) as client:
        with pytest.raises(InvalidInputError, match="own key"):
            client.chat_completion(MESSAGES, model="gpt-4o-mini")
    assert httpx_mock.get_requests() == []


def test_no_token_at_all_is_refused_before_sending(httpx_mock: HTTPXMock) -> None:
    mapping = {"m/m": {"groq": "x"}}
    with InferenceClient(provider="groq", provider_mapping=mapping) as client:
        with pytest.raises(InvalidInputError, match="needs a token"):
            client.chat_completion(MESSAGES, model="m/m")
    assert httpx_mock.get_requests() == []


def test_no_auth_header_survives_a_redirect_to_another_host(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://api.groq.com/openai/v1/chat/completions", status_code=307,
                            headers={"location": "https://elsewhere.example/v1/chat/completions"})
    httpx_mock.add_response(url="https://elsewhere.example/v1/chat/completions", json=CHAT)
    with InferenceClient(provider="groq", api_key=PROVIDER_KEY, provider_mapping={"m/m": {"groq": "x"}}) as client:
        client.chat_completion(MESSAGES, model="m/m")
    first, redirected = httpx_mock.get_requests()
    assert first.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert "authorization" not in redirected.headers


# --- provider="auto" -------------------------------------------------------------------------------------------------

EMBED_HUB = "https://huggingface.co/api/models/BAAI/bge-m3?expand%5B%5D=inferenceProviderMapping"
EMBED_MAPPING = {"inferenceProviderMapping": [
    {"provider": "sambanova", "providerId": "bge", "status": "live", "task": "feature-extraction"},
    {"provider": "scaleway", "providerId": "bge-m3-scw", "status": "error", "task": "feature-extraction"},
    {"provider": "together", "providerId": "BAAI/bge-m3", "status": "live", "task": "feature-extraction"},
    {"provider": "deepinfra", "providerId": "BAAI/bge-m3", "status": "live", "task": "feature-extraction"},
]}
EMBEDDINGS = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}]}


async def test_auto_chat_uses_the_routers_own_selection(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://router.huggingface.co/v1/chat/completions", json=CHAT)
    await run(mode, "chat_completion", [MESSAGES], {"model": "meta-llama/Llama-3.3-70B-Instruct"}, provider="auto",
              token=HF_TOKEN)
    (request,) = httpx_mock.get_requests()
    assert json.loads(request.content)["model"] == "meta-llama/Llama-3.3-70B-Instruct"
    assert request.headers["authorization"] == f"Bearer {HF_TOKEN}"


async def test_auto_skips_unknown_and_broken_providers_and_fails_over(mode: str, httpx_mock: HTTPXMock,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    httpx_mock.add_response(url=EMBED_HUB, method="GET", json=EMBED_MAPPING)
    httpx_mock.add_response(url="https://router.huggingface.co/together/v1/embeddings", status_code=503,
                            json={"error": "overloaded"})
    httpx_mock.add_response(url="https://router.huggingface.co/deepinfra/v1/openai/embeddings", json=EMBEDDINGS)
    with caplog.at_level(logging.DEBUG, logger="inferlink"):
        result = await run(mode, "feature_extraction", ["hello"], {"model": "BAAI/bge-m3", "max_retries": 0},
                           provider="auto", token=HF_TOKEN)
    assert result == [[0.5, 0.25]]
    hub, together, deepinfra = httpx_mock.get_requests()  # sambanova unknown here, scaleway in error: skipped
    assert json.loads(deepinfra.content) == {"model": "BAAI/bge-m3", "input": "hello"}
    assert any("together failed" in r.getMessage() for r in caplog.records)


async def test_auto_lists_every_attempt_when_all_fail(mode: str, httpx_mock: HTTPXMock) -> None:
    from inferlink import ProvidersFailedError

    httpx_mock.add_response(url=EMBED_HUB, method="GET", json=EMBED_MAPPING)
    httpx_mock.add_response(url="https://router.huggingface.co/together/v1/embeddings", status_code=429,
                            json={"error": "slow down"})
    httpx_mock.add_exception(httpx.ConnectError("refused"),
                             url="https://router.huggingface.co/deepinfra/v1/openai/embeddings")
    with pytest.raises(ProvidersFailedError) as info:
        await run(mode, "feature_extraction", ["hello"], {"model": "BAAI/bge-m3", "max_retries": 0},
                  provider="auto", token=HF_TOKEN)
    assert [p for p, _ in info.value.failures] == ["together", "deepinfra"]
    assert "together" in str(info.value) and "deepinfra" in str(info.value)


async def test_auto_does_not_fail_over_on_a_bad_request(mode: str, httpx_mock: HTTPXMock) -> None:
    from inferlink import BadRequestError

    httpx_mock.add_response(url=EMBED_HUB, method="GET", json=EMBED_MAPPING)
    httpx_mock.add_response(url="https://router.huggingface.co/together/v1/embeddings", status_code=400,
                            json={"error": "input too long"})
    with pytest.raises(BadRequestError):
        await run(mode, "feature_extraction", ["hello"], {"model": "BAAI/bge-m3"}, provider="auto",
                  token=HF_TOKEN)
    assert len(httpx_mock.get_requests()) == 2


async def test_auto_with_no_served_provider_says_so(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=EMBED_HUB, method="GET", json={"inferenceProviderMapping": []})
    with pytest.raises(InvalidInputError, match="no provider this client knows serves"):
        await run(mode, "feature_extraction", ["hello"], {"model": "BAAI/bge-m3"}, provider="auto",
                  token=HF_TOKEN)


async def test_auto_rejects_bad_input_before_the_mapping(mode: str, httpx_mock: HTTPXMock) -> None:
    with pytest.raises(InvalidInputError):
        await run(mode, "feature_extraction", [123], {"model": "BAAI/bge-m3"}, provider="auto", token=HF_TOKEN)
    assert httpx_mock.get_requests() == []


# --- providers registered at run time ------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _forget_registered_providers() -> Any:
    from inferlink._generated._tables import PROVIDERS as known

    before = set(known)
    yield
    for name in set(known) - before:
        del known[name]


def test_a_registered_provider_is_called_like_a_built_in_one(httpx_mock: HTTPXMock) -> None:
    from inferlink.providers import register_provider

    name = register_provider("my-llm", base_url="https://llm.example.com/", replace=True, routes={
        "chat-completion": {"path": "/v1/chat/completions", "dialect": "openai-chat"},
        "feature-extraction": {"path": "/v1/embeddings", "dialect": "openai-embeddings"},
    })
    httpx_mock.add_response(url="https://llm.example.com/v1/chat/completions", json=CHAT)
    httpx_mock.add_response(url="https://llm.example.com/v1/embeddings", json=EMBEDDINGS)
    with InferenceClient(provider=name, api_key=PROVIDER_KEY) as client:
        reply = client.chat_completion(MESSAGES, model="house-model")
        vectors = client.feature_extraction("hi", model="house-embedder")
    assert reply.choices[0].message.content == "Hi" and vectors == [[0.5, 0.25]]
    chat, embed = httpx_mock.get_requests()
    assert json.loads(chat.content)["model"] == "house-model"
    assert chat.headers["authorization"] == f"Bearer {PROVIDER_KEY}"


async def test_a_registered_provider_serves_the_async_client_too(httpx_mock: HTTPXMock,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from inferlink.providers import register_provider

    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)  # never sent to a registered third-party host
    name = register_provider("my-async-llm", base_url="https://llm2.example.com", replace=True,
                             routes={"chat-completion": {"path": "/chat", "dialect": "openai-chat"}})
    httpx_mock.add_response(url="https://llm2.example.com/chat", json=CHAT)
    async with AsyncInferenceClient(provider=name) as client:
        await client.chat_completion(MESSAGES, model="m")
    assert "authorization" not in httpx_mock.get_requests()[0].headers


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": "Bad Name"}, "lowercase"),
    ({"name": "groq"}, "already known"),
    ({"base_url": "ftp://x"}, "http"),
    ({"routes": {}}, "at least one route"),
    ({"routes": {"chat": {"path": "/x"}}}, "unknown task"),
    ({"routes": {"chat-completion": {"path": "/x", "dialect": "grpc"}}}, "unknown dialect"),
    ({"routes": {"chat-completion": {"url": "/x"}}}, "needs a 'path'"),
])
def test_registration_rejects_bad_definitions(kwargs: dict[str, Any], message: str) -> None:
    from inferlink.providers import register_provider

    options: dict[str, Any] = {"name": "fine-name", "base_url": "https://x.example",
                               "routes": {"chat-completion": {"path": "/v1/chat/completions"}}, **kwargs}
    with pytest.raises(InvalidInputError, match=message):
        register_provider(options.pop("name"), **options)


# --- images wrapped in JSON --------------------------------------------------------------------------------------------

NSCALE_IMAGES = "https://router.huggingface.co/nscale/v1/images/generations"
FLUX = {"black-forest-labs/FLUX.1-schnell": {"nscale": "black-forest-labs/FLUX.1-schnell"}}


async def test_base64_image_as_bytes(mode: str, httpx_mock: HTTPXMock) -> None:
    png = materialize({"$base64": "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGP4z8AARAwQCgAf7gP9i18U1AAAAABJRU5ErkJggg=="})
    httpx_mock.add_response(url=NSCALE_IMAGES, json={"data": [{"b64_json": base64.b64encode(png).decode()}]})
    result = await run(mode, "text_to_image", ["a cat"], {"model": "black-forest-labs/FLUX.1-schnell",
                                                          "output_type": "bytes"},
                       provider="nscale", token=HF_TOKEN, provider_mapping=FLUX)
    assert result == png
    assert "size" not in json.loads(httpx_mock.get_requests()[0].content)  # no width/height: no size


async def test_image_answer_without_an_image_is_a_response_error(mode: str, httpx_mock: HTTPXMock) -> None:
    from inferlink import ResponseError

    httpx_mock.add_response(url=NSCALE_IMAGES, json={"data": []})
    with pytest.raises(ResponseError, match="base64"):
        await run(mode, "text_to_image", ["a cat"], {"model": "black-forest-labs/FLUX.1-schnell",
                                                     "output_type": "bytes"},
                  provider="nscale", token=HF_TOKEN, provider_mapping=FLUX)


async def test_image_settings_a_provider_has_no_field_for_are_refused(mode: str, httpx_mock: HTTPXMock) -> None:
    with pytest.raises(InvalidInputError, match="guidance_scale"):
        await run(mode, "text_to_image", ["a cat"], {"model": "black-forest-labs/FLUX.1-schnell",
                                                     "guidance_scale": 3.5},
                  provider="nscale", token=HF_TOKEN, provider_mapping=FLUX)
    assert httpx_mock.get_requests() == []
