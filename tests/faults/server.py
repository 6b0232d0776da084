"""A misbehaving HTTP server for the fault battery, on raw sockets so that every byte (and every reset) is ours.

One thread accepts; each connection gets its own thread. The request path picks the fault and the query string its
parameters:

    POST /fault/<name>?key=<k>&...                    text_classification (an Inference Endpoint URL)
    POST /fault/<name>/v1/chat/completions?key=<k>    chat_completion, streamed when the body says "stream": true
    POST /fault/job/jobs?key=<k>&mode=<m>             a job (Replicate-style prediction), then its polls
                                                      (GET .../jobs/<k>) and the download of its output
                                                      (GET .../files/<k>); every request of a job counts

`key` names one run of one case: the server counts the attempts it saw per key (`attempts(key)`), and `fail=N` makes
the fault apply to the first N attempts of that key only, after which the normal answer comes (default: every
attempt). `refused_port` is a port that is bound but never listens: connecting to it is refused.

Faults (FAULTS below): ok, close, reset_headers, reset_body, short_body, stall_headers, trickle_headers, trickle_body,
malformed_json, truncated_json, wrong_shape, text_plain_json, html_200, status, gzip, bad_gzip, bad_chunk,
stream_error, stall_stream, reset_stream, bad_chunk_stream, big_json, big_stream, job.
"""

from __future__ import annotations

import email.utils
import gzip as gzip_module
import json
import select
import socket
import struct
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence
from urllib.parse import parse_qs, urlsplit

ALWAYS = 1_000_000

LABELS: list[dict[str, Any]] = [{"label": "POSITIVE", "score": 0.98}, {"label": "NEGATIVE", "score": 0.02}]
CHAT_TEXT = "Hello from the fault server."
STREAM_PIECES = ["Hello", " from", " the", " stream", "."]
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
             b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n")
EMBEDDING_WIDTH = 1024
JOB_OUTPUT = b"\x00\x00\x00\x20ftypisom" + bytes(range(256)) * 4  # the "video" a job produces
JOB_ERROR = "CUDA out of memory. Tried to allocate 2.00 GiB"


def chat_answer(model: str) -> dict[str, Any]:
    return {
        "object": "chat.completion", "id": "chatcmpl-fault", "created": 1752505200, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": CHAT_TEXT}, "logprobs": None,
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
    }


