"""What every config section shares: frozen, and an unknown key is an error."""

from __future__ import annotations

from pydantic import ConfigDict

# Each module declares its own base class with this config, rather than importing one: ruff
# reads one file at a time, and only knows a class is a pydantic model (whose mutable
# defaults are copied, RUF012) when its BaseModel base is in the same file.
MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, strict=False)
