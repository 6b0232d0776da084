"""The base class of every generated model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InferenceModel(BaseModel):
    """A typed request or response object.

    Unknown fields are kept (providers add fields all the time) and reachable as attributes and through
    ``model_extra``; fields may be given by name or by their wire alias."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())
