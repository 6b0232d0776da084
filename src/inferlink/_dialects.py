"""Translation between the Hugging Face wire shape of a task and another API's shape (OpenAI completions,
embeddings), driven by the mappings in specs/dialects.json."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Mapping

_MISSING = object()


def get_path(source: Any, path: str) -> Any:
    """Follow a dotted path; "*" maps the rest of the path over a list; numbers index lists."""
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


_FIELD = re.compile(r"\{([^{}]+)\}")


def _formatted(template: str, source: Any) -> Any:
    """`template` with each {path} replaced by its value, or _MISSING when one is missing."""
    values = {path: get_path(source, path) for path in _FIELD.findall(template)}
    if any(v is _MISSING or v is None for v in values.values()):
        return _MISSING
    return _FIELD.sub(lambda m: str(values[m.group(1)]), template)


def _value(spec: Mapping[str, Any], source: Any) -> Any:
    if "const" in spec:
        value = spec["const"]
    elif "format" in spec:
        value = _formatted(spec["format"], source)
    else:
        value = get_path(source, spec["path"])
    if value is _MISSING or value is None:
        return spec.get("default")
    if spec.get("decode") == "base64" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return _MISSING
    return value


def remap(mapping: Mapping[str, Any], source: Any, variables: Mapping[str, Any] | None = None) -> Any:
    """Build a value from `mapping`: target path -> a source path, "$name" (from `variables`), or an object with
    one of "path", "const" or "format" (a string with {path} fields), and optionally "default" and
    "decode": "base64". The empty target path "" means the whole result. Missing and None sources are left out."""
    result: dict[str, Any] = {}
    for target, spec in mapping.items():
        if isinstance(spec, dict):
            value = _value(spec, source)
        elif spec.startswith("$"):
            value = (variables or {}).get(spec[1:])
        else:
            value = get_path(source, spec)
        if value is _MISSING or value is None:
            continue
        if not target:
            return value
        node = result
        *parents, leaf = target.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return result
