"""JSON Schema -> Python type expressions, for method signatures and the parse targets of each task."""

from __future__ import annotations

from typing import Any

from codegen.spec import Task


def _is_model(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "object" and "properties" in schema


def _union(parts: list[str]) -> str:
    seen: list[str] = []
    for part in parts:
        for piece in _split_union(part):
            if piece not in seen:
                seen.append(piece)
    if "None" in seen:  # None last reads best
        seen.remove("None")
        seen.append("None")
    return " | ".join(seen)


def _split_union(expression: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(expression):
        depth += char in "[("
        depth -= char in "])"
        if depth == 0 and expression.startswith(" | ", i):
            parts.append(expression[start:i])
            start = i + 3
    parts.append(expression[start:])
    return parts


def py_type(task: Task, schema: dict[str, Any], *, argument: bool) -> str:
    """The Python type of values matching `schema`. Arguments accept models or plain mappings and any sequence;
    parse targets name the generated classes."""
    defs = task.document["$defs"]
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        target = defs[name]
        if _is_model(target):
            return f"{name} | Mapping[str, Any]" if argument else name
        return py_type(task, target, argument=argument)
    if "const" in schema:
        return f"Literal[{schema['const']!r}]"
    if "enum" in schema:
        values = [v for v in schema["enum"] if v is not None]
        literal = f"Literal[{', '.join(repr(v) for v in values)}]"
        return _union([literal, "None"]) if None in schema["enum"] else literal
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _union([py_type(task, s, argument=argument) for s in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([py_type(task, {**schema, "type": k}, argument=argument) for k in kind])
    if kind == "string":
        return "str"
    if kind == "integer":
        return "int"
    if kind == "number":
        return "float"
    if kind == "boolean":
        return "bool"
    if kind == "null":
        return "None"
    if kind == "array":
        item = py_type(task, schema["items"], argument=argument) if "items" in schema else "Any"
        return f"Sequence[{item}]" if argument else f"list[{item}]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        value = py_type(task, extra, argument=argument) if isinstance(extra, dict) else "Any"
        return f"Mapping[str, {value}]" if argument else f"dict[str, {value}]"
    return "Any"


def root_type(task: Task, key: str) -> str:
    """The parse target of the input, output or stream_output schema."""
    schema = task.raw[key]
    if _is_model(schema):
        return str(schema["title"])
    return py_type(task, {k: v for k, v in schema.items() if k != "title"}, argument=False)
