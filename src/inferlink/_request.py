"""Building a request body: the arguments of a generated method -> a validated Hugging Face-shaped body -> the bytes
of the route's dialect. No I/O here."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping

from . import _inputs
from ._dialects import remap
from .errors import InvalidInputError

if TYPE_CHECKING:
    from ._routing import Route
    from ._task import TaskSpec


def _default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


def get(body: Mapping[str, Any], path: str) -> Any:
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def put(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = body
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def is_model_class(value: object) -> bool:
    return isinstance(value, type) and hasattr(value, "model_json_schema") and hasattr(value, "model_validate_json")


JSON_SCHEMA_STYLES = frozenset({"openai", "flat-json-schema", "json-object-schema", "tgi"})


def json_schema_format(model: Any, style: str) -> dict[str, Any]:
    """A response_format asking for JSON that follows `model`'s schema, as the route's server spells it."""
    schema = model.model_json_schema()
    if style == "tgi":  # TGI's grammar (also what hf-inference takes)
        return {"type": "json_object", "value": schema}
    if style == "json-object-schema":  # llama.cpp's servers, cohere, fireworks-ai
        return {"type": "json_object", "schema": schema}
    if style == "flat-json-schema":  # together
        return {"type": "json_schema", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": model.__name__, "schema": schema}}


def _without_none(value: Any) -> Any:
    """A copy of a mapping without its None entries, at every depth (list items are kept as they are)."""
    kind = type(value)
    if kind is list:
        return [_without_none(v) for v in value]
    if kind is dict or (kind not in _SCALARS and isinstance(value, Mapping)):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


_SCALARS = frozenset({str, int, float, bool, bytes})


def build_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """Nest {dotted path: value} into a body. None means "not given" and is not sent, also inside mappings the
    caller passes (the caller's objects are copied, never changed)."""
    body: dict[str, Any] = {}
    for path, value in values.items():
        if value is not None:
            if type(value) not in _SCALARS:
                value = _without_none(value)
            if "." in path:
                put(body, path, value)
            else:
                body[path] = value
    return body


def merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Deep-merge `extra` into `target` (objects merge, everything else replaces)."""
    for key, value in extra.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merge(current, value)
        else:
            target[key] = value


def _argument(task: TaskSpec, loc: tuple[Any, ...]) -> str:
    """The Python argument (and where inside it) that a validation error location points to."""
    parts = [str(p) for p in loc]
    for size in range(len(parts), 0, -1):
        name = task.args.get(".".join(parts[:size]))
        if name:
            rest = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts[size:])
            return name + rest
    return ".".join(parts) or "the request"


def shape(route: Route, body: dict[str, Any]) -> dict[str, Any]:
    """The route's changes that keep the Hugging Face shape: the model first in OpenAI chat bodies (routers read it
    from the first bytes), keys the route does not take left out."""
    if route.dialect == "openai-chat" and route.body_model is not None:
        body = {"model": route.body_model, **body}
    for key in route.omit:
        body.pop(key, None)
    return body


def check_dialect(task: TaskSpec, route: Route, body: dict[str, Any], dialects: Mapping[str, Any]) -> None:
    """Refuse arguments the route's API has no field for, rather than dropping them without a word."""
    for path in dialects.get(route.dialect, {}).get("unsupported", ()):
        if get(body, path) is not None:
            name = task.args.get(path, path)
            where = route.provider or route.url
            raise InvalidInputError(f"{task.method}(): {name} has no counterpart in the OpenAI-style API of {where}; "
                                    f"if the server takes it under some name, pass it with extra_body={{...}}")


def _replaced(body: dict[str, Any], parts: list[str], value: Any) -> dict[str, Any]:
    """A copy of `body` with the value at `parts` replaced; only the dicts on the way are copied."""
    head, rest = parts[0], parts[1:]
    return {**body, head: _replaced(body[head], rest, value) if rest else value}


def validate(task: TaskSpec, body: dict[str, Any]) -> bytes | None:
    """Check the body against the task's input model before anything is sent. Returns the serialized body when it
    can be sent as it is (no binary content)."""
    from pydantic import ValidationError

    check = body
    for path in task.media:
        value = get(body, path)
        if value is not None:
            _inputs.check(value, f"{task.method}(): {task.args.get(path, path)}")
            check = _replaced(check, path.split("."), "")
    try:
        data = dumps(check)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{task.method}(): an argument cannot be sent as JSON: {error}") from None
    try:
        task.adapter("INPUT_TYPE").validate_json(data, strict=True)
    except ValidationError as error:
        problems = []
        for item in error.errors(include_url=False):
            shown = repr(item.get("input"))
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            problems.append(f"{_argument(task, item['loc'])}: {item['msg']} (got {shown})")
        raise InvalidInputError(f"{task.method}(): invalid argument: " + "; ".join(problems)) from None
    return None if task.media else data


def takes_urls(route: Route, dialects: Mapping[str, Any]) -> bool:
    """Whether the route's API fetches media from a URL itself (so a URL input is passed on, not downloaded)."""
    return bool(dialects.get(route.dialect, {}).get("media") == "data-url")


def _media(content: _inputs.Media | str, style: str, dialect: Mapping[str, Any]) -> Any:
    if isinstance(content, str):  # a URL the provider fetches itself
        return content
    if style == "data-url":  # some APIs accept only their own names of a MIME type
        mime = content.mime or dialect.get("default_mime", "application/octet-stream")
        return f"data:{dialect.get('mime_aliases', {}).get(mime, mime)};base64,{content.base64()}"
    return content if style == "file" else content.base64()


def _multipart(fields: Mapping[str, Any]) -> tuple[bytes, str]:
    import mimetypes

    import httpx

    data: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for key, value in fields.items():
        if isinstance(value, _inputs.Media):
            mime = value.mime or "application/octet-stream"
            extension = mimetypes.guess_extension(mime) or "." + mime.rpartition("/")[2].removeprefix("x-")
            files[key] = (f"{key}{extension}", value.data, mime)
        elif isinstance(value, bool):
            data[key] = "true" if value else "false"
        else:
            data[key] = value if isinstance(value, str) else json.dumps(value)
    request = httpx.Request("POST", "http://multipart.invalid", data=data, files=files)
    return request.read(), request.headers["content-type"]


def encode(task: TaskSpec, route: Route, body: dict[str, Any], media: Mapping[str, _inputs.Media | str],
           extra_body: Mapping[str, Any] | None, dialects: Mapping[str, Any],
           ready: bytes | None) -> tuple[bytes, str]:
    """The request's content and content type in the route's dialect, binary inputs in place."""
    raw = media.get("inputs")
    if task.raw_body and route.dialect == "hf" and set(body) == {"inputs"} and isinstance(raw, _inputs.Media) \
            and not extra_body:
        return raw.data, raw.mime or "application/octet-stream"
    native = route.dialect in ("hf", "openai-chat")
    if ready is not None and native and not extra_body:
        return ready, "application/json"
    dialect = dialects.get(route.dialect, {})
    style = dialect.get("media", "base64")
    for path, given in media.items():
        put(body, path, _media(given, style, dialect))
    if not native:
        version = (route.body_model or "").partition(":")[2] or None  # owner/name:version ids (replicate)
        repo, weights = route.adapter or (None, None)
        body = remap(dialect["request"], body, {"model": route.body_model, "version": version,
                                                "lora_repo": repo, "lora": weights})
    if extra_body:
        merge(body, extra_body)
    if style == "file":
        return _multipart(body)
    return dumps(body), "application/json"
