"""Render every generated file, then write them (make generate) or compare them (make check-generated)."""

from __future__ import annotations

import difflib
import filecmp
import json
import pprint
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from codegen.models import generate_models, header
from codegen.pytypes import py_type
from codegen.spec import SPECS, Arg, Task, load_dialects, load_flows, load_providers, load_tasks, schema_at

ROOT = SPECS.parent
OUT = ROOT / "src" / "inferlink" / "_generated"
README = ROOT / "README.md"
SECTIONS = ("tasks", "providers")  # README sections written from the specs, between <!-- name:start/end --> marks
_NAME = re.compile(r"\b[A-Z]\w+\b")


@dataclass
class Param:
    """One argument of a generated method."""

    name: str
    path: str | None
    type: str  # the annotation of the implementation
    default: str | None  # Python source of the default, or None when required
    doc: str
    flag: bool
    values: list[Any]
    raw_default: Any = None

    def annotation(self, when: dict[str, Any] | None) -> str:
        if when is None or not self.flag:
            return self.type
        return f"Literal[{when[self.name]!r}]"

    def default_for(self, when: dict[str, Any] | None) -> str | None:
        if when is None or not self.flag or when[self.name] == self.raw_default:
            return self.default
        return None


def _param(task: Task, arg: Arg) -> Param:
    schema = schema_at(task.document, arg.path) if arg.path else {}
    assert schema is not None
    if arg.flag:
        values = arg.values or [False, True]
        kind = "bool" if values == [False, True] else f"Literal[{', '.join(repr(v) for v in values)}]"
        default: str | None = repr(arg.default)
    else:
        values = []
        kind = arg.type or ("ContentInput" if arg.media else py_type(task, schema, argument=True))
        required = arg.positional and not arg.optional
        if not required:
            kind = kind if kind.endswith("| None") else f"{kind} | None"
        default = None if required else "None"
    doc = arg.doc or schema.get("description") or ""
    return Param(arg.name, arg.path, kind, default, " ".join(doc.split()), arg.flag, values, arg.default)


def _method(task: Task) -> dict[str, Any]:
    params = [_param(task, a) for a in task.args]
    paths = {a.name: a.path for a in task.args}
    variants = [{"when": v.get("when", {}), "type": v["type"], "stream": v.get("stream", False),
                 "pick": v.get("pick"), "pick_tuple": repr(tuple(v["pick"].split("."))) if v.get("pick") else "()",
                 "decode": v.get("decode"), "structured": v.get("structured"),
                 "structured_tuple": repr((v["structured"]["type"], paths[v["structured"]["arg"]]))
                 if v.get("structured") else "None"} for v in task.raw["returns"]]
    structured = next((v["structured"] for v in variants if v["structured"]), None)
    if structured:  # the argument also takes a pydantic model class, whose instance comes back as `parsed`
        for p in params:
            if p.name == structured["arg"]:
                p.type = p.type.removesuffix(" | None") + " | type[BaseModel] | None"
    flags = [p for p in params if p.flag]
    returns = [v["type"] for v in variants] + ([structured["type"]] if structured else [])
    names = sorted({n for t in returns + [p.type for p in params] for n in _NAME.findall(t)}
                   - {"Literal", "Mapping", "Sequence", "Any", "ContentInput", "PIL", "Image", "None", "BaseModel"})
    for v in variants:
        when = ", ".join(f"{k}={val!r}" for k, val in v["when"].items())
        shape = ("a stream of " if v["stream"] else "") + f"`{v['type']}`"
        v["doc"] = (f"With {when}: " if when else "") + shape + (f" (the `{v['pick']}` field)." if v["pick"] else ".")
    return {
        "task": task,
        "method": task.method,
        "summary": task.raw["summary"],
        "positional": [p for p in params if any(a.name == p.name and a.positional for a in task.args)],
        "keyword": [p for p in params if not any(a.name == p.name and a.positional for a in task.args)],
        "flags": flags,
        "variants": variants,
        "structured": structured,
        "names": names,
        "module": task.module,
        "aliases": task.raw.get("aliases", []),
    }


def _literal(value: Any) -> str:
    return pprint.pformat(value, width=110, sort_dicts=False)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             extensions=["jinja2.ext.do"],
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["literal"] = _literal
    env.filters["tojson"] = lambda v: json.dumps(v)
    return env


def _task_table(tasks: list[Task], providers: list[dict[str, Any]]) -> str:
    rows = ["| task | method | returns | streams | providers |", "|---|---|---|---|---|"]
    for task in tasks:
        serving = [p["name"] for p in providers if task.task in p["routes"] or "*" in p["routes"]]
        returns = " / ".join(dict.fromkeys(
            (f"Stream[{v['type']}]" if v.get("stream") else v["type"]) for v in task.raw["returns"]))
        rows.append(f"| {task.task} | `{task.method}()` | `{returns}` | {'yes' if task.streams else ''} | "
                    f"{', '.join(serving)} |")
    return "\n".join(rows)


