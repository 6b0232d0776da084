"""Load and check the JSON specs, and assemble each task's schema document for model generation."""

from __future__ import annotations

import copy
import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parent.parent / "specs"
COMMON_PREFIX = "common.json#/$defs/"
TASK_KEYS = {"task", "method", "summary", "upstream", "input", "output", "stream_output", "$defs", "call",
             "response", "returns", "examples", "description", "aliases"}
NORMALIZERS = {None, "first", "flatten", "listify", "matrix"}
ROUTE_KEYS = {"path", "dialect", "stream_path", "omit", "json_schema", "headers", "flow", "base_url", "router_query",
              "version_path", "prefer_wait"}
FLOW_KEYS = {"description", "id", "status", "done", "failed", "error", "poll", "result", "every"}


class SpecError(Exception):
    """A spec file breaks one of the rules of specs/README.md."""


def pascal(task: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", task))


@dataclass
class Arg:
    name: str
    path: str | None
    positional: bool
    optional: bool
    flag: bool
    default: Any
    values: list[Any] | None
    type: str | None
    doc: str | None
    media: bool = False


@dataclass
class Task:
    file: Path
    raw: dict[str, Any]
    task: str
    method: str
    pascal: str
    args: list[Arg]
    document: dict[str, Any] = field(default_factory=dict)  # input schema as root, every other schema in $defs

    @property
    def module(self) -> str:
        return self.task.replace("-", "_")

    @property
    def streams(self) -> bool:
        return "stream_output" in self.raw


def _fail(where: Path | str, message: str) -> SpecError:
    return SpecError(f"{where}: {message}")


def load_common() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SPECS / "common.json").read_text())["$defs"]
    return data


