"""Errors, sync and async: HTTP statuses become typed HTTPError subclasses carrying the server's words, transport
failures become InferenceTimeoutError / InferenceConnectionError (never raw httpx errors), unparseable successes
become ResponseError, a call's timeout bounds the whole call against a real socket, the token never shows in a
repr or an error, and a closed client sends nothing."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

import inferlink
from inferlink import (
    AsyncInferenceClient,
    AsyncStream,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    HTTPError,
    InferenceClient,
    InferenceConnectionError,
    InferenceError,
    InferenceTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseError,
    ServerError,
    Stream,
    UnprocessableEntityError,
)

TOKEN = "hf_CANARY_SECRET_123"
MODEL = "org/m"
URL = "https://router.huggingface.co/hf-inference/models/org/m"
CHAT_URL = URL + "/v1/chat/completions"
MESSAGES = [{"role": "user", "content": "hi"}]
OK = [{"label": "POSITIVE", "score": 0.9}]


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def assert_no_secret(error: BaseException) -> None:
    """Neither the error nor anything chained to it shows the token."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        assert TOKEN not in str(current), f"token leaked in str() of {type(current).__name__}"
        assert TOKEN not in repr(current), f"token leaked in repr() of {type(current).__name__}"
        for arg in current.args:
            assert TOKEN not in str(arg)
        current = current.__cause__ or current.__context__


