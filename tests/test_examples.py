"""Replay every example of every task spec, sync and async: the exact request that goes out, and the typed value
that comes back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from inferlink import AsyncInferenceClient, InferenceClient

from .conftest import jsonable, load_specs, materialize

TOKEN = "hf_example_token"
CASES = [(spec, example) for spec in load_specs() for example in spec["examples"]]
IDS = [f"{spec['task']}-{i}" for spec in load_specs() for i, _ in enumerate(spec["examples"])]


def _response(spec: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    response = example["response"]
    if "sse" in response:
        events = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in response["sse"])
        if spec["task"] == "chat-completion":
            events += b"data: [DONE]\n\n"
        return {"content": events, "headers": {"content-type": "text/event-stream"}}
    if "json" in response:
        return {"json": response["json"], "headers": response.get("headers", {})}
    return {"content": materialize(response["content"]), "headers": response.get("headers", {})}


def _call_args(spec: dict[str, Any], example: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    args = materialize(example["args"])
    positional = []
    for arg in spec["call"]["args"]:
        if arg.get("positional") and arg["name"] in args:
            positional.append(args.pop(arg["name"]))
        elif arg.get("positional"):
            break
    if example.get("model"):
        args["model"] = example["model"]
    return positional, args


def _check_request(request: httpx.Request, example: dict[str, Any]) -> None:
    expected = example["request"]
    assert request.method == "POST"
    assert str(request.url) == expected["url"]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"].startswith("inferlink/")
    for name, value in expected.get("headers", {}).items():
        assert request.headers[name] == value
    if "json" in expected:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == expected["json"]
    else:
        assert request.content == materialize(expected["content"])


@pytest.mark.parametrize(("spec", "example"), CASES, ids=IDS)
def test_sync(spec: dict[str, Any], example: dict[str, Any], httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(**_response(spec, example))
    positional, kwargs = _call_args(spec, example)
    with InferenceClient(token=TOKEN) as client:
        result = getattr(client, spec["method"])(*positional, **kwargs)
        if kwargs.get("stream"):
            result = list(result)
    _check_request(httpx_mock.get_requests()[0], example)
    assert jsonable(result) == example["result"]


@pytest.mark.parametrize(("spec", "example"), CASES, ids=IDS)
def test_async(spec: dict[str, Any], example: dict[str, Any], httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(**_response(spec, example))
    positional, kwargs = _call_args(spec, example)

    async def run() -> Any:
        async with AsyncInferenceClient(token=TOKEN) as client:
            result = await getattr(client, spec["method"])(*positional, **kwargs)
            if kwargs.get("stream"):
                result = [chunk async for chunk in result]
            return result

    result = asyncio.run(run())
    _check_request(httpx_mock.get_requests()[0], example)
    assert jsonable(result) == example["result"]