def _provider_table(tasks: list[Task], providers: list[dict[str, Any]]) -> str:
    rows = ["| provider | reached | routes | tasks (\"job\": polled until done) |", "|---|---|---|---|"]
    methods = {t.task: t.method for t in tasks}
    for provider in providers:
        routes = provider["routes"]
        served = sorted(methods) if "*" in routes else sorted(routes)
        if "model_ids" not in provider:
            reached = f"`{provider['base_url']}`" if provider["base_url"] else "your URL"
        elif "huggingface.co" in provider["base_url"]:
            reached = f"`{provider['base_url']}` with an HF token"
        else:
            reached = ("the Hugging Face router with an HF token, or " if provider.get("router") else "") + \
                f"`{provider['base_url']}` with its own key"
        names = ", ".join(f"`{methods[t]}`" + (" job" if routes.get(t, {}).get("flow") else "")
                          for t in served if t in methods)
        rows.append(f"| {provider['name']} | {reached} | {len(served)} | {names} |")
    return "\n".join(rows)


def render(out: Path) -> dict[str, str]:
    """Write the generated tree into `out`; return the README task table too."""
    tasks = load_tasks()
    providers = load_providers()
    dialects = load_dialects()
    env = _environment()
    out.mkdir(parents=True, exist_ok=True)
    (out / "types").mkdir(exist_ok=True)
    exports: dict[str, list[str]] = {}
    for task in tasks:
        code, names = generate_models(task)
        (out / "types" / f"{task.module}.py").write_text(code)
        exports[task.module] = names
    methods = [_method(t) for t in tasks]
    files = {
        "__init__.py": env.get_template("package.py.jinja").render(header=header("codegen/templates")),
        "types/__init__.py": env.get_template("types.py.jinja").render(
            header=header("specs/tasks/*.json"), exports=exports),
        "_tasks.py": env.get_template("tasks.py.jinja").render(
            header=header("specs/tasks/*.json"), tasks=tasks, methods=methods),
        "_tables.py": env.get_template("tables.py.jinja").render(
            header=header("specs/providers/*.json, specs/dialects.json and specs/flows.json"),
            providers={p["name"]: {k: v for k, v in p.items() if k not in ("description", "examples")}
                       for p in providers}, dialects=dialects,
            flows={name: {k: v for k, v in flow.items() if k != "description"} for name, flow in load_flows().items()}),
    }
    client = env.get_template("client.py.jinja")
    for is_async, name in ((False, "sync_client.py"), (True, "async_client.py")):
        files[name] = client.render(header=header("specs/tasks/*.json with codegen/templates/client.py.jinja"),
                                    methods=methods, is_async=is_async)
    for name, text in files.items():
        (out / name).write_text(text)
    return {"tasks": _task_table(tasks, providers), "providers": _provider_table(tasks, providers)}


def _readme_with(tables: dict[str, str]) -> str:
    text = README.read_text()
    for name in SECTIONS:
        start_mark, end_mark = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        start, end = text.index(start_mark) + len(start_mark), text.index(end_mark)
        text = text[:start] + "\n" + tables[name] + "\n" + text[end:]
    return text


def build_main(check: bool = False) -> int:
    started = time.perf_counter()
    if not check:
        staging = Path(tempfile.mkdtemp(prefix="inferlink-gen-"))
        try:
            extra = render(staging / "_generated")
            shutil.rmtree(OUT, ignore_errors=True)
            shutil.copytree(staging / "_generated", OUT)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        README.write_text(_readme_with(extra))
        count = sum(1 for _ in OUT.rglob("*.py"))
        print(f"generated {count} files in {OUT.relative_to(ROOT)} in {time.perf_counter() - started:.2f} s")
        return 0
    with tempfile.TemporaryDirectory(prefix="inferlink-check-") as tmp:
        fresh = Path(tmp) / "_generated"
        extra = render(fresh)
        problems = _compare(fresh, OUT)
        expected_readme = _readme_with(extra)
        if README.read_text() != expected_readme:
            problems += _diff(README.read_text(), expected_readme, "README.md")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print("\nsrc/inferlink/_generated (or README's task table) differs from what specs/ produce: "
              "run `make generate` and commit the result.", file=sys.stderr)
        return 1
    print(f"generated code matches specs/ ({time.perf_counter() - started:.2f} s)")
    return 0


def _diff(old: str, new: str, name: str) -> list[str]:
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), f"committed/{name}", f"from-specs/{name}",
                                     lineterm="", n=2))


def _compare(fresh: Path, committed: Path) -> list[str]:
    problems: list[str] = []
    fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*.py")}
    committed_files = {p.relative_to(committed) for p in committed.rglob("*.py")} if committed.exists() else set()
    for name in sorted(fresh_files | committed_files, key=str):
        if name not in committed_files:
            problems.append(f"missing: _generated/{name}")
        elif name not in fresh_files:
            problems.append(f"not produced by the specs (delete it): _generated/{name}")
        elif not filecmp.cmp(fresh / name, committed / name, shallow=False):
            problems += _diff((committed / name).read_text(), (fresh / name).read_text(), f"_generated/{name}")
    return problems