async def call(mode: str, method: str, *args: Any, client: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Run one method on a fresh sync or async client (streams are consumed)."""
    options: dict[str, Any] = {"model": MODEL, "token": TOKEN, "max_retries": 0, **(client or {})}
    if mode == "sync":
        with InferenceClient(**options) as sync_client:
            result = getattr(sync_client, method)(*args, **kwargs)
            return list(result) if isinstance(result, Stream) else result
    async with AsyncInferenceClient(**options) as async_client:
        result = await getattr(async_client, method)(*args, **kwargs)
        return [chunk async for chunk in result] if isinstance(result, AsyncStream) else result


async def raises(mode: str, expected: type[BaseException], method: str, *args: Any, **kwargs: Any) -> Any:
    """The error a call raises: exactly `expected` (not a subclass, not a wrapped httpx error), token-free."""
    with pytest.raises(BaseException) as info:
        await call(mode, method, *args, **kwargs)
    error = info.value
    assert type(error) is expected, f"expected {expected.__name__}, got {type(error).__name__}: {error}"
    assert not isinstance(error, httpx.HTTPError)
    assert_no_secret(error)
    return error


# --- HTTP statuses ------------------------------------------------------------------------------------------------

STATUSES = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (422, UnprocessableEntityError),
    (429, RateLimitError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (418, HTTPError),
]


@pytest.mark.parametrize(("status", "cls"), STATUSES, ids=[str(s) for s, _ in STATUSES])
async def test_status_becomes_typed_error(mode: str, httpx_mock: HTTPXMock, status: int,
                                          cls: type[HTTPError]) -> None:
    body = b'{"error":"the server says no"}'
    httpx_mock.add_response(url=URL, method="POST", status_code=status, content=body,
                            headers={"content-type": "application/json"})
    error = await raises(mode, cls, "text_classification", "hi")
    assert isinstance(error, HTTPError)
    assert isinstance(error, InferenceError)
    assert isinstance(error, inferlink.HTTPError)
    assert error.status_code == status
    assert isinstance(error.response, httpx.Response)
    assert error.response.status_code == status
    assert error.response.content == body  # already read: usable after the call
    assert error.server_message == "the server says no"
    text = str(error)
    assert str(status) in text
    assert URL in text
    assert "the server says no" in text
    assert len(httpx_mock.get_requests()) == 1


def test_status_classes_form_one_hierarchy() -> None:
    for _, cls in STATUSES:
        assert issubclass(cls, inferlink.HTTPError)
        assert issubclass(cls, inferlink.InferenceError)
    assert issubclass(ServerError, HTTPError)


@pytest.mark.parametrize(("header", "value"), [
    ("x-request-id", "req-42abc"),
    ("x-amzn-trace-id", "Root=1-67891233-abcdef012345678912345678"),
])
async def test_request_id(mode: str, httpx_mock: HTTPXMock, header: str, value: str) -> None:
    httpx_mock.add_response(url=URL, method="POST", status_code=500, json={"error": "boom"}, headers={header: value})
    error = await raises(mode, ServerError, "text_classification", "hi")
    assert error.request_id == value
    assert value in str(error)


async def test_no_request_id(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, method="POST", status_code=500, json={"error": "boom"})
    error = await raises(mode, ServerError, "text_classification", "hi")
    assert error.request_id is None


BODIES = {
    "tgi": (400, {"content-type": "application/json"},
            b'{"error":"Input validation error: `inputs` must not be empty","error_type":"validation"}',
            BadRequestError, "Input validation error: `inputs` must not be empty", "validation"),
    "openai": (404, {"content-type": "application/json"},
               b'{"error":{"message":"The model `x` does not exist","type":"invalid_request_error","code":null}}',
               NotFoundError, "The model `x` does not exist", "invalid_request_error"),
    "hf-list": (400, {"content-type": "application/json"}, b'{"error":["first problem","second problem"]}',
                BadRequestError, ["first problem", "second problem"], None),
    "fastapi": (401, {"content-type": "application/json"}, b'{"detail":"Not authenticated"}',
                AuthenticationError, "Not authenticated", None),
    # FastAPI's own 422 body: detail is a list of {loc, msg, type}.
    "fastapi-validation": (422, {"content-type": "application/json"},
                           b'{"detail":[{"loc":["body","inputs"],"msg":"field required",'
                           b'"type":"value_error.missing"}]}',
                           UnprocessableEntityError, ["field required"], ...),
    "plain-text": (503, {"content-type": "text/plain"}, b"upstream model is loading, retry later",
                   ServerError, "upstream model is loading, retry later", None),
}


@pytest.mark.parametrize("case", list(BODIES))
async def test_server_message(mode: str, httpx_mock: HTTPXMock, case: str) -> None:
    status, headers, body, cls, expected, error_type = BODIES[case]
    httpx_mock.add_response(url=URL, method="POST", status_code=status, content=body, headers=headers)
    error = await raises(mode, cls, "text_classification", "hi")
    assert error.status_code == status
    assert error.server_message is not None
    parts = list(expected) if not isinstance(expected, str) else [expected]
    for part in parts:
        assert part in error.server_message
        assert part in str(error)
    if not isinstance(expected, list):
        assert error.server_message == expected
    if error_type is not ...:
        assert error.error_type == error_type
    assert str(status) in str(error)
    assert URL in str(error)


async def test_html_error_page(mode: str, httpx_mock: HTTPXMock) -> None:
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>" \
           b"<p>nginx</p></body></html>"
    httpx_mock.add_response(url=URL, method="POST", status_code=502, content=page,
                            headers={"content-type": "text/html; charset=utf-8"})
    error = await raises(mode, ServerError, "text_classification", "hi")
    assert error.server_message is None
    assert error.response.content == page
    text = str(error)
    assert "502" in text
    assert URL in text
    assert "<html" not in text.lower()


async def test_x_error_message_header(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, method="POST", status_code=400, content=b"",
                            headers={"x-error-message": "Model org/m is not a text classifier"})
    error = await raises(mode, BadRequestError, "text_classification", "hi")
    assert error.server_message == "Model org/m is not a text classifier"
    assert "Model org/m is not a text classifier" in str(error)
    assert "400" in str(error)


async def test_query_string_is_not_in_the_message(mode: str, httpx_mock: HTTPXMock) -> None:
    endpoint = "https://my-endpoint.example/run?sig=SECRETSIG"
    httpx_mock.add_response(url=endpoint, method="POST", status_code=403, json={"error": "denied"})
    error = await raises(mode, PermissionDeniedError, "text_classification", "hi", client={"model": endpoint})
    assert "https://my-endpoint.example/run" in str(error)
    assert "SECRETSIG" not in str(error)


# --- errors of streamed calls ---------------------------------------------------------------------------------------

STREAM_ERRORS = {
    "tgi": (b'{"error":"Input validation error: `max_tokens` must be <= 4096","error_type":"validation"}',
            "Input validation error: `max_tokens` must be <= 4096", "validation"),
    "openai": (b'{"error":{"message":"max_tokens is too large","type":"invalid_request_error"}}',
               "max_tokens is too large", "invalid_request_error"),
}


@pytest.mark.parametrize("case", list(STREAM_ERRORS))
async def test_streamed_call_error_status(mode: str, httpx_mock: HTTPXMock, case: str) -> None:
    body, message, error_type = STREAM_ERRORS[case]
    httpx_mock.add_response(url=CHAT_URL, method="POST", status_code=422, content=body,
                            headers={"content-type": "application/json"})
    error = await raises(mode, UnprocessableEntityError, "chat_completion", MESSAGES, stream=True)
    assert error.server_message == message
    assert error.error_type == error_type
    assert message in str(error)
    assert "422" in str(error)
    assert error.response.is_closed
    assert error.response.content == body
    request = httpx_mock.get_requests()[0]
    assert json.loads(request.content)["stream"] is True


async def test_streamed_call_error_is_raised_by_the_call_itself(httpx_mock: HTTPXMock) -> None:
    """The error surfaces when the call is made (await), not later while iterating."""
    httpx_mock.add_response(url=CHAT_URL, method="POST", status_code=429, json={"error": "slow down"})
    async with AsyncInferenceClient(model=MODEL, token=TOKEN) as client:
        with pytest.raises(RateLimitError) as info:
            await client.chat_completion(MESSAGES, stream=True, max_retries=0)
    assert info.value.server_message == "slow down"
    httpx_mock.add_response(url=CHAT_URL, method="POST", status_code=429, json={"error": "slow down"})
    with InferenceClient(model=MODEL, token=TOKEN) as sync_client:
        with pytest.raises(RateLimitError):
            sync_client.chat_completion(MESSAGES, stream=True, max_retries=0)


# --- transport failures -------------------------------------------------------------------------------------------

TIMEOUTS = [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.WriteTimeout, httpx.PoolTimeout]


@pytest.mark.parametrize("exc", TIMEOUTS, ids=[e.__name__ for e in TIMEOUTS])
async def test_transport_timeout(mode: str, httpx_mock: HTTPXMock, exc: type[httpx.TimeoutException]) -> None:
    httpx_mock.add_exception(exc("simulated"))
    error = await raises(mode, InferenceTimeoutError, "text_classification", "hi", timeout=0.5)
    assert isinstance(error, TimeoutError)
    assert isinstance(error, InferenceError)
    assert error.__cause__ is None or isinstance(error.__cause__, exc)
    assert "text_classification()" in str(error)


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError],
                         ids=["ConnectError", "RemoteProtocolError", "ReadError"])
async def test_transport_connection_error(mode: str, httpx_mock: HTTPXMock, exc: type[httpx.TransportError]) -> None:
    httpx_mock.add_exception(exc("simulated"))
    error = await raises(mode, InferenceConnectionError, "text_classification", "hi")
    assert isinstance(error, ConnectionError)
    assert isinstance(error, InferenceError)
    assert error.__cause__ is None or isinstance(error.__cause__, exc)
    assert "text_classification()" in str(error)


class _BreaksAfter(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that yields some bytes, then fails the way a broken connection does."""

    def __init__(self, first: bytes, error: Exception) -> None:
        self.first = first
        self.error = error

    def __iter__(self) -> Iterator[bytes]:
        yield self.first
        raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        raise self.error


@pytest.mark.parametrize(("exc", "expected"), [
    (httpx.ReadTimeout, InferenceTimeoutError),
    (httpx.RemoteProtocolError, InferenceConnectionError),
], ids=["ReadTimeout", "RemoteProtocolError"])
async def test_failure_while_reading_the_body(mode: str, httpx_mock: HTTPXMock, exc: type[httpx.TransportError],
                                              expected: type[InferenceError]) -> None:
    httpx_mock.add_response(url=URL, method="POST", stream=_BreaksAfter(b'[{"label":', exc("cut")),
                            headers={"content-type": "application/json"})
    await raises(mode, expected, "text_classification", "hi")


@pytest.mark.parametrize(("exc", "expected"), [
    (httpx.ReadTimeout, InferenceTimeoutError),
    (httpx.RemoteProtocolError, InferenceConnectionError),
], ids=["ReadTimeout", "RemoteProtocolError"])
async def test_failure_in_the_middle_of_a_stream(mode: str, httpx_mock: HTTPXMock,
                                                 exc: type[httpx.TransportError],
                                                 expected: type[InferenceError]) -> None:
    chunk = {"id": "1", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": None}]}
    first = b"data: " + json.dumps(chunk).encode() + b"\n\n"
    httpx_mock.add_response(url=CHAT_URL, method="POST", stream=_BreaksAfter(first, exc("cut")),
                            headers={"content-type": "text/event-stream"})
    await raises(mode, expected, "chat_completion", MESSAGES, stream=True)


def _timeouts(request: httpx.Request) -> list[float | None]:
    return list(request.extensions["timeout"].values())


async def test_per_call_timeout_is_accepted_and_applied(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, method="POST", json=OK)
    result = await call(mode, "text_classification", "hi", timeout=0.5)
    assert result[0].label == "POSITIVE"
    values = _timeouts(httpx_mock.get_requests()[0])
    assert values and all(v is not None and 0 < v <= 0.5 for v in values)


async def test_client_timeout_is_accepted_and_applied(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, method="POST", json=OK)
    httpx_mock.add_response(url=URL, method="POST", json=OK)
    await call(mode, "text_classification", "hi", client={"timeout": 7})
    await call(mode, "text_classification", "hi", client={"timeout": 7}, timeout=0.5)  # the call's wins
    first, second = httpx_mock.get_requests()
    assert all(v is not None and 6 < v <= 7 for v in _timeouts(first))
    assert all(v is not None and 0 < v <= 0.5 for v in _timeouts(second))


async def test_no_timeout_by_default(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, method="POST", json=OK)
    await call(mode, "text_classification", "hi")
    assert _timeouts(httpx_mock.get_requests()[0]) == [None, None, None, None]


# --- unparseable successes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    b"this is not JSON",
    b'{"unexpected": "shape"}',
    b'[{"label": 3}]',
], ids=["not-json", "wrong-object", "wrong-items"])
async def test_unparseable_success_body(mode: str, httpx_mock: HTTPXMock, body: bytes) -> None:
    httpx_mock.add_response(url=URL, method="POST", content=body, headers={"content-type": "application/json"})
    error = await raises(mode, ResponseError, "text_classification", "hi")
    assert error.body == body
    assert "text_classification()" in str(error)
    assert isinstance(error, InferenceError)


