from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
UPSTREAM = ROOT.parent / "shared" / "reference" / "hf-tasks-specs"


def load_specs() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((SPECS / "tasks").glob("*.json"))]


def materialize(value: Any) -> Any:
    """Example notation -> Python values: {"$base64": s} is bytes."""
    if isinstance(value, dict):
        if set(value) == {"$base64"}:
            return base64.b64decode(value["$base64"])
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v) for v in value]
    return value


def jsonable(value: Any) -> Any:
    """A returned value in the examples' notation: models as they were parsed (exclude_unset), bytes as base64,
    PIL images as their size."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, (bytes, bytearray)):
        return {"$base64": base64.b64encode(value).decode()}
    if type(value).__module__.startswith("PIL."):
        return {"$image": list(value.size)}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


@pytest.fixture(autouse=True)
def _no_implicit_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the machine's saved Hugging Face token."""
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
