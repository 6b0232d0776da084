"""`make demo`: the typed client against a real llama.cpp server on this machine.

It writes the tiny alphabet model (a 520 KB llama GGUF whose every chat answer is "abcdefghijklmnopqrstuvwxyz") into
.venv-servers/models/ if it is not there yet, starts llama-cpp-python's server on a free loopback port, and shows
through the typed InferenceClient and AsyncInferenceClient: a chat completion, a streamed one printed as it arrives,
completions and embeddings. The server is stopped at the end, on errors and on Ctrl-C.

    make demo                  # or: .venv/bin/python examples/demo.py  (after `make install servers`)
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the project's own helpers: tests/live/{servers,tiny_gguf}.py

from inferlink import AsyncInferenceClient, InferenceClient  # noqa: E402
from tests.live import servers, tiny_gguf  # noqa: E402

MODEL = servers.SERVERS / "models" / "tiny-alphabet.gguf"
LOG = servers.SERVERS / "logs" / "demo-llama-server.log"
MESSAGES = [{"role": "user", "content": "Recite the alphabet, please."}]
STARTED = time.monotonic()


def say(text: str = "", end: str = "\n") -> None:
    print(text, end=end, flush=True)


@contextmanager
def step(title: str) -> Iterator[None]:
    started = time.monotonic()
    say(f"\n== {title}")
    yield
    say(f"   ({(time.monotonic() - started) * 1000:.0f} ms)")


def ensure_model() -> None:
    if MODEL.exists():
        say(f"model: {MODEL.relative_to(ROOT)} (cached, {MODEL.stat().st_size // 1024} KB)")
        return
    started = time.monotonic()
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    partial = MODEL.with_name(f".{MODEL.name}.{os.getpid()}.tmp")
    try:
        tiny_gguf.write(partial)
        partial.replace(MODEL)  # atomic: an interrupted write never leaves a broken model behind
    finally:
        partial.unlink(missing_ok=True)
    say(f"model: wrote {MODEL.relative_to(ROOT)} ({MODEL.stat().st_size // 1024} KB) "
        f"in {time.monotonic() - started:.2f} s")


def sync_tour(base_url: str) -> None:
    with InferenceClient(provider="llama.cpp", base_url=base_url, timeout=30) as client:
        with step("sync  chat_completion()  -> ChatCompletionOutput"):
            reply = client.chat_completion(MESSAGES, max_tokens=64)
            choice = reply.choices[0]
            say(f"   reply: {choice.message.content!r}  (finish_reason={choice.finish_reason})")
            if reply.usage is not None:
                say(f"   usage: {reply.usage.prompt_tokens} prompt + {reply.usage.completion_tokens} completion tokens")

        with step("sync  chat.completions.create(stream=True)  -> Stream[ChatCompletionStreamOutput]"):
            say("   streamed: ", end="")
            for chunk in client.chat.completions.create(model="tiny", messages=MESSAGES, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    say(chunk.choices[0].delta.content, end="")
                    time.sleep(0.03)  # the tiny model is faster than the eye: slow down to show the stream
            say()

        with step("sync  chat_completion(stop=['n'])  and  text_generation('hello', max_new_tokens=5)  -> str"):
            stopped = client.chat_completion(MESSAGES, stop=["n"]).choices[0].message.content
            say(f"   stop=['n']: {stopped!r}")
            say(f"   'hello' continues with {client.text_generation('hello', max_new_tokens=5)!r}")

        with step("sync  feature_extraction()  -> list[list[float]]"):
            vectors = client.feature_extraction(["hello", "world", "abc"])
            say(f"   {len(vectors)} vectors of {len(vectors[0])} floats; the first begins "
                f"[{', '.join(f'{x:+.3f}' for x in vectors[0][:4])}, ...]")


async def async_tour(base_url: str) -> None:
    async with AsyncInferenceClient(provider="llama.cpp", base_url=base_url, timeout=30) as client:
        with step("async await chat.completions.create()  -> ChatCompletionOutput"):
            reply = await client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=10)
            say(f"   reply: {reply.choices[0].message.content!r}  (finish_reason={reply.choices[0].finish_reason})")

        with step("async async for chunk in await chat_completion(stream=True)  -> AsyncStream"):
            say("   streamed: ", end="")
            async for chunk in await client.chat_completion(MESSAGES, stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    say(chunk.choices[0].delta.content, end="")
                    await asyncio.sleep(0.03)
            say()

        with step("async three calls at once: asyncio.gather(chat, text_generation, feature_extraction)"):
            chat, text, vectors = await asyncio.gather(
                client.chat_completion(MESSAGES, max_tokens=3),
                client.text_generation("w"),
                client.feature_extraction(["one", "two"]),
            )
            say(f"   chat: {chat.choices[0].message.content!r}   'w' continues with {text!r}   "
                f"embeddings: {len(vectors)} x {len(vectors[0])}")


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM (e.g. a killed `make`): stop the server on the way out, as for Ctrl-C


def main() -> int:
    signal.signal(signal.SIGTERM, _terminated)
    absent = servers.missing(servers.LLAMA_STAMP, servers.LLAMA_PYTHON)
    if absent:
        say("llama-cpp-python's server is not installed; run `make demo` (or `make servers`) from the repository root.")
        return 1
    say("inferlink demo: the typed client against a real llama.cpp server (llama-cpp-python) on loopback")
    ensure_model()
    server = servers.llama_server(MODEL, LOG)
    try:
        started = time.monotonic()
        say(f"server: starting llama.cpp on {server.base_url} (log: {LOG.relative_to(ROOT)})")
        server.start(timeout=60)
        say(f"server: ready in {time.monotonic() - started:.2f} s (pid {server.pid})")
        tour_started = time.monotonic()
        sync_tour(server.base_url)
        asyncio.run(async_tour(server.base_url))
        say(f"\ncalls took {time.monotonic() - tour_started:.2f} s")
    except servers.ServerStartError as error:
        say(f"\nerror: {error}")
        return 1
    except KeyboardInterrupt:
        say("\ninterrupted")
        return 130
    finally:
        server.stop()
        say(f"server: stopped; demo took {time.monotonic() - STARTED:.2f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