async def test_unparseable_stream_event(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=CHAT_URL, method="POST", content=b"data: {not json\n\n",
                            headers={"content-type": "text/event-stream"})
    error = await raises(mode, ResponseError, "chat_completion", MESSAGES, stream=True)
    assert "chat_completion()" in str(error)


# --- a real deadline against a real socket --------------------------------------------------------------------------

DRIP_BODY = b'[{"label":"a","score":1}]'  # valid: without a deadline the call would succeed after 5 s
assert len(DRIP_BODY) == 25


class _DripHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _DripServer

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length") or 0))
        stop = self.server.stop
        if self.path.startswith("/stall"):  # no headers for 5 s
            if stop.wait(5):
                return
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(DRIP_BODY)))
            self.end_headers()
            self.wfile.flush()
            for byte in DRIP_BODY:  # one byte every 0.2 s: 5 s in all
                if stop.wait(0.2):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except OSError:  # the client went away
            return

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _DripServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    stop: threading.Event


@pytest.fixture
def drip_port() -> Iterator[int]:
    server = _DripServer(("127.0.0.1", 0), _DripHandler)
    server.stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("where", ["client", "call"])
@pytest.mark.parametrize("path", ["/drip", "/stall"])
async def test_deadline_bounds_the_whole_call(mode: str, drip_port: int, where: str, path: str) -> None:
    options: dict[str, Any] = {"model": None, "base_url": f"http://127.0.0.1:{drip_port}{path}", "token": TOKEN}
    kwargs: dict[str, Any] = {}
    if where == "client":
        options["timeout"] = 1
    else:
        kwargs["timeout"] = 1
    start = time.monotonic()
    error = await raises(mode, InferenceTimeoutError, "text_classification", "x", client=options, **kwargs)
    elapsed = time.monotonic() - start
    assert elapsed < 2.5, f"a 1 s deadline took {elapsed:.2f} s"
    assert isinstance(error, TimeoutError)
    assert "text_classification()" in str(error)


