"""Where a call goes: (provider, model, base URL, task) -> URL, wire dialect and trust. Pure functions over the
provider tables that codegen compiles from specs/providers/."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, NewType
from urllib.parse import urlsplit, urlunsplit

from .errors import InvalidInputError

RegisteredProvider = NewType("RegisteredProvider", str)  # what register_provider() returns, for `provider=`
CHAT_TASK = "chat-completion"
ROUTER = "https://router.huggingface.co"
_HF_DOMAINS = ("huggingface.co", "hf.co")


@dataclass(frozen=True, slots=True)
class Route:
    provider: str | None  # None: a URL given by the caller (an Inference Endpoint or a local server)
    url: str
    dialect: str
    hf_hosted: bool  # a Hugging Face host: may receive the implicit HF token and X-HF-Bill-To
    body_model: str | None  # "model" in OpenAI-style bodies; None: not sent
    omit: tuple[str, ...] = ()  # top-level body keys this route does not take
    json_schema: str = "openai"  # how a JSON-schema response_format is written (specs/README.md)
    auth: str = "bearer"  # "bearer" or "key": the word before the token in Authorization
    headers: tuple[tuple[str, str], ...] = ()  # headers the provider's route wants
    serverless: bool = False  # a provider's cloud: a call without any token cannot succeed
    root: str = ""  # where the provider's API starts (the router's or its own): job polls go under it
    flow: str | None = None  # the named job flow (specs/flows.json) that follows the submission
    adapter: tuple[str, str] | None = None  # a LoRA the provider applies: (its Hub repo URL, its weights file URL)
    prefer_wait: int | None = None  # seconds the server may hold the answer (RFC 7240 `Prefer: wait=N`)


def is_url(value: str | None) -> bool:
    return bool(value) and value.startswith(("http://", "https://"))  # type: ignore[union-attr]


def is_hf_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return any(host == d or host.endswith("." + d) for d in _HF_DOMAINS)


def chat_url(base: str) -> str:
    """The chat-completions URL of an endpoint, keeping its query string."""
    parts = urlsplit(base)
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path += "/chat/completions" if path.endswith("/v1") else "/v1/chat/completions"
    return urlunsplit(parts._replace(path=path))


def _join(base: str, path: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + path.lstrip("/")))


def _endpoint_route(base: str, task: str, model_id: str | None) -> Route:
    """A URL without a provider: an Inference Endpoint (the Hugging Face wire at the URL itself) or an
    OpenAI-compatible server when the URL ends in /v1."""
    hf = is_hf_host(base)
    if task == CHAT_TASK:
        return Route(None, chat_url(base), "openai-chat", hf, model_id)
    if urlsplit(base).path.rstrip("/").endswith("/v1"):
        if task == "text-generation":
            return Route(None, _join(base, "completions"), "openai-completions", hf, model_id)
        if task == "feature-extraction":
            return Route(None, _join(base, "embeddings"), "openai-embeddings", hf, model_id)
    return Route(None, base, "hf", hf, None)


def resolve(providers: Mapping[str, Any], *, provider: str | None, client_model: str | None,
            call_model: str | None, base_url: str | None, task: str, method: str, stream: bool,
            provider_id: str | None = None, adapter: tuple[str, str] | None = None,
            via_router: bool = False) -> Route:
    """Pick the route of one call. Raises InvalidInputError (nothing sent) when the call cannot be routed.
    `provider_id` is the provider's own id of the model, `adapter` a LoRA it serves it with; `via_router`: the caller has a Hugging Face token, so a
    provider reachable through the Hugging Face router is called there (else directly, with the caller's key)."""
    base = base_url
    model_id = call_model or client_model
    if is_url(call_model):
        if base_url:
            raise InvalidInputError(f"{method}(): model is a URL and the client has base_url; give only one")
        base, model_id = call_model, None
    elif is_url(client_model):
        base, model_id = client_model, call_model
    name = provider or ("hf-inference" if base is None else None)
    if name is None:
        return _endpoint_route(base or "", task, model_id)
    table = providers.get(name)
    if table is None:
        known = ", ".join(sorted(providers))
        raise InvalidInputError(f"{method}(): unknown provider {name!r}; known providers: {known}")
    routes = table["routes"]
    spec = routes.get(task) or routes.get("*")
    if spec is None:
        serving = sorted(p for p, t in providers.items() if task in t["routes"] or "*" in t["routes"])
        raise InvalidInputError(f"{method}(): provider {name!r} does not serve {task!r}; providers that do: "
                                f"{', '.join(serving) or 'none'}")
    routed = table.get("router") and via_router and base is None
    root = f"{ROUTER}/{name}" if routed else base or spec.get("base_url") or table["base_url"]
    if root is None:
        raise InvalidInputError(f"{method}(): provider {name!r} needs base_url")
    serverless = "model_ids" in table  # a provider's cloud (local servers and hf-inference do not map ids)
    if not model_id and ("{model}" in spec["path"] or serverless):
        raise InvalidInputError(f"{method}(): no model; pass model='<org>/<name>' to the call or the client")
    target = provider_id or model_id
    path = spec.get("stream_path") if stream and spec.get("stream_path") else spec["path"]
    if target and ":" in target and spec.get("version_path"):  # owner/name:version, e.g. on replicate
        path = spec["version_path"]
    url = _join(root, path.replace("{model}", target or ""))
    if routed and spec.get("router_query"):
        url += "?" + spec["router_query"]
    return Route(name, url, spec.get("dialect", "hf"), is_hf_host(url), target or table.get("default_model"),
                 tuple(spec.get("omit", ())), spec.get("json_schema", "openai"), table.get("auth", "bearer"),
                 tuple(spec.get("headers", {}).items()), serverless, root, spec.get("flow"), adapter,
                 spec.get("prefer_wait"))


def service_url(providers: Mapping[str, Any], *, provider: str | None, client_model: str | None,
                call_model: str | None, base_url: str | None, kind: str, method: str) -> str:
    """The URL of a server's own route ("info", "health"): a provider's, or `/{kind}` under an endpoint URL."""
    base = call_model if is_url(call_model) else client_model if is_url(client_model) else base_url
    if provider is None and base is not None:
        return _join(base, kind)
    name = provider or "hf-inference"
    table = providers.get(name)
    path = (table or {}).get("service", {}).get(kind)
    if table is None or path is None:
        offering = sorted(p for p, t in providers.items() if kind in t.get("service", {}))
        raise InvalidInputError(f"{method}(): {name!r} has no {kind} route; give the URL of an endpoint or a "
                                f"local server, or one of these providers: {', '.join(offering)}")
    root = base or table["base_url"]
    if root is None:
        raise InvalidInputError(f"{method}(): provider {name!r} needs base_url")
    return _join(root, path)


def implicit_token() -> str | None:
    """The caller's Hugging Face token from the environment or a saved login, sent to Hugging Face hosts only."""
    if os.environ.get("HF_HUB_DISABLE_IMPLICIT_TOKEN", "").lower() in {"1", "true", "yes", "on"}:
        return None
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        if os.environ.get(var, "").strip():
            return os.environ[var].strip()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    path = Path(os.environ.get("HF_TOKEN_PATH") or os.path.join(home, "token")).expanduser()
    try:
        return path.read_text().strip() or None
    except OSError:
        return None