def _walk(node: Any, visit: Any, at: str = "") -> None:
    visit(node, at)
    if isinstance(node, dict):
        for key, value in node.items():
            _walk(value, visit, f"{at}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk(value, visit, f"{at}/{i}")


def _check_schema_rules(where: Path, schema: Any) -> None:
    def visit(node: Any, at: str) -> None:
        if not isinstance(node, dict):
            return
        if "default" in node:
            raise _fail(where, f"{at}: no 'default' in schemas (describe server defaults in the description)")
        if node.get("type") == "array" and ({"minLength", "maxLength"} & node.keys()):
            raise _fail(where, f"{at}: minLength/maxLength on an array; use minItems/maxItems")
        if "nullable" in node:
            raise _fail(where, f"{at}: 'nullable' is OpenAPI; write anyOf [T, {{'type': 'null'}}]")
        ref = node.get("$ref")
        if isinstance(ref, str) and not (ref.startswith("#/$defs/") or ref.startswith(COMMON_PREFIX)):
            raise _fail(where, f"{at}: unsupported $ref {ref!r}")

    _walk(schema, visit)


def _copy_common(name: str, source: str, common: dict[str, Any], prefix: str, defs: dict[str, Any],
                 where: Path) -> dict[str, Any]:
    if source not in common:
        raise _fail(where, f"$defs/{name}: no shared definition {source!r} in common.json")
    body: dict[str, Any] = copy.deepcopy(common[source])
    body["title"] = name

    def relink(node: Any, at: str) -> None:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith(COMMON_PREFIX):
            inner = node["$ref"][len(COMMON_PREFIX):]
            local = prefix + inner
            if local not in defs:
                defs[local] = {}  # reserve the name before recursing
                defs[local] = _copy_common(local, inner, common, prefix, defs, where)
            node["$ref"] = "#/$defs/" + local

    _walk(body, relink)
    return body


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    return schema


def schema_at(document: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The schema of the property at a dotted path of the request body, or None."""
    node: dict[str, Any] = document
    for part in path.split("."):
        node = _resolve(document, node)
        props = node.get("properties", {})
        if part not in props:
            return None
        node = props[part]
    return node


def load_task(file: Path, common: dict[str, Any]) -> Task:
    raw = json.loads(file.read_text())
    unknown = set(raw) - TASK_KEYS
    if unknown:
        raise _fail(file, f"unknown keys {sorted(unknown)}")
    for key in ("task", "method", "summary", "input", "output", "call", "response", "returns", "examples"):
        if key not in raw:
            raise _fail(file, f"missing {key!r}")
    if file.stem != raw["task"]:
        raise _fail(file, f"file name must be the task id {raw['task']!r}")
    prefix = pascal(raw["task"])
    defs: dict[str, Any] = {}
    for name, body in raw.get("$defs", {}).items():
        if not name.startswith(prefix):
            raise _fail(file, f"$defs/{name}: names start with {prefix!r}")
        if set(body) == {"$ref"} and body["$ref"].startswith(COMMON_PREFIX):
            defs[name] = _copy_common(name, body["$ref"][len(COMMON_PREFIX):], common, prefix, defs, file)
        else:
            if body.get("title") != name and body.get("type") == "object":
                raise _fail(file, f"$defs/{name}: an object's title must equal its key")
            defs[name] = copy.deepcopy(body)
    roots = {"input": "Input", "output": "Output", "stream_output": "StreamOutput"}
    for key, suffix in roots.items():
        if key in raw:
            title = raw[key].get("title")
            if title != prefix + suffix:
                raise _fail(file, f"{key}: title must be {prefix + suffix!r}")
            _check_schema_rules(file, raw[key])
    _check_schema_rules(file, raw.get("$defs", {}))
    document = copy.deepcopy(raw["input"])
    document["$defs"] = defs
    for key in ("output", "stream_output"):
        if key in raw:
            defs[raw[key]["title"]] = copy.deepcopy(raw[key])

    def check_refs(node: Any, at: str) -> None:
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target = node["$ref"].removeprefix("#/$defs/")
            if target not in defs:
                raise _fail(file, f"{at}: $ref to unknown definition {target!r}")

    _walk(document, check_refs)

    call = raw["call"]
    media = set(call.get("media", []))
    args: list[Arg] = []
    seen: set[str] = set()
    for spec in call.get("args", []):
        name = spec["name"]
        if not name.isidentifier() or keyword.iskeyword(name) or name in seen:
            raise _fail(file, f"call.args: bad or repeated name {name!r}")
        if name in {"model", "extra_body", "headers", "timeout", "self"}:
            raise _fail(file, f"call.args: {name!r} is added to every method; do not declare it")
        seen.add(name)
        path = spec.get("path")
        if path is not None and schema_at(document, path) is None:
            raise _fail(file, f"call.args/{name}: path {path!r} is not in the input schema")
        if spec.get("flag") and "default" not in spec:
            raise _fail(file, f"call.args/{name}: a flag needs a default")
        if path is None and not spec.get("flag"):
            raise _fail(file, f"call.args/{name}: only flags may have no path")
        args.append(Arg(name=name, path=path, positional=bool(spec.get("positional")),
                        optional=bool(spec.get("optional")), flag=bool(spec.get("flag")),
                        default=spec.get("default"), values=spec.get("values"), type=spec.get("type"),
                        doc=spec.get("doc"), media=path in media))
    for path in media:
        if path not in {a.path for a in args}:
            raise _fail(file, f"call.media: {path!r} is no arg's path")
    if call.get("raw_body") and "inputs" not in media:
        raise _fail(file, "call.raw_body needs 'inputs' in call.media")
    response = raw["response"]
    if response.get("format") not in {"json", "bytes"}:
        raise _fail(file, "response.format must be 'json' or 'bytes'")
    if response.get("normalize") not in NORMALIZERS:
        raise _fail(file, f"response.normalize must be one of {sorted(n for n in NORMALIZERS if n)}")
    flags = {a.name for a in args if a.flag}
    returns = raw["returns"]
    if not returns:
        raise _fail(file, "returns: at least one variant")
    for variant in returns:
        if set(variant.get("when", {})) != (flags if len(returns) > 1 else set(variant.get("when", {}))):
            raise _fail(file, f"returns: every variant's 'when' names all flags {sorted(flags)}")
        if variant.get("stream") and "stream_output" not in raw:
            raise _fail(file, "returns: a stream variant needs stream_output")
    if not raw["examples"]:
        raise _fail(file, "examples: at least one")
    for i, example in enumerate(raw["examples"]):
        for key in ("title", "args", "request", "response", "result"):
            if key not in example:
                raise _fail(file, f"examples/{i}: missing {key!r}")
        for name in example["args"]:
            if name not in seen:
                raise _fail(file, f"examples/{i}: {name!r} is not an arg")
    return Task(file=file, raw=raw, task=raw["task"], method=raw["method"], pascal=prefix, args=args,
                document=document)


def load_tasks() -> list[Task]:
    common = load_common()
    tasks = [load_task(f, common) for f in sorted((SPECS / "tasks").glob("*.json"))]
    methods = [t.method for t in tasks]
    if len(set(methods)) != len(methods):
        raise SpecError("two tasks share a method name")
    return tasks


PROVIDER_KEYS = {"name", "description", "base_url", "router", "auth", "model_ids", "default_model", "service",
                 "routes", "examples"}
JSON_SCHEMA_STYLES = {"openai", "flat-json-schema", "json-object-schema", "tgi"}


def load_dialects() -> dict[str, Any]:
    return dict(json.loads((SPECS / "dialects.json").read_text()))


def load_flows() -> dict[str, Any]:
    file = SPECS / "flows.json"
    flows = dict(json.loads(file.read_text()))
    for name, flow in flows.items():
        if set(flow) - FLOW_KEYS or not {"id", "status", "done", "failed", "poll", "every"} <= set(flow):
            raise _fail(file, f"{name}: keys are {sorted(FLOW_KEYS)} (id, status, done, failed, poll, every needed)")
        for step in ("poll", "result"):
            if step in flow and len({"from", "path"} & set(flow[step])) != 1:
                raise _fail(file, f"{name}/{step}: give the URL 'from' a path of the answer, or a 'path' template")
    return flows


def load_providers() -> list[dict[str, Any]]:
    dialects = {"hf", *load_dialects()}
    flows = load_flows()
    providers = []
    for file in sorted((SPECS / "providers").glob("*.json")):
        data = json.loads(file.read_text())
        if file.stem != data.get("name"):
            raise _fail(file, "file name must be the provider name")
        unknown = set(data) - PROVIDER_KEYS
        if unknown:
            raise _fail(file, f"unknown keys {sorted(unknown)}")
        if data.get("auth", "bearer") not in {"bearer", "key"} or data.get("model_ids", "hub") not in {"hub",
                                                                                                     "verbatim"}:
            raise _fail(file, "auth is 'bearer' or 'key'; model_ids is 'hub' or 'verbatim'")
        for task, route in data.get("routes", {}).items():
            if route.get("json_schema", "openai") not in JSON_SCHEMA_STYLES:
                raise _fail(file, f"routes/{task}: unknown json_schema style {route['json_schema']!r}")
            if route.get("dialect", "hf") not in dialects:
                raise _fail(file, f"routes/{task}: unknown dialect {route.get('dialect')!r}")
            if set(route) - ROUTE_KEYS:
                raise _fail(file, f"routes/{task}: unknown keys {sorted(set(route) - ROUTE_KEYS)}")
            if "flow" in route and route["flow"] not in flows:
                raise _fail(file, f"routes/{task}: unknown flow {route['flow']!r}")
        for i, example in enumerate(data.get("examples", [])):
            if example.get("task") not in data.get("routes", {}) or example.get("key") not in {"hf", "provider"}:
                raise _fail(file, f"examples/{i}: task must be one of the routes and key 'hf' or 'provider'")
        providers.append(data)
    return providers
