"""Our specs cover the upstream Hugging Face task specs: every property of every upstream input, output and stream
output schema exists in our spec at the same place, with a compatible type.

Upstream refs are resolved through a registry keyed by `$id` (the cross-file refs are absolute *paths* such as
"/inference/schemas/common-definitions.json#/definitions/X", which must not be read from the filesystem). Our refs
are "#/$defs/X" (the task file's `$defs`), whose entries may be {"$ref": "common.json#/$defs/Y"} (specs/common.json).

Compatible means: the same JSON type; an upstream integer may be an integer or a number in ours; an untyped upstream
schema matches anything; a typed upstream schema is matched by an untyped one of ours only when ours is binary
(contentEncoding base64); upstream enum values must all be accepted by ours (an enum/const holding them, or a plain
type); anyOf/oneOf in ours is compatible when some branch is. Upstream `nullable` is allowed to be written
anyOf [T, {"type": "null"}] in ours. Upstream allOf parts must each be covered; each upstream oneOf/anyOf branch
must be covered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from .conftest import SPECS, UPSTREAM

if not UPSTREAM.is_dir():
    pytest.skip(f"upstream Hugging Face task specs not found at {UPSTREAM}", allow_module_level=True)

Schema = dict[str, Any]

SCHEMA_FILES = {"input": "input.json", "output": "output.json", "stream_output": "stream_output.json"}
EXTRA_TASKS = {"audio-to-audio", "tabular-classification", "tabular-regression"}


def _upstream_tasks() -> list[str]:
    return sorted(p.name for p in UPSTREAM.iterdir()
                  if p.is_dir() and p.name != "placeholder" and (p / "spec" / "input.json").is_file())


def _upstream_registry() -> dict[str, Schema]:
    """Every upstream schema document, keyed by its `$id`."""
    registry: dict[str, Schema] = {}
    for file in sorted(UPSTREAM.rglob("*.json")):
        document = json.loads(file.read_text())
        if isinstance(document, dict) and isinstance(document.get("$id"), str):
            registry[document["$id"]] = document
    return registry


UPSTREAM_TASKS = _upstream_tasks()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _values(schema: Schema) -> list[Any] | None:
    """The values an enum/const allows, or None when the schema has neither."""
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _types(schema: Schema) -> list[str]:
    """The JSON types a (resolved, non-composite part of a) schema declares or implies; [] when untyped."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list):
        return list(declared)
    values = _values(schema)
    if values is not None:
        return list(dict.fromkeys(_json_type(v) for v in values))
    if "properties" in schema or isinstance(schema.get("additionalProperties"), dict):
        return ["object"]
    if "items" in schema:
        return ["array"]
    return []