def chat_chunk(model: str, content: str, *, first: bool = False) -> bytes:
    delta: dict[str, Any] = {"role": "assistant", "content": content} if first else {"content": content}
    chunk = {"object": "chat.completion.chunk", "id": "chatcmpl-fault", "created": 1752505200, "model": model,
             "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]}
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def sse_events(model: str, pieces: list[str]) -> list[bytes]:
    return [chat_chunk(model, piece, first=i == 0) for i, piece in enumerate(pieces)]


SSE_DONE = b"data: [DONE]\n\n"
STREAM_ERRORS: dict[str, bytes] = {
    # OpenAI / vLLM: {"error": {"message", "type"}}
    "openai": b'data: {"error": {"message": "the model is overloaded, try again later", "type": "server_error",'
              b' "code": 503}}\n\n',
    # TGI: {"error": str, "error_type": str}
    "tgi": b'data: {"error": "Input validation error: the model is overloaded", "error_type": "overloaded"}\n\n',
    # an `event: error` with a plain-text payload
    "event": b"event: error\ndata: the model is overloaded\n\n",
}


def chunked(data: bytes) -> bytes:
    """One chunk of HTTP/1.1 chunked transfer encoding."""
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def head(status: int, reason: str, headers: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 408: "Request Timeout", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def fault(self) -> str:
        parts = self.path.split("/")
        return parts[2] if len(parts) > 2 and parts[1] == "fault" else ""

    @property
    def is_chat(self) -> bool:
        return self.path.rstrip("/").endswith("/chat/completions")

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def wants_stream(self) -> bool:
        body = self.json()
        return isinstance(body, dict) and body.get("stream") is True

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)

    def number(self, name: str, default: float) -> float:
        return float(self.query[name]) if name in self.query else default


class Closed(Exception):
    """The peer went away, or the connection must end after this answer."""


@dataclass
class Connection:
    sock: socket.socket
    server: FaultServer
    buffer: bytes = b""
    keep_alive: bool = True

    def head(self, status: int, reason: str, headers: Sequence[tuple[str, str]]) -> bytes:
        """A response head; after a fault the connection ends, and the head says so (a client that reused it
        would see a reset that is not the fault under test)."""
        return head(status, reason, [*headers, *([] if self.keep_alive else [("connection", "close")])])

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise Closed() from error

    def read_request(self) -> Request | None:
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        raw_head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        return Request(method, url.path, query, headers, body)

    def reset(self, pause: float = 0.1) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0 + close), after giving the client `pause` seconds to
        read what was already sent."""
        self.wait(pause)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()
        raise Closed()

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, returning early when the client hangs up or the server stops."""
        end = time.monotonic() + seconds
        while not self.server.stopping.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            readable, _, _ = select.select([self.sock], [], [], min(left, 0.05))
            if readable:
                try:
                    data = self.sock.recv(65536, socket.MSG_PEEK)
                except OSError:
                    raise Closed() from None
                if not data:
                    raise Closed()
                self.wait_plain(min(left, 0.05))  # a pipelined request: keep it, keep waiting
        raise Closed()

    def wait_plain(self, seconds: float) -> None:
        if self.server.stopping.wait(seconds):
            raise Closed()

    def trickle(self, data: bytes, gap: float) -> None:
        """Send `data` one byte every `gap` seconds."""
        for i in range(len(data)):
            self.send(data[i:i + 1])
            self.wait(gap)

    # --- answers -------------------------------------------------------------------------------------------------

    def answer_body(self, request: Request) -> bytes:
        """The normal (non-stream) answer's JSON body for this request."""
        if request.is_chat:
            model = (request.json() or {}).get("model") or "fault-model"
            return json.dumps(chat_answer(model)).encode()
        if request.param("answer") == "embedding":
            return self.server.big_embedding(int(request.number("rows", 4)))
        return json.dumps(LABELS).encode()

    def respond_ok(self, request: Request) -> None:
        if request.is_chat and request.wants_stream:
            count = int(request.number("chunks", len(STREAM_PIECES)))
            self.send(self.head(200, "OK", [("content-type", "text/event-stream"), ("transfer-encoding", "chunked"),
                                       ("cache-control", "no-cache")]))
            self.send(self.server.stream_body(count))
            return
        body = self.answer_body(request)
        self.send(self.head(200, "OK", [("content-type", "application/json"), ("content-length", str(len(body)))])
                  + body)

    def stream_start(self, request: Request, events: int = 2) -> None:
        model = (request.json() or {}).get("model") or "fault-model"
        self.send(self.head(200, "OK", [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]))
        for event in sse_events(model, STREAM_PIECES[:events]):
            self.send(chunked(event))

    def handle(self, request: Request) -> None:
        attempt = self.server.count(request.param("key"))
        fault = request.fault
        if fault != "ok" and attempt <= int(request.number("fail", ALWAYS)):
            behaviour = FAULTS.get(fault)
            if behaviour is None:
                body = f"unknown fault {fault!r}".encode()
                self.send(self.head(404, "Not Found", [("content-type", "text/plain"),
                                                  ("content-length", str(len(body)))]) + body)
                return
            self.keep_alive = False
            behaviour(self, request, attempt)
            return
        self.respond_ok(request)

    def serve(self) -> None:
        try:
            while self.keep_alive and not self.server.stopping.is_set():
                request = self.read_request()
                if request is None:
                    return
                self.handle(request)
        except (Closed, OSError, ValueError):
            pass
        finally:
            try:
                self.sock.close()
            except OSError:
                pass


# --- the faults ---------------------------------------------------------------------------------------------------


def f_close(c: Connection, r: Request, attempt: int) -> None:
    """Read the request, then close (FIN) without a word."""
    raise Closed()


def f_reset_headers(c: Connection, r: Request, attempt: int) -> None:
    """Half a status line and header block, then a TCP reset."""
    c.send(b"HTTP/1.1 200 OK\r\ncontent-type: applica")
    c.reset()


