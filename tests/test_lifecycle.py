"""Nothing of a finished call stays behind: memory, pooled connections, threads, cancellation. Against a real
HTTP/1.1 keep-alive server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from inferlink import AsyncInferenceClient, InferenceClient, InferenceTimeoutError

CLASSES = json.dumps([{"label": "POSITIVE", "score": 0.9}]).encode()
CHUNK = json.dumps({"id": "1", "created": 1, "model": "m",
                    "choices": [{"index": 0, "delta": {"content": "x"}}]}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path.startswith("/stall"):
            time.sleep(3)
        if self.path.endswith("/chat/completions"):
            body = b"".join(b"data: " + CHUNK + b"\n\n" for _ in range(50)) + b"data: [DONE]\n\n"
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
        else:
            body = CLASSES
            self.send_response(200)
            self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def connections(client: InferenceClient | AsyncInferenceClient) -> list[Any]:
    return list(client._http._transport._pool.connections)  # type: ignore[union-attr]


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def test_memory_stays_flat_over_10000_calls(server: str) -> None:
    with InferenceClient(base_url=server) as client:
        for _ in range(500):
            client.text_classification("warm up")
        gc.collect()
        objects, rss = len(gc.get_objects()), _rss_kib()
        for _ in range(10_000):
            client.text_classification("x")
        gc.collect()
        grown_objects, grown_rss = len(gc.get_objects()) - objects, _rss_kib() - rss
    assert grown_objects < 500, f"{grown_objects} more live objects after 10,000 calls"
    assert grown_rss < 4096, f"RSS grew by {grown_rss} KiB over 10,000 calls"


def test_breaking_out_of_a_stream_returns_its_connection(server: str) -> None:
    with InferenceClient(base_url=server) as client:
        for chunk in client.chat_completion([{"role": "user", "content": "hi"}], stream=True):
            break
        pool = connections(client)
        assert len(pool) <= 1 and all(not c.is_available() or c.is_idle() for c in pool)
        client.text_classification("next call")
        assert len(connections(client)) == 1


async def test_async_break_and_next_call_reuse_the_pool(server: str) -> None:
    async with AsyncInferenceClient(base_url=server) as client:
        stream = await client.chat_completion([{"role": "user", "content": "hi"}], stream=True)
        async for chunk in stream:
            break
        await stream.aclose()
        await client.text_classification("next call")
        assert len(connections(client)) == 1


def test_a_sync_client_is_shared_by_8_threads(server: str) -> None:
    errors: list[BaseException] = []
    results: list[str] = []
    lock = threading.Lock()
    with InferenceClient(base_url=server) as client:
        def work() -> None:
            try:
                for _ in range(100):
                    label = client.text_classification("x")[0].label
                    with lock:
                        results.append(label)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert results == ["POSITIVE"] * 800


async def test_cancelling_an_async_call_leaks_no_connection(server: str) -> None:
    async with AsyncInferenceClient(base_url=server + "/stall") as client:
        task = asyncio.create_task(client.text_classification("x"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert all(c.is_closed() or c.is_idle() for c in connections(client))


async def test_async_deadline_covers_the_whole_call(server: str) -> None:
    async with AsyncInferenceClient(base_url=server + "/stall", timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(InferenceTimeoutError):
            await client.text_classification("x")
        assert time.monotonic() - started < 1.5
        assert all(c.is_closed() or c.is_idle() for c in connections(client))


def test_tls_is_verified_by_default() -> None:
    with InferenceClient() as client:
        transport = client._http._transport
        assert isinstance(transport, httpx.HTTPTransport)
        context = transport._pool._ssl_context
        assert context is not None and context.verify_mode.name == "CERT_REQUIRED"