def _allows(branch: Schema, value: Any) -> bool:
    """Whether a branch of ours (already known to accept the value's type) accepts this enum value."""
    values = _values(branch)
    return values is None or any(value == v and _json_type(value) == _json_type(v) for v in values)


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class Coverage:
    """Checks that `ours` covers `upstream`; collects every problem as "path: problem"."""

    def __init__(self, registry: dict[str, Schema], our_defs: dict[str, Schema], common_defs: dict[str, Schema],
                 our_roots: dict[str, Schema] | None = None, require_null: bool = False) -> None:
        self.registry = registry
        self.require_null = require_null  # outputs: where upstream says nullable, ours must accept null
        self.our_defs = our_defs
        self.common_defs = common_defs
        self.our_roots = our_roots or {}

    # -- upstream side -------------------------------------------------------------------------------------------
    def _resolve_upstream(self, node: Schema, base: str) -> tuple[Schema, str]:
        for _ in range(100):
            ref = node.get("$ref")
            if not isinstance(ref, str):
                return node, base
            uri, _, pointer = ref.partition("#")
            document_id = urljoin(base, uri) if uri else base
            if document_id not in self.registry:
                raise AssertionError(f"upstream $ref {ref!r} (from {base}): no document with $id {document_id!r}")
            node = _pointer(self.registry[document_id], pointer)
            base = document_id
        raise AssertionError(f"upstream $ref loop at {base}")

    # -- our side ------------------------------------------------------------------------------------------------
    def _resolve_ours(self, node: Schema) -> Schema:
        for _ in range(100):
            ref = node.get("$ref")
            if not isinstance(ref, str):
                return node
            if ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/"):]
                target = self.our_defs.get(name, self.our_roots.get(name))
            elif ref.startswith("common.json#/$defs/"):
                target = self.common_defs.get(ref[len("common.json#/$defs/"):])
            else:
                raise AssertionError(f"our spec: unsupported $ref {ref!r}")
            if target is None:
                raise AssertionError(f"our spec: dangling $ref {ref!r}")
            node = target
        raise AssertionError("our spec: $ref loop")

    def _branches(self, node: Schema) -> list[Schema]:
        """Our schema as a list of alternatives, each resolved and without anyOf/oneOf/allOf/type lists."""
        node = self._resolve_ours(node)
        for key in ("anyOf", "oneOf"):
            if key in node:
                own = {k: v for k, v in node.items() if k not in (key, "description", "title")}
                return [b if not own else {**own, **b} for part in node[key] for b in self._branches(part)]
        if "allOf" in node:
            merged: Schema = {k: v for k, v in node.items() if k != "allOf"}
            properties: Schema = dict(merged.get("properties", {}))
            for part in node["allOf"]:
                for branch in self._branches(part)[:1]:
                    properties.update(branch.get("properties", {}))
                    merged = {**branch, **merged}
            if properties:
                merged["properties"] = properties
            return self._branches(merged)
        declared = node.get("type")
        if isinstance(declared, list):
            return [{**node, "type": t} for t in declared]
        return [node]

    @staticmethod
    def _accepts(branch: Schema, json_type: str) -> bool:
        types = _types(branch)
        if not types:
            return branch.get("contentEncoding") == "base64"
        return json_type in types or (json_type == "integer" and "number" in types)

    @staticmethod
    def _describe(branches: list[Schema]) -> str:
        kinds = []
        for branch in branches:
            types = _types(branch)
            kind = "|".join(types) if types else "untyped"
            values = _values(branch)
            kinds.append(f"{kind} {values}" if values is not None else kind)
        return " | ".join(kinds)

    # -- the check -----------------------------------------------------------------------------------------------
    def check(self, upstream: Schema, ours: Schema, path: str = "", base: str = "") -> list[str]:
        nullable = upstream.get("nullable") is True
        upstream, base = self._resolve_upstream(upstream, base)
        nullable = nullable or upstream.get("nullable") is True
        where = path or "(root)"
        problems: list[str] = []
        branches = self._branches(ours)
        if self.require_null and nullable and not any(not _types(b) or "null" in _types(b) for b in branches):
            problems.append(f"{where}: upstream nullable, ours does not accept null ({self._describe(branches)})")
        for key in ("allOf", "oneOf", "anyOf"):
            for part in upstream.get(key, []):
                problems += self.check(part, ours, path, base)
        upstream_values = _values(upstream)
        for json_type in _types(upstream):
            if json_type == "null":
                continue
            candidates = [b for b in branches if self._accepts(b, json_type)]
            if not candidates:
                problems.append(f"{where}: upstream type {json_type}, ours {self._describe(branches)}")
                continue
            if upstream_values is not None:
                wanted = [v for v in upstream_values if _json_type(v) == json_type
                          or (json_type == "number" and _json_type(v) == "integer")]
                missing = [v for v in wanted if not any(_allows(b, v) for b in candidates)]
                if missing:
                    problems.append(f"{where}: upstream enum values {missing} not accepted by ours "
                                    f"({self._describe(candidates)})")
            if json_type in ("object", "array"):
                outcomes = [self._structure(upstream, c, json_type, path, base) for c in candidates]
                problems += sorted(outcomes, key=len)[0]  # the closest branch of ours
        return problems

    def _structure(self, upstream: Schema, ours: Schema, json_type: str, path: str, base: str) -> list[str]:
        problems: list[str] = []
        if json_type == "object":
            mine = ours.get("properties", {})
            for name, schema in upstream.get("properties", {}).items():
                if name not in mine:
                    problems.append(f"{_join(path, name)}: missing in ours")
                else:
                    problems += self.check(schema, mine[name], _join(path, name), base)
            extra = upstream.get("additionalProperties")
            if isinstance(extra, dict):
                theirs = ours.get("additionalProperties")
                problems += self.check(extra, theirs if isinstance(theirs, dict) else {}, f"{path}{{}}", base)
        else:
            items = upstream.get("items")
            if isinstance(items, dict):
                theirs = ours.get("items")
                problems += self.check(items, theirs if isinstance(theirs, dict) else {}, f"{path}[]", base)
        return problems


def _our_spec(task: str) -> Schema:
    spec: Schema = json.loads((SPECS / "tasks" / f"{task}.json").read_text())
    return spec


