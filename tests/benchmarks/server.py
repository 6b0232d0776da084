"""A fast local HTTP/1.1 server for the benchmark: asyncio Protocol, keep-alive, every response pre-built.

    python -m tests.benchmarks.server [--port 0] [--cpu 1]

prints `READY <port>` once listening. It answers POSTs by path (payloads.py lists them); a chat-completions body
containing "stream":true gets the server-sent-events stream, sent chunked (one HTTP chunk per event, as vLLM and
TGI send it). Per request it does a header search, a length parse, one dict lookup and one transport.write, so that
it is never the bottleneck; the benchmark reports its CPU time per request (/proc/<pid>/task/*/schedstat).
"""

from __future__ import annotations

import asyncio
import os
import sys

from . import payloads

_JSON = b"application/json"


def _plain(body: bytes, content_type: bytes = _JSON) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\nconnection: keep-alive\r\n\r\n" + body)


def _chunked_sse(body: bytes) -> bytes:
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n")
    parts = [head]
    for event in body.split(b"\n\n"):
        if event:
            event += b"\n\n"
            parts.append(b"%x\r\n%s\r\n" % (len(event), event))
    parts.append(b"0\r\n\r\n")
    return b"".join(parts)


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 21\r\n\r\n" \
            b'{"error":"not found"}\n'

# path -> (plain response, streamed response or None)
RESPONSES: dict[bytes, tuple[bytes, bytes | None]] = {
    payloads.CHAT_PATH.encode(): (_plain(payloads.chat_completion()),
                                  _chunked_sse(payloads.chat_stream(payloads.STREAM_CHUNKS))),
    payloads.MEMORY_CHAT_PATH.encode(): (_plain(payloads.chat_completion()),
                                         _chunked_sse(payloads.chat_stream(payloads.MEMORY_STREAM_CHUNKS))),
    payloads.TGI_PATH.encode(): (_plain(payloads.tgi_generate()), None),
    payloads.FEATURE_PATH.encode(): (_plain(payloads.feature_extraction()), None),
    payloads.CLASSIFY_PATH.encode(): (_plain(payloads.text_classification()), None),
}


class HTTPProtocol(asyncio.Protocol):
    __slots__ = ("_transport", "_buffer")

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        transport = self._transport
        assert transport is not None
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            lowered = head.lower()
            at = lowered.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = lowered.find(b"\r\n", at + 2)
                length = int(lowered[at + 17:stop if stop >= 0 else len(lowered)])
            total = end + 4 + length
            if len(buffer) < total:
                break
            first = head.find(b" ")
            path = head[first + 1:head.find(b" ", first + 1)]
            found = RESPONSES.get(path.partition(b"?")[0])
            if found is None:
                transport.write(NOT_FOUND)
            else:
                plain, streamed = found
                body = buffer[end + 4:total]
                transport.write(streamed if streamed is not None and b'"stream":true' in body else plain)
            buffer = buffer[total:]
        self._buffer = buffer


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HTTPProtocol, "127.0.0.1", port, backlog=1024, reuse_address=True)
    sockets = server.sockets
    print(f"READY {sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str]) -> None:
    port, cpu = 0, None
    args = iter(argv)
    for arg in args:
        if arg == "--port":
            port = int(next(args))
        elif arg == "--cpu":
            cpu = int(next(args))
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    try:
        asyncio.run(serve(port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
