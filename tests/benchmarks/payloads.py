"""The canned bodies the benchmark server answers with, and the request bodies raw httpx sends. Standard library
only: the workers import this module before timing `import httpx` / `import inferlink`."""

from __future__ import annotations

import json
from typing import Any

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
PROMPT = "Name three rivers."
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]
STREAM_CHUNKS = 2000  # content chunks of the stream scenarios (then a final chunk and [DONE])
MEMORY_STREAM_CHUNKS = 1000
EMBEDDING_SIZE = 384
TGI_TOKENS = 20

# Paths the server answers (everything else is a 404). The inferlink clients reach them as:
#   base_url=URL/v1                      chat_completion            -> /v1/chat/completions
#   base_url=URL/m1000/v1                chat_completion            -> /m1000/v1/chat/completions (1,000-chunk stream)
#   provider="tgi", base_url=URL         text_generation(details=True) -> /generate
#   base_url=URL/feature-extraction      feature_extraction         -> /feature-extraction (the URL itself)
#   base_url=URL/text-classification     text_classification        -> /text-classification
CHAT_PATH = "/v1/chat/completions"
MEMORY_CHAT_PATH = "/m1000/v1/chat/completions"
TGI_PATH = "/generate"
FEATURE_PATH = "/feature-extraction"
CLASSIFY_PATH = "/text-classification"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# ---- responses ----------------------------------------------------------------------------------------------------

def chat_completion() -> bytes:
    """An OpenAI chat completion as vLLM / OpenAI send it (~600 bytes)."""
    return _dumps({
        "id": "chatcmpl-9f3c2a7e5b1d4c8f9a6e3b2d1c0f8e7a",
        "object": "chat.completion",
        "created": 1764129600,
        "model": MODEL,
        "system_fingerprint": "fp_3b9e1a2c4d",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Three major rivers are the Nile in Africa, the Amazon in South America, and the Yangtze in "
                           "Asia. The Nile flows north through eleven countries to the Mediterranean.",
                "refusal": None,
                "tool_calls": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
            "stop_reason": None,
        }],
        "usage": {
            "prompt_tokens": 14,
            "completion_tokens": 38,
            "total_tokens": 52,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
        "prompt_logprobs": None,
    })


_WORDS = ("The", " river", " flows", " north", " through", " eleven", " countries", " to", " the", " sea", ",",
          " carrying", " silt", " and", " water", ".")


def _chunk(delta: dict[str, Any], finish: str | None) -> bytes:
    return _dumps({
        "id": "chatcmpl-9f3c2a7e5b1d4c8f9a6e3b2d1c0f8e7a",
        "object": "chat.completion.chunk",
        "created": 1764129600,
        "model": MODEL,
        "system_fingerprint": "fp_3b9e1a2c4d",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    })


def chat_stream(chunks: int) -> bytes:
    """A chat-completions SSE body: a role chunk, `chunks` content chunks, a finish chunk, then data: [DONE].
    Every event that the client turns into a value counts: chunks + 2."""
    events = [_chunk({"role": "assistant", "content": ""}, None)]
    events += [_chunk({"content": _WORDS[i % len(_WORDS)]}, None) for i in range(chunks)]
    events.append(_chunk({}, "stop"))
    return b"".join(b"data: " + e + b"\n\n" for e in events) + b"data: [DONE]\n\n"


def stream_events(chunks: int) -> int:
    """The number of JSON events (not counting [DONE]) in chat_stream(chunks)."""
    return chunks + 2


def tgi_generate() -> bytes:
    """TGI's /generate answer with details=true: 20 generated tokens, each with id/text/logprob/special."""
    texts = [_WORDS[i % len(_WORDS)] for i in range(TGI_TOKENS)]
    tokens = [{"id": 1000 + i, "text": text, "logprob": round(-0.05 - i * 0.0173, 4), "special": False}
              for i, text in enumerate(texts)]
    return _dumps({
        "generated_text": "".join(texts),
        "details": {
            "finish_reason": "length",
            "generated_tokens": TGI_TOKENS,
            "seed": None,
            "prefill": [],
            "tokens": tokens,
            "top_tokens": None,
        },
    })


def feature_extraction() -> bytes:
    """A sentence embedding as text-embeddings-inference / hf-inference send it: [[384 floats]]."""
    return _dumps([[round(((i * 7919) % 2001 - 1000) / 10007.0, 8) for i in range(EMBEDDING_SIZE)]])


def text_classification() -> bytes:
    """An emotion classifier's answer with every label: [[{label, score}, ...]]."""
    labels = [("joy", 0.9141), ("surprise", 0.0321), ("love", 0.0207), ("anger", 0.0154), ("sadness", 0.0103),
              ("fear", 0.0074)]
    return _dumps([[{"label": name, "score": score} for name, score in labels]])


# ---- requests (raw httpx) -----------------------------------------------------------------------------------------
# The same JSON inferlink sends for the calls the workers make, serialized once: raw httpx's minimal work.

CHAT_REQUEST = _dumps({"model": MODEL, "messages": MESSAGES, "max_tokens": 64})
STREAM_REQUEST = _dumps({"model": MODEL, "messages": MESSAGES, "max_tokens": 64, "stream": True})
TGI_REQUEST = _dumps({"inputs": PROMPT, "parameters": {"details": True, "max_new_tokens": 20}})
FEATURE_REQUEST = _dumps({"inputs": "Paris is the capital of France."})
CLASSIFY_REQUEST = _dumps({"inputs": "I love this movie!"})