def _coverage_for(spec: Schema, registry: dict[str, Schema], key: str) -> Coverage:
    """The checker for one of our schemas; in outputs (what servers send) a nullable upstream field must accept null
    in ours, while inputs may leave null out (the client never sends a null it was not given)."""
    common = json.loads((SPECS / "common.json").read_text())["$defs"]
    roots = {spec[k]["title"]: spec[k] for k in SCHEMA_FILES if k in spec and "title" in spec[k]}
    return Coverage(registry, spec.get("$defs", {}), common, roots, require_null=key != "input")


# -- the real specs ----------------------------------------------------------------------------------------------


def test_upstream_tasks_found() -> None:
    assert len(UPSTREAM_TASKS) == 32, UPSTREAM_TASKS
    assert "placeholder" not in UPSTREAM_TASKS


def test_every_upstream_task_has_a_spec() -> None:
    ours = {p.stem for p in (SPECS / "tasks").glob("*.json")}
    missing = sorted(set(UPSTREAM_TASKS) - ours)
    assert not missing, f"upstream tasks without a spec in specs/tasks: {missing}"


def test_task_spec_inventory() -> None:
    ours = {p.stem for p in (SPECS / "tasks").glob("*.json")}
    assert len(ours) == 35, sorted(ours)
    assert ours == set(UPSTREAM_TASKS) | EXTRA_TASKS, sorted(ours ^ (set(UPSTREAM_TASKS) | EXTRA_TASKS))


@pytest.mark.parametrize("task", UPSTREAM_TASKS)
def test_spec_covers_upstream(task: str) -> None:
    registry = _upstream_registry()
    assert (SPECS / "tasks" / f"{task}.json").is_file(), f"no spec for upstream task {task}"
    spec = _our_spec(task)
    assert spec.get("upstream") == task, f"{task}: 'upstream' is {spec.get('upstream')!r}"
    problems: list[str] = []
    checked = 0
    for key, file_name in SCHEMA_FILES.items():
        file = UPSTREAM / task / "spec" / file_name
        if not file.is_file():
            continue
        upstream = json.loads(file.read_text())
        if key not in spec:
            problems.append(f"{task}/{key}: upstream has {file_name}, our spec has no {key!r}")
            continue
        checked += 1
        coverage = _coverage_for(spec, registry, key)
        problems += [f"{task}/{key}: {p}" for p in coverage.check(upstream, spec[key], "", upstream["$id"])]
    assert checked >= 2
    assert not problems, f"{len(problems)} mismatch(es):\n" + "\n".join(problems)


# -- the checker itself ------------------------------------------------------------------------------------------

_UP_ID = "/inference/schemas/demo/input.json"
_COMMON_ID = "/inference/schemas/common-definitions.json"
_UP_COMMON: Schema = {
    "$id": _COMMON_ID,
    "definitions": {"Mode": {"type": "string", "enum": ["a", "b"]},
                    "Pair": {"type": "object", "properties": {"label": {"type": "string"},
                                                              "score": {"type": "number"}}}},
}


def _check(upstream: Schema, ours: Schema, our_defs: Schema | None = None, common: Schema | None = None,
           require_null: bool = False) -> list[str]:
    upstream = {"$id": _UP_ID, **upstream}
    registry = {_UP_ID: upstream, _COMMON_ID: _UP_COMMON}
    coverage = Coverage(registry, our_defs or {}, common or {}, require_null=require_null)
    return coverage.check(upstream, ours, "", _UP_ID)


def _obj(**properties: Schema) -> Schema:
    return {"type": "object", "properties": properties}