# --- the token never shows ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("options", [
    {"token": TOKEN},
    {"api_key": TOKEN},
    {"token": TOKEN, "model": MODEL, "provider": "hf-inference", "timeout": 3, "bill_to": "org"},
    {"token": TOKEN, "base_url": "http://127.0.0.1:9/v1", "headers": {"x-custom": "1"}},
], ids=["token", "api_key", "full", "base_url"])
async def test_client_repr_hides_the_token(options: dict[str, Any]) -> None:
    sync_client = InferenceClient(**options)
    async_client = AsyncInferenceClient(**options)
    try:
        for client in (sync_client, async_client):
            assert TOKEN not in repr(client)
            assert TOKEN not in str(client)
            assert type(client).__name__ in repr(client)
    finally:
        sync_client.close()
        await async_client.close()


async def test_token_is_sent_but_not_shown(mode: str, httpx_mock: HTTPXMock) -> None:
    """The canary is really the token in use (so the repr/str checks above and in raises() are meaningful)."""
    httpx_mock.add_response(url=URL, method="POST", status_code=401, json={"error": "Invalid credentials"})
    error = await raises(mode, AuthenticationError, "text_classification", "hi")
    assert httpx_mock.get_requests()[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert error.response.request.headers["authorization"] == f"Bearer {TOKEN}"


# --- closing --------------------------------------------------------------------------------------------------------

async def test_closed_client_sends_nothing(mode: str, httpx_mock: HTTPXMock) -> None:
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("text_classification", ("hi",), {}),
        ("chat_completion", (MESSAGES,), {"stream": True}),
        ("image_classification", ("https://example.com/cat.png",), {}),
    ]
    if mode == "sync":
        sync_client = InferenceClient(model=MODEL, token=TOKEN)
        sync_client.close()
        sync_client.close()  # twice is fine
        for method, args, kwargs in calls:
            with pytest.raises(ClientClosedError) as info:
                getattr(sync_client, method)(*args, **kwargs)
            assert f"{method}()" in str(info.value)
    else:
        async_client = AsyncInferenceClient(model=MODEL, token=TOKEN)
        await async_client.close()
        await async_client.close()
        for method, args, kwargs in calls:
            with pytest.raises(ClientClosedError) as info:
                await getattr(async_client, method)(*args, **kwargs)
            assert f"{method}()" in str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, InferenceError)
    assert httpx_mock.get_requests() == []


