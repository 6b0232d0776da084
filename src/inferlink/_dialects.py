"""Translation between the Hugging Face wire shape of a task and another API's shape (OpenAI completions,
embeddings, queue-based media APIs), driven by the mappings in specs/dialects.json."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Mapping

_MISSING = object()


def get_path(source: Any, path: str | list[str]) -> Any:
    """Follow a dotted path; "*" maps the rest of the path over a list; numbers index lists. A list of paths means
    the first one that leads somewhere."""
    if isinstance(path, list):
        for alternative in path:
            value = get_path(source, alternative)
            if value is not _MISSING and value is not None:
                return value
        return _MISSING
    if not path:
        return source
    head, _, rest = path.partition(".")
    if head == "*":
        if not isinstance(source, list):
            return _MISSING
        return [get_path(item, rest) for item in source]
    if isinstance(source, list) and head.isdigit():
        index = int(head)
        return get_path(source[index], rest) if index < len(source) else _MISSING
    if isinstance(source, dict) and head in source:
        return get_path(source[head], rest)
    return _MISSING


def found(value: Any) -> bool:
    return value is not _MISSING and value is not None


_FIELD = re.compile(r"\{([^{}]+)\}")


def formatted(template: str, source: Any) -> Any:
    """`template` with each {path} replaced by its value, or _MISSING when one is missing."""
    values = {path: get_path(source, path) for path in _FIELD.findall(template)}
    if any(v is _MISSING or v is None for v in values.values()):
        return _MISSING
    return _FIELD.sub(lambda m: str(values[m.group(1)]), template)


def _lookup(path: str | list[str], source: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(path, str) and path.startswith("$"):
        return variables.get(path[1:], _MISSING)
    return get_path(source, path)


def _value(spec: Any, source: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(spec, list):  # alternatives: the first that gives a value
        for alternative in spec:
            value = _value(alternative, source, variables)
            if found(value):
                return value
        return _MISSING
    if not isinstance(spec, dict):
        return _lookup(spec, source, variables)
    model = str(variables.get("model") or "")
    if "when_model" in spec and not re.search(spec["when_model"], model):
        return _MISSING
    if "unless_model" in spec and re.search(spec["unless_model"], model):
        return _MISSING
    if "if" in spec and not found(_lookup(spec["if"], source, variables)):
        return _MISSING
    if "const" in spec:
        value = spec["const"]
    elif "format" in spec:
        value = formatted(spec["format"], source)
    elif "list" in spec:
        items = [_value(item, source, variables) for item in spec["list"]]
        value = [item for item in items if found(item)] or _MISSING
    elif "object" in spec:
        value = remap(spec["object"], source, variables) or _MISSING
    elif "each" in spec:
        items = get_path(source, spec["each"])
        value = [remap(spec["map"], item, variables) for item in items] if isinstance(items, list) else _MISSING
    else:
        value = _lookup(spec["path"], source, variables)
    if value is _MISSING or value is None:
        return spec.get("default", _MISSING)
    if spec.get("decode") == "base64" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return _MISSING
    if "join" in spec and isinstance(value, list):
        return spec["join"].join(str(item) for item in value)
    if spec.get("encode") == "base64" and isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


def remap(mapping: Mapping[str, Any], source: Any, variables: Mapping[str, Any] | None = None) -> Any:
    """Build a value from `mapping` (target path -> spec; the syntax is in specs/README.md). The empty target path ""
    means the whole result; the target "*" copies every key of a source object that the other targets leave out.
    Missing and None sources are left out."""
    variables = variables or {}
    result: dict[str, Any] = {}
    for target, spec in mapping.items():
        value = _value(spec, source, variables)
        if value is _MISSING or value is None:
            continue
        if not target:
            return value
        if target == "*":
            if isinstance(value, dict):
                skip = set(spec.get("except", ())) if isinstance(spec, dict) else set()
                for key, item in value.items():
                    if key not in skip and item is not None:
                        result.setdefault(key, item)
            continue
        node = result
        *parents, leaf = target.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return result