def test_checker_accepts_a_matching_schema() -> None:
    upstream = {
        "type": "object",
        "properties": {
            "inputs": {"type": "string", "comment": "type=binary"},
            "parameters": {"$ref": "#/$defs/P"},
            "pairs": {"type": "array", "items": {"$ref": f"{_COMMON_ID}#/definitions/Pair"}},
        },
        "$defs": {"P": _obj(top_k={"type": "integer"}, mode={"$ref": f"{_COMMON_ID}#/definitions/Mode"},
                            stop={"type": "string", "nullable": True}, anything={},
                            table={"type": "object",
                                   "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                            hint={"allOf": [{"$ref": "#/$defs/Q"}], "nullable": True}),
                  "Q": _obj(text={"type": "string"})},
    }
    ours = _obj(
        inputs={"type": "string", "contentEncoding": "base64"},
        parameters={"$ref": "#/$defs/DemoParameters"},
        pairs={"type": "array", "items": {"$ref": "#/$defs/DemoPair"}},
    )
    our_defs = {
        "DemoParameters": _obj(top_k={"type": "number"}, mode={"type": "string", "enum": ["a", "b", "c"]},
                               stop={"anyOf": [{"type": "string"}, {"type": "null"}]}, anything={"type": "boolean"},
                               table={"type": "object",
                                      "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                               hint={"anyOf": [{"$ref": "#/$defs/DemoHint"}, {"type": "null"}]}),
        "DemoHint": _obj(text={"type": "string"}),
        "DemoPair": {"$ref": "common.json#/$defs/Pair"},
    }
    common = {"Pair": _obj(label={"type": "string"}, score={"type": "number"})}
    assert _check(upstream, ours, our_defs, common) == []


def test_checker_reports_a_missing_property() -> None:
    upstream = _obj(inputs={"type": "string"}, parameters={"$ref": "#/$defs/P"})
    upstream["$defs"] = {"P": _obj(top_k={"type": "integer"}, seed={"type": "integer"})}
    ours = _obj(inputs={"type": "string"}, parameters=_obj(top_k={"type": "integer"}))
    assert _check(upstream, ours) == ["parameters.seed: missing in ours"]


def test_checker_reports_a_missing_property_behind_a_cross_file_ref() -> None:
    upstream = {"type": "array", "items": {"$ref": f"{_COMMON_ID}#/definitions/Pair"}}
    ours = {"type": "array", "items": {"$ref": "#/$defs/DemoPair"}}
    problems = _check(upstream, ours, {"DemoPair": {"$ref": "common.json#/$defs/Pair"}},
                      {"Pair": _obj(label={"type": "string"})})
    assert problems == ["[].score: missing in ours"]


@pytest.mark.parametrize(
    ("upstream", "ours", "problem"),
    [
        ({"type": "integer"}, {"type": "string"}, "upstream type integer, ours string"),
        ({"type": "number"}, {"type": "integer"}, "upstream type number, ours integer"),
        ({"type": "string"}, {}, "upstream type string, ours untyped"),
        ({"type": "array", "items": {"type": "string"}}, {"type": "array"}, "x[]: upstream type string, ours untyped"),
        ({"type": "string", "enum": ["a", "b"]}, {"type": "string", "enum": ["a"]}, "enum values ['b']"),
        ({"type": "string"}, {"anyOf": [{"type": "integer"}, {"type": "null"}]},
         "upstream type string, ours integer | null"),
        ({"type": "boolean"}, {"const": "never"}, "upstream type boolean, ours string ['never']"),
    ],
)
def test_checker_reports_an_incompatible_type(upstream: Schema, ours: Schema, problem: str) -> None:
    problems = _check(_obj(x=upstream), _obj(x=ours))
    assert len(problems) == 1, problems
    assert problems[0].startswith("x"), problems
    assert problem in problems[0], problems


def test_checker_covers_union_branches() -> None:
    upstream = _obj(x={"type": ["boolean", "string"], "enum": ["never", True, False]},
                    y={"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
    good = _obj(x={"anyOf": [{"type": "boolean"}, {"const": "never"}]},
                y={"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
    assert _check(upstream, good) == []
    bad = _obj(x={"type": "boolean"}, y={"type": "string"})
    assert _check(upstream, bad) == ["x: upstream type string, ours boolean", "y: upstream type array, ours string"]


def test_checker_untyped_upstream_matches_anything() -> None:
    assert _check(_obj(x={"description": "raw bytes"}), _obj(x={"type": "integer"})) == []


def test_checker_nullable_in_outputs() -> None:
    upstream = _obj(reason={"type": "string", "nullable": True},
                    details={"allOf": [{"$ref": "#/$defs/D"}], "nullable": True})
    upstream["$defs"] = {"D": _obj(seed={"type": "integer"})}
    nullable = _obj(reason={"anyOf": [{"type": "string"}, {"type": "null"}]},
                    details={"anyOf": [_obj(seed={"type": "integer"}), {"type": "null"}]})
    plain = _obj(reason={"type": "string"}, details=_obj(seed={"type": "integer"}))
    assert _check(upstream, nullable, require_null=True) == []
    assert _check(upstream, plain) == []  # inputs: null may be left out
    assert _check(upstream, plain, require_null=True) == [
        "reason: upstream nullable, ours does not accept null (string)",
        "details: upstream nullable, ours does not accept null (object)",
    ]
