"""Hub model ids -> a provider's own model ids: the Hub's inferenceProviderMapping, cached, or the caller's own table
(a mapping given to the client, or a JSON file named by INFERLINK_PROVIDER_MAPPING) for offline and pinned use."""

from __future__ import annotations

import json
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import InvalidInputError, ResponseError

logger = logging.getLogger("inferlink")
TTL = 600.0  # seconds a fetched mapping is trusted
MAX_ENTRIES = 256
MAPPING_ENV = "INFERLINK_PROVIDER_MAPPING"
HUB_TASKS = {"chat-completion": "conversational"}  # the Hub's name of a task, where it differs


def hub(path: str) -> str:
    """A URL on the Hub (HF_ENDPOINT, for a mirror or a private Hub)."""
    return f"{os.environ.get('HF_ENDPOINT', 'https://huggingface.co').rstrip('/')}/{path}"



HUB_PARAMS = {"expand[]": "inferenceProviderMapping"}


@dataclass(frozen=True, slots=True)
class Entry:
    provider: str
    provider_id: str
    status: str
    task: str
    adapter_weights: str | None = None  # a LoRA: the weights file in the Hub repo, applied by the provider

    def adapter(self, model: str) -> tuple[str, str] | None:
        """(the LoRA's Hub repo URL, its weights file URL), when this entry serves an adapter."""
        if not self.adapter_weights:
            return None
        return hub(model), hub(f"{model}/resolve/main/{self.adapter_weights}")


def parse(body: bytes, model: str) -> list[Entry]:
    """Both shapes the Hub sends: a dict keyed by provider, or a list in the user's order of preference."""
    try:
        data = json.loads(body)
        raw = data.get("inferenceProviderMapping") if isinstance(data, dict) else None
        if isinstance(raw, dict):
            raw = [{"provider": name, **value} for name, value in raw.items()]
        if raw is None:
            return []
        return [Entry(str(e["provider"]), str(e["providerId"]), str(e.get("status", "live")), str(e.get("task", "")),
                      str(e["adapterWeightsPath"]) if e.get("adapterWeightsPath") else None)
                for e in raw]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ResponseError(f"the Hub's provider mapping of {model!r} is not in a known shape ({error})",
                            body=body) from None


class Cache:
    """Fetched mappings by (token, model): bounded, each trusted for TTL seconds."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str | None, str], tuple[float, list[Entry]]] = OrderedDict()

    def get(self, key: tuple[str | None, str]) -> list[Entry] | None:
        found = self._entries.get(key)
        if found is None or time.monotonic() - found[0] > TTL:
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: tuple[str | None, str], entries: list[Entry]) -> None:
        self._entries[key] = (time.monotonic(), entries)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)


def user_mapping(given: Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]]:
    """{hub model id: {provider: provider's id}} from the environment's file, then the client's argument."""
    table: dict[str, dict[str, str]] = {}
    path = os.environ.get(MAPPING_ENV)
    if path:
        try:
            loaded = json.loads(open(path).read())
        except (OSError, ValueError) as error:
            raise InvalidInputError(f"{MAPPING_ENV}={path!r}: cannot read a JSON mapping ({error})") from None
        for model, providers in loaded.items():
            table.setdefault(model, {}).update(providers)
    for model, providers in (given or {}).items():
        table.setdefault(model, {}).update(providers)
    return table


def choose(entries: list[Entry], provider: str, model: str, task: str, method: str) -> Entry:
    """The provider's entry of `model` for `task`, or an error naming the providers that serve it."""
    hub_task = HUB_TASKS.get(task, task)
    for entry in entries:
        if entry.provider == provider:
            if entry.task and entry.task != hub_task:
                raise InvalidInputError(f"{method}(): {provider} serves {model!r} for {entry.task!r}, not "
                                        f"{hub_task!r}")
            if entry.status in ("staging", "error"):
                logger.warning("%s: %s's mapping of %r has status %r", method, provider, model, entry.status)
            return entry
    serving = [e.provider for e in entries if not e.task or e.task == hub_task]
    raise InvalidInputError(f"{method}(): provider {provider!r} does not serve {model!r}; "
                            + (f"providers that do: {', '.join(serving)}" if serving else
                               "no provider serves it for this task"))