def f_reset_body(c: Connection, r: Request, attempt: int) -> None:
    """Complete headers promising the whole body, a third of it, then a TCP reset."""
    body = c.answer_body(r) + b" " * 300
    c.send(c.head(200, "OK", [("content-type", "application/json"), ("content-length", str(len(body)))])
           + body[:len(body) // 3])
    c.reset()


def f_short_body(c: Connection, r: Request, attempt: int) -> None:
    """Content-Length larger than the body, then an orderly close: the body is cut short."""
    body = c.answer_body(r)
    c.send(c.head(200, "OK", [("content-type", "application/json"), ("content-length", str(len(body) + 100))])
           + body)
    c.wait_plain(0.05)
    raise Closed()


def f_stall_headers(c: Connection, r: Request, attempt: int) -> None:
    """Say nothing for `stall` seconds (default 10), then answer normally if the client is still there."""
    c.wait(r.number("stall", 10.0))
    c.respond_ok(r)


def f_trickle_headers(c: Connection, r: Request, attempt: int) -> None:
    """The response head (about 80 bytes) one byte every `gap` seconds (default 0.05): every read gets bytes soon,
    the head takes 4 s."""
    body = c.answer_body(r)
    data = c.head(200, "OK", [("content-type", "application/json"), ("content-length", str(len(body)))])
    c.trickle(data, r.number("gap", 0.05))
    c.send(body)


def f_trickle_body(c: Connection, r: Request, attempt: int) -> None:
    """Headers at once, then the (whitespace-padded) JSON body one byte every `gap` seconds (default 0.1)."""
    body = b" " * 200 + c.answer_body(r)
    c.send(c.head(200, "OK", [("content-type", "application/json"), ("content-length", str(len(body)))]))
    c.trickle(body, r.number("gap", 0.1))


def _plain(c: Connection, status: int, content_type: str, body: bytes,
           extra: Sequence[tuple[str, str]] = ()) -> None:
    c.send(c.head(status, REASONS.get(status, "Error"),
                [("content-type", content_type), ("content-length", str(len(body))), *extra]) + body)


def f_malformed_json(c: Connection, r: Request, attempt: int) -> None:
    _plain(c, 200, "application/json", b'[{"label": "POSITIVE" "score": 0.98}]')


def f_truncated_json(c: Connection, r: Request, attempt: int) -> None:
    """A complete HTTP message whose JSON stops half-way."""
    _plain(c, 200, "application/json", b'[{"label": "POSITIVE", "score": 0.9')


def f_wrong_shape(c: Connection, r: Request, attempt: int) -> None:
    _plain(c, 200, "application/json", b'{"status": "loading", "estimated_time": 20.0}')


def f_text_plain_json(c: Connection, r: Request, attempt: int) -> None:
    """The right JSON, labelled text/plain."""
    _plain(c, 200, "text/plain; charset=utf-8", c.answer_body(r))


def f_html_200(c: Connection, r: Request, attempt: int) -> None:
    """A 200 carrying an HTML page (a captive portal, a proxy's login page) where JSON belongs."""
    _plain(c, 200, "text/html; charset=utf-8", b"<!DOCTYPE html><html><body><h1>Welcome</h1>"
                                               b"<p>Please log in to continue.</p></body></html>")


def f_status(c: Connection, r: Request, attempt: int) -> None:
    """An error status: `codes` (comma-separated, by attempt; the last repeats), `retry_after` (seconds, or
    `date:N` for an HTTP date N seconds ahead), `retry_after_ms`, `body` (json or html)."""
    codes = [int(x) for x in r.param("codes", "503").split(",")]
    status = codes[min(attempt, len(codes)) - 1]
    extra: list[tuple[str, str]] = [("x-request-id", f"req-{attempt}")]
    retry_after = r.param("retry_after")
    if retry_after.startswith("date:"):
        when = time.time() + float(retry_after[5:])
        extra.append(("retry-after", email.utils.formatdate(when, usegmt=True)))
    elif retry_after:
        extra.append(("retry-after", retry_after))
    if r.param("retry_after_ms"):
        extra.append(("retry-after-ms", r.param("retry_after_ms")))
    if r.param("body") == "html":
        page = HTML_PAGE.replace(b"502 Bad Gateway", f"{status} {REASONS.get(status, 'Error')}".encode())
        _plain(c, status, "text/html", page, extra)
    else:
        message = {429: "rate limit reached, slow down", 400: "inputs must be a string"}.get(
            status, "the model is overloaded")
        _plain(c, status, "application/json",
               json.dumps({"error": message, "error_type": "overloaded" if status >= 500 else "client"}).encode(),
               extra)


def f_gzip(c: Connection, r: Request, attempt: int) -> None:
    """The normal answer, gzip-encoded (valid)."""
    _plain(c, 200, "application/json", gzip_module.compress(c.answer_body(r)), [("content-encoding", "gzip")])


def f_bad_gzip(c: Connection, r: Request, attempt: int) -> None:
    """Content-Encoding: gzip over bytes that are not gzip."""
    _plain(c, 200, "application/json", b"\x1f\x8bthis is not gzip data at all" + b"\x00" * 20,
           [("content-encoding", "gzip")])


def f_bad_chunk(c: Connection, r: Request, attempt: int) -> None:
    """Chunked framing with a chunk size that is not hexadecimal."""
    body = c.answer_body(r)
    c.send(c.head(200, "OK", [("content-type", "application/json"), ("transfer-encoding", "chunked")])
           + chunked(body[:10]) + b"zz\r\n" + body[10:] + b"\r\n0\r\n\r\n")
    c.wait_plain(0.05)
    raise Closed()


def f_job(c: Connection, r: Request, attempt: int) -> None:
    """A prediction that is `processing` until the request numbered `polls` + 1 of its key (the POST is 1), then
    `succeeded` with the URL of its output. `mode` breaks one part: failed (the job fails), never (it never ends),
    stall_poll (a poll gets no answer), poll_503 (the first poll is a 503), reset_poll (every poll is reset),
    trickle_download (the output comes 1 byte / 100 ms), download_404 (the output is gone)."""
    mode, key, host = r.param("mode"), r.param("key"), r.headers.get("host", "127.0.0.1")
    query = "&".join(f"{k}={v}" for k, v in r.query.items())
    job: dict[str, Any] = {"id": key, "status": "processing", "error": None, "output": None,
           "urls": {"get": f"http://{host}/fault/job/jobs/{key}?{query}"}}
    if r.method == "POST":
        _plain(c, 200, "application/json", json.dumps({**job, "status": "starting"}).encode())
        return
    if "/files/" in r.path:
        if mode == "download_404":
            _plain(c, 404, "application/xml", b"<Error><Code>NoSuchKey</Code></Error>")
        elif mode == "trickle_download":
            c.send(c.head(200, "OK", [("content-type", "video/mp4"), ("content-length", str(len(JOB_OUTPUT)))]))
            c.trickle(JOB_OUTPUT, 0.1)
        else:
            _plain(c, 200, "video/mp4", JOB_OUTPUT)
        return
    if mode == "stall_poll":
        c.wait(10.0)
    if mode == "reset_poll":
        c.reset(0.0)
    if mode == "poll_503" and attempt == 2:
        _plain(c, 503, "application/json", b'{"detail": "prediction store busy"}')
        return
    if mode != "never" and attempt > r.number("polls", 2):
        job = {**job, "status": "failed", "error": JOB_ERROR} if mode == "failed" else \
            {**job, "status": "succeeded", "output": [f"http://{host}/fault/job/files/{key}?{query}"]}
    _plain(c, 200, "application/json", json.dumps(job).encode())


def f_stream_error(c: Connection, r: Request, attempt: int) -> None:
    """A 200 event stream: two chunks, then an error event (`style`: openai, tgi, event), then the end."""
    c.stream_start(r)
    c.send(chunked(STREAM_ERRORS[r.param("style", "openai")]) + chunked(SSE_DONE) + b"0\r\n\r\n")


def f_stall_stream(c: Connection, r: Request, attempt: int) -> None:
    """Two chunks, then silence for `stall` seconds (default 10)."""
    c.stream_start(r)
    c.wait(r.number("stall", 10.0))


def f_reset_stream(c: Connection, r: Request, attempt: int) -> None:
    """Two chunks, then a TCP reset."""
    c.stream_start(r)
    c.reset(0.2)


def f_bad_chunk_stream(c: Connection, r: Request, attempt: int) -> None:
    """Two chunks, then a chunk header that is not a size."""
    c.stream_start(r)
    c.send(b"nope\r\n" + SSE_DONE + b"\r\n0\r\n\r\n")
    c.wait_plain(0.05)
    raise Closed()


FAULTS: dict[str, Callable[[Connection, Request, int], None]] = {
    "close": f_close,
    "reset_headers": f_reset_headers,
    "reset_body": f_reset_body,
    "short_body": f_short_body,
    "stall_headers": f_stall_headers,
    "trickle_headers": f_trickle_headers,
    "trickle_body": f_trickle_body,
    "malformed_json": f_malformed_json,
    "truncated_json": f_truncated_json,
    "wrong_shape": f_wrong_shape,
    "text_plain_json": f_text_plain_json,
    "html_200": f_html_200,
    "status": f_status,
    "gzip": f_gzip,
    "bad_gzip": f_bad_gzip,
    "bad_chunk": f_bad_chunk,
    "stream_error": f_stream_error,
    "stall_stream": f_stall_stream,
    "reset_stream": f_reset_stream,
    "bad_chunk_stream": f_bad_chunk_stream,
    "job": f_job,
}
# "big_json" and "big_stream" are the normal answer, made big by parameters: /fault/ok?answer=embedding&rows=N and
# /fault/ok/v1/chat/completions?chunks=N


@dataclass
class FaultServer:
    """The server. `start()` binds 127.0.0.1 on a free port; use as a context manager or call `stop()`."""

    port: int = 0
    refused_port: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    _attempts: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None
    _refuser: socket.socket | None = None
    _thread: threading.Thread | None = None
    _cache: dict[tuple[str, int], bytes] = field(default_factory=dict)

    def start(self) -> FaultServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        listener.settimeout(0.1)
        refuser = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # bound, never listening: connects are refused
        refuser.bind(("127.0.0.1", 0))
        self._listener, self._refuser = listener, refuser
        self.port = listener.getsockname()[1]
        self.refused_port = refuser.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="fault-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(5)
        for sock in (self._listener, self._refuser):
            if sock is not None:
                sock.close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = Connection(sock, self)
            threading.Thread(target=connection.serve, name="fault-connection", daemon=True).start()

    # --- attempts and URLs ---------------------------------------------------------------------------------------

    def count(self, key: str) -> int:
        with self._lock:
            self._attempts[key] += 1
            return self._attempts[key]

    def attempts(self, key: str) -> int:
        with self._lock:
            return self._attempts.get(key, 0)

    def url(self, fault: str, key: str, params: dict[str, str | int | float] | None = None) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"key": key, **(params or {})}.items())
        return f"http://127.0.0.1:{self.port}/fault/{fault}?{query}"

    def refused_url(self) -> str:
        return f"http://127.0.0.1:{self.refused_port}/fault/refused"

    # --- big bodies, built once ----------------------------------------------------------------------------------

    def big_embedding(self, rows: int) -> bytes:
        """`rows` embeddings of EMBEDDING_WIDTH floats as JSON (about 9 kB a row)."""
        with self._lock:
            cached = self._cache.get(("embedding", rows))
            if cached is None:
                row = b"[" + b",".join(b"%.6f" % (i / EMBEDDING_WIDTH) for i in range(EMBEDDING_WIDTH)) + b"]"
                cached = self._cache[("embedding", rows)] = b"[" + b",".join([row] * rows) + b"]"
            return cached

    def stream_body(self, count: int) -> bytes:
        """A whole chunked SSE chat stream of `count` chunks, [DONE] and the last chunk."""
        with self._lock:
            cached = self._cache.get(("stream", count))
            if cached is None:
                first = chat_chunk("fault-model", "x", first=True)
                rest = chat_chunk("fault-model", "x")
                events = first + rest * (count - 1) if count else b""
                parts = [chunked(events[i:i + 65536]) for i in range(0, len(events), 65536)]
                cached = self._cache[("stream", count)] = b"".join(parts) + chunked(SSE_DONE) + b"0\r\n\r\n"
            return cached
