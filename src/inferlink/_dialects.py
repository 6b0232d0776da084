"""Translation between the Hugging Face wire shape of a task and another API's shape (OpenAI completions,
embeddings), driven by the mappings in specs/dialects.json."""

from __future__ import annotations

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


def remap(mapping: Mapping[str, Any], source: Any, variables: Mapping[str, Any] | None = None) -> Any:
    """Build a value from `mapping`: target path -> a source path, "$name" (from `variables`), {"const": v}, or
    {"path": p, "default": v}. The empty target path "" means the whole result. Missing and None sources are left
    out."""
    result: dict[str, Any] = {}
    for target, spec in mapping.items():
        if isinstance(spec, dict):
            value = spec["const"] if "const" in spec else get_path(source, spec["path"])
            if value is _MISSING or value is None:
                value = spec.get("default")
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
