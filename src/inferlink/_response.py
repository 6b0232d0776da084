"""Reading a response: bytes -> the typed value a method returns. No I/O here."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any, Mapping

from ._dialects import remap
from .errors import MissingDependencyError, ResponseError, StreamError, StructuredOutputError

if TYPE_CHECKING:
    from ._routing import Route
    from ._task import TaskSpec, Variant


def _normalize(kind: str | None, value: Any) -> Any:
    """Reshape what real servers send into the spec's shape."""
    if kind == "first":
        return value[0] if isinstance(value, list) and value else value
    if kind == "flatten":
        return value[0] if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list) else value
    if kind == "listify":
        return [value] if isinstance(value, dict) else value
    if kind == "matrix":
        return [value] if isinstance(value, list) and value and not isinstance(value[0], list) else value
    return value


def _invalid(task: TaskSpec, what: str, content: bytes, detail: str) -> ResponseError:
    shown = content[:300].decode("utf-8", "replace")
    return ResponseError(f"{task.method}(): the server's {what} is not what this task returns ({detail}); "
                         f"it began with: {shown!r}", body=content)


def _pick(value: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        value = getattr(value, name, None) if value is not None else None
    return value


def require_pillow(method: str) -> None:
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            f"{method}() returns a PIL image by default, and Pillow is not installed: pip install 'inferlink[images]',"
            f" or pass output_type='bytes'") from None


def _image(task: TaskSpec, content: bytes) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(content))
        image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise _invalid(task, "response", content, f"not an image: {error}") from None
    return image


_NATIVE = ("hf", "openai-chat")  # dialects whose answers already have the spec's shape


def parse(task: TaskSpec, variant: Variant, route: Route, dialects: Mapping[str, Any], content: bytes) -> Any:
    from pydantic import ValidationError

    native = route.dialect in _NATIVE
    if task.response_format == "bytes" and (native or "response" not in dialects[route.dialect]):
        return _image(task, content) if variant.decode == "image" else content
    if not native:  # another API's JSON: its dialect says where the result is in it
        try:
            doc = json.loads(content)
        except ValueError as error:
            raise _invalid(task, "response", content, f"invalid JSON: {error}") from None
        return parse_document(task, variant, route, dialects, doc, None, content)
    adapter = task.adapter("OUTPUT_TYPE")
    try:
        try:  # most answers already have the spec's shape: parse the bytes straight into the models
            if task.normalize == "flatten":  # [[...]] -> [...] without building the outer list
                inner = content.strip()
                if inner[:2] == b"[[" and inner[-2:] == b"]]":
                    return _pick(adapter.validate_json(inner[1:-1]), variant.pick)
            return _pick(_normalize(task.normalize, adapter.validate_json(content)), variant.pick)
        except ValidationError:
            if task.normalize is None:
                raise
        value = adapter.validate_python(_normalize(task.normalize, json.loads(content)))
    except ValueError as error:  # pydantic's ValidationError and json's JSONDecodeError
        detail = _summary(error) if isinstance(error, ValidationError) else f"invalid JSON: {error}"
        raise _invalid(task, "response", content, detail) from None
    return _pick(value, variant.pick)


def parse_document(task: TaskSpec, variant: Variant, route: Route, dialects: Mapping[str, Any], doc: Any,
                   download: bytes | None, content: bytes | None = None) -> Any:
    """The typed result from a provider's JSON answer (for a job, its last document): the dialect's `response`
    mapping over it, with the downloaded result as "$download" (the whole result by default)."""
    from pydantic import ValidationError

    mapping = dialects[route.dialect].get("response", {"": "$download"})
    value = remap(mapping, doc, {"download": download})
    shown = content if content is not None else json.dumps(doc).encode()
    if task.response_format == "bytes":
        if not isinstance(value, bytes):
            spec = mapping.get("", "")
            place = f"{spec['path']} ({spec['decode']})" if isinstance(spec, dict) and "decode" in spec else spec
            raise _invalid(task, "response", shown, f"no content at {place}, where the provider puts it")
        return _image(task, value) if variant.decode == "image" else value
    try:
        return _pick(task.adapter("OUTPUT_TYPE").validate_python(_normalize(task.normalize, value)), variant.pick)
    except ValidationError as error:
        raise _invalid(task, "response", shown, _summary(error)) from None


def parse_structured(task: TaskSpec, variant: Variant, output: Any, model: Any, content: bytes) -> Any:
    """The reply with each message's content validated into `model`, as the variant's generic output type."""
    import importlib

    from pydantic import ValidationError

    assert variant.structured is not None
    generic = getattr(importlib.import_module(task.module), variant.structured[0])
    data = output.model_dump(by_alias=True, exclude_unset=True)
    for index, choice in enumerate(output.choices):
        text = choice.message.content
        if text is None:
            continue
        try:
            data["choices"][index]["message"]["parsed"] = model.model_validate_json(text)
        except ValidationError as error:
            raise StructuredOutputError(
                f"{task.method}(): choice {index}'s reply does not follow {model.__name__} ({_summary(error)}); "
                f"the raw reply is in .text", text=text, body=content) from None
    return generic[model].model_validate(data)


def _summary(error: Any) -> str:
    items = error.errors(include_url=False)
    first = items[0]
    where = ".".join(str(p) for p in first["loc"]) or "the body"
    more = f" and {len(items) - 1} more" if len(items) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def stream_error(data: bytes, event: str) -> StreamError | None:
    """The error a stream event carries (TGI {"error", "error_type"}, OpenAI {"error": {...}}, `event: error`)."""
    try:
        payload = json.loads(data)
    except ValueError:
        return StreamError(f"the server reported an error in the stream: {data[:500].decode('utf-8', 'replace')}")\
            if event == "error" else None
    error = payload.get("error") if isinstance(payload, dict) else None
    if error is None and event != "error":
        return None
    error_type = payload.get("error_type") if isinstance(payload, dict) else None
    message = error if isinstance(error, str) else None
    if isinstance(error, dict):
        message = error.get("message") or json.dumps(error)
        error_type = error_type or error.get("type") or error.get("code")
    message = message or json.dumps(payload)
    kind = f" ({error_type})" if error_type else ""
    return StreamError(f"the server reported an error in the stream{kind}: {message}",
                       error_type=str(error_type) if error_type else None, payload=payload)


def parse_chunk(task: TaskSpec, variant: Variant, route: Route, dialects: Mapping[str, Any], data: bytes) -> Any:
    from pydantic import ValidationError

    adapter = task.adapter("STREAM_TYPE")
    try:
        if route.dialect in ("hf", "openai-chat"):
            value = adapter.validate_json(data)
        else:
            mapped = remap(dialects[route.dialect]["stream_response"], json.loads(data))
            if not mapped.get("token", {}).get("text") and "details" not in mapped:
                return None  # nothing for this task, e.g. a usage-only chunk
            value = adapter.validate_python(mapped)
    except ValueError as error:
        detail = _summary(error) if isinstance(error, ValidationError) else f"invalid JSON: {error}"
        raise _invalid(task, "stream event", data, detail) from None
    if variant.pick:
        value = _pick(value, variant.pick)
        return value or None  # an empty token (end of sequence, a finish-only event) adds no text
    return value
