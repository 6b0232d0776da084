"""Session-scoped real servers for the live tests: llama.cpp (llama-cpp-python's server) on the tiny alphabet model,
and the LiteLLM proxy with mock models (plus models it proxies to that llama.cpp server).

The servers come from `make servers` (.venv-servers/). They are not optional: when they are missing the tests FAIL
and say so, unless INFERLINK_SKIP_LIVE=1 is set, which skips every live test."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from inferlink import _retry

from . import servers, tiny_gguf

LLAMA_KEY = "sk-inferlink-llama"
LITELLM_MASTER_KEY = "sk-inferlink-master"
ALPHABET = tiny_gguf.EXPECTED_ANSWER
LLAMA_READY_TIMEOUT = 60.0
LITELLM_READY_TIMEOUT = 120.0  # the proxy imports a lot before it listens (~10-20 s on 2 cores)


@dataclass(frozen=True)
class LiveServer:
    """What a test needs of a running server."""

    server: servers.Server
    api_key: str

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def requests(self, route: str, status: int) -> int:
        """How many `POST route` requests the server has answered with `status`, from its access log."""
        pattern = re.compile(rf'"POST {re.escape(route)} HTTP/1\.1" {status}\b')
        return len(pattern.findall(self.server.log()))

    def wait_requests(self, route: str, status: int, at_least: int, timeout: float = 3.0) -> int:
        """The count of `requests(route, status)` once it reaches `at_least` (the access log line can land a moment
        after the client has its answer), or whatever it is after `timeout`; then a short settle for extra lines."""
        deadline = time.monotonic() + timeout
        while self.requests(route, status) < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        return self.requests(route, status)


def _require(*installs: Path) -> None:
    if os.environ.get("INFERLINK_SKIP_LIVE") == "1":
        pytest.skip("INFERLINK_SKIP_LIVE=1: live server tests skipped")
    absent = servers.missing(*installs)
    if absent:
        pytest.fail("live test servers are not installed (missing: "
                    + ", ".join(str(p.relative_to(servers.ROOT)) for p in absent)
                    + "); run `make servers` (set INFERLINK_SKIP_LIVE=1 to skip these tests)", pytrace=False)


def _start(server: servers.Server, timeout: float) -> servers.Server:
    try:
        return server.start(timeout)
    except servers.ServerStartError as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require(servers.LLAMA_STAMP, servers.LLAMA_PYTHON)
    return tiny_gguf.write(tmp_path_factory.mktemp("model") / "tiny-alphabet.gguf")


@pytest.fixture(scope="session")
def llama(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """llama.cpp's server on the tiny model; every request needs LLAMA_KEY."""
    _require(servers.LLAMA_STAMP, servers.LLAMA_PYTHON)
    server = servers.llama_server(tiny_model, tmp_path_factory.mktemp("llama") / "server.log", api_key=LLAMA_KEY)
    _start(server, LLAMA_READY_TIMEOUT)
    try:
        yield LiveServer(server, LLAMA_KEY)
    finally:
        server.stop()


def litellm_models(llama_base_url: str) -> list[dict[str, object]]:
    """Mock models (answers made up by LiteLLM itself, errors included) and models LiteLLM proxies to llama.cpp
    (the mocks ignore stop and max_tokens and give one embedding whatever the input count; the real model does not)."""

    def mock(name: str, response: object) -> dict[str, object]:
        return {"model_name": name,
                "litellm_params": {"model": f"openai/{name}", "api_key": "sk-unused", "mock_response": response}}

    def proxied(name: str, key: str) -> dict[str, object]:
        return {"model_name": name,
                "litellm_params": {"model": "openai/tiny", "api_base": f"{llama_base_url}/v1", "api_key": key}}

    return [
        mock("mock-chat", ALPHABET),  # chat and text completions (streamed too) answer the alphabet
        mock("mock-embed", [0.25, 0.5, 0.75]),
        mock("mock-429", "litellm.RateLimitError"),
        mock("mock-500", "litellm.InternalServerError"),
        mock("mock-stream-error", "Exception: mock_streaming_error"),
        proxied("tiny", LLAMA_KEY),
        proxied("tiny-bad-key", "sk-not-the-llama-key"),  # llama.cpp answers LiteLLM 401
    ]


@pytest.fixture(scope="session")
def litellm_installed() -> None:
    _require(servers.LITELLM_STAMP, servers.LITELLM_BIN)


@pytest.fixture(scope="session")
def litellm(litellm_installed: None, llama: LiveServer,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The LiteLLM proxy (checked to be installed before llama.cpp starts); every request needs
    LITELLM_MASTER_KEY."""
    folder = tmp_path_factory.mktemp("litellm")
    config = servers.write_litellm_config(folder / "config.yaml", master_key=LITELLM_MASTER_KEY,
                                          models=litellm_models(llama.base_url))
    server = servers.litellm_proxy(config, folder / "proxy.log", master_key=LITELLM_MASTER_KEY)
    _start(server, LITELLM_READY_TIMEOUT)
    try:
        yield LiveServer(server, LITELLM_MASTER_KEY)
    finally:
        server.stop()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry backoff in milliseconds instead of seconds."""
    monkeypatch.setattr(_retry, "INITIAL_DELAY", 0.01)


@pytest.fixture(autouse=True)
def _servers_survive(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test, check that the servers it used are still running; if one died, fail with its log."""
    used = [request.getfixturevalue(name) for name in ("llama", "litellm") if name in request.fixturenames]
    yield
    for live in used:
        try:
            live.server.check_alive()
        except servers.ServerStartError as error:
            pytest.fail(str(error), pytrace=False)