async def test_context_manager_closes(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, method="POST", json=OK)
    if mode == "sync":
        with InferenceClient(model=MODEL, token=TOKEN) as sync_client:
            sync_client.text_classification("hi")
        assert sync_client._http.is_closed
        with pytest.raises(ClientClosedError):
            sync_client.text_classification("hi")
    else:
        async with AsyncInferenceClient(model=MODEL, token=TOKEN) as async_client:
            await async_client.text_classification("hi")
        assert async_client._http.is_closed
        with pytest.raises(ClientClosedError):
            await async_client.text_classification("hi")
    assert len(httpx_mock.get_requests()) == 1


async def test_callers_http_client_stays_open(mode: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, method="POST", json=OK)
    httpx_mock.add_response(url="https://example.com/still-open", method="GET", text="yes")
    if mode == "sync":
        http = httpx.Client(headers={"x-mine": "1"})
        with InferenceClient(model=MODEL, token=TOKEN, http_client=http) as sync_client:
            sync_client.text_classification("hi")  # goes through the caller's client
        sync_client.close()
        with pytest.raises(ClientClosedError):
            sync_client.text_classification("hi")
        assert not http.is_closed
        assert http.get("https://example.com/still-open").text == "yes"
        http.close()
    else:
        ahttp = httpx.AsyncClient(headers={"x-mine": "1"})
        async with AsyncInferenceClient(model=MODEL, token=TOKEN, http_client=ahttp) as async_client:
            await async_client.text_classification("hi")
        await async_client.close()
        with pytest.raises(ClientClosedError):
            await async_client.text_classification("hi")
        assert not ahttp.is_closed
        assert (await ahttp.get("https://example.com/still-open")).text == "yes"
        await ahttp.aclose()
    post = httpx_mock.get_requests(method="POST")
    assert len(post) == 1
    assert post[0].headers["x-mine"] == "1"
