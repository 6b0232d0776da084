"""The runtime form of a task spec: what a generated method hands to the client, with its type adapters built on
first use (so importing the client does not import the models)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from pydantic import TypeAdapter


@dataclass(frozen=True, slots=True)
class Variant:
    """One return shape of a method, chosen by its flag values (e.g. stream=True, details=False)."""

    when: Mapping[str, Any]
    stream: bool = False
    pick: tuple[str, ...] = ()  # attribute path taken from the parsed value
    decode: str | None = None  # "image": bytes become a PIL image
    structured: tuple[str, str] | None = None  # (generic output model, request path) for a pydantic response_format


@dataclass(eq=False)
class TaskSpec:
    task: str
    method: str
    module: str  # generated module holding INPUT_TYPE, OUTPUT_TYPE and STREAM_TYPE
    args: Mapping[str, str]  # request path -> Python argument name, for error messages
    media: tuple[str, ...]  # request paths holding binary content
    raw_body: bool  # media at "inputs" alone goes as the raw body
    response_format: str  # "json" | "bytes"
    normalize: str | None
    variants: tuple[Variant, ...]
    _adapters: dict[str, TypeAdapter[Any]] = field(default_factory=dict, repr=False)

    def adapter(self, kind: str) -> TypeAdapter[Any]:
        """The cached TypeAdapter of INPUT_TYPE, OUTPUT_TYPE or STREAM_TYPE."""
        found = self._adapters.get(kind)
        if found is None:
            from pydantic import TypeAdapter

            module = importlib.import_module(self.module)
            found = self._adapters[kind] = TypeAdapter(getattr(module, kind))
        return found

    def variant(self, flags: Mapping[str, Any]) -> Variant:
        for variant in self.variants:
            if all(flags.get(name) == value for name, value in variant.when.items()):
                return variant
        shown = ", ".join(f"{k}={v!r}" for k, v in flags.items())
        raise ValueError(f"{self.method}(): no return shape for {shown}")  # codegen emits one per combination
