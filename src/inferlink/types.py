"""The request and response models of every task, loaded on first use: `from inferlink.types import X`."""

from typing import TYPE_CHECKING

from ._generated.types import __all__, __dir__, __getattr__  # noqa: F401

if TYPE_CHECKING:
    from ._generated.types import *  # noqa: F403
