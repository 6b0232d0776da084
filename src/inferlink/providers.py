"""Providers known to the clients, and registering your own at run time.

    from inferlink.providers import register_provider

    my_llm = register_provider("my-llm", base_url="https://llm.example.com", routes={
        "chat-completion": {"path": "/v1/chat/completions", "dialect": "openai-chat"},
        "feature-extraction": {"path": "/v1/embeddings", "dialect": "openai-embeddings"},
    })
    InferenceClient(provider=my_llm, api_key="...").chat_completion(messages, model="my-model")

A route is the same data as in specs/providers/*.json: `path` (with `{model}` where the model id goes), `dialect`
(`hf`, `openai-chat`, `openai-completions`, `openai-embeddings`, or any other of specs/dialects.json), and
optionally `stream_path`, `omit`, `json_schema`, `headers`, `base_url` (this route's own), `version_path`, `flow`
(a job flow of specs/flows.json, for APIs that answer with a job to poll) and `prefer_wait` (seconds the server may
hold the answer, sent as `Prefer: wait=N` and never past the call's timeout). Any OpenAI-compatible service
works this way with no code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from ._generated import _tasks
from ._generated._tables import DIALECTS, FLOWS, PROVIDERS, ProviderName
from ._request import JSON_SCHEMA_STYLES
from ._routing import RegisteredProvider
from ._task import TaskSpec
from .errors import InvalidInputError

__all__ = ["ProviderName", "RegisteredProvider", "known_providers", "register_provider"]

_ROUTE_KEYS = {"path", "dialect", "stream_path", "omit", "json_schema", "headers", "flow", "base_url", "version_path",
               "prefer_wait"}
_TASKS = {value.task for value in vars(_tasks).values() if isinstance(value, TaskSpec)}


def known_providers() -> list[str]:
    return sorted(PROVIDERS)


def register_provider(name: str, *, base_url: str, routes: Mapping[str, Mapping[str, Any]],
                      auth: Literal["bearer", "key"] = "bearer", default_model: str | None = None,
                      replace: bool = False) -> RegisteredProvider:
    """Make `provider=name` route calls of the given tasks to `base_url` (with the caller's token or key).
    Returns the name as a RegisteredProvider, the type the clients' `provider` argument takes besides the built-in
    names."""
    where = f"register_provider({name!r})"
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        raise InvalidInputError(f"{where}: a provider name is lowercase letters, digits, '.', '_' and '-'")
    if name in PROVIDERS and not replace:
        raise InvalidInputError(f"{where}: {name!r} is already known; pass replace=True to redefine it")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise InvalidInputError(f"{where}: base_url must start with http:// or https://")
    if auth not in ("bearer", "key"):
        raise InvalidInputError(f"{where}: auth is 'bearer' or 'key'")
    if not routes:
        raise InvalidInputError(f"{where}: give at least one route")
    checked: dict[str, dict[str, Any]] = {}
    for task, route in routes.items():
        if task not in _TASKS and task != "*":
            raise InvalidInputError(f"{where}: unknown task {task!r}; tasks: {', '.join(sorted(_TASKS))}")
        unknown = set(route) - _ROUTE_KEYS
        if unknown or not isinstance(route.get("path"), str):
            raise InvalidInputError(f"{where}: route {task!r} needs a 'path' and takes only {sorted(_ROUTE_KEYS)}")
        if route.get("dialect", "hf") not in {"hf", *DIALECTS}:
            raise InvalidInputError(f"{where}: route {task!r}: unknown dialect {route.get('dialect')!r}; "
                                    f"dialects: hf, {', '.join(sorted(DIALECTS))}")
        if "flow" in route and route["flow"] not in FLOWS:
            raise InvalidInputError(f"{where}: route {task!r}: unknown flow {route['flow']!r}; flows: "
                                    f"{', '.join(sorted(FLOWS))}")
        if route.get("json_schema", "openai") not in JSON_SCHEMA_STYLES:
            raise InvalidInputError(f"{where}: route {task!r}: json_schema is one of {sorted(JSON_SCHEMA_STYLES)}")
        checked[task] = dict(route)
    PROVIDERS[name] = {"name": name, "base_url": base_url.rstrip("/"), "auth": auth,
                       "default_model": default_model, "routes": checked}
    return RegisteredProvider(name)
