"""A config's identity: the digest that keys its fits in the store."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def config_key(config: dict[str, Any]) -> str:
    """A short stable digest of a config: fits are keyed by (study, config_key, seed)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.sha1(canonical.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")
