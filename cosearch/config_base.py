"""What every config section shares: the error type, the strict base model, short forms, file paths."""

from __future__ import annotations

import pathlib

from pydantic import BaseModel, ConfigDict, ValidationInfo

from spaces.userdefs import DefinitionError
from spaces.userfiles import shown


class ConfigError(DefinitionError):
    """One or more configuration problems, each a ``(dotted key, message)`` pair,
    printed one per line as ``source: dotted.key: message`` like a platform
    file's problems."""


def allowed(names) -> str:
    return ", ".join(sorted(names))


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def short_form(value, key: str, kinds: tuple[type, ...], what: str):
    """``value`` as a mapping: a short form of one of ``kinds`` becomes ``{key: value}``."""
    if isinstance(value, dict):
        return value
    if isinstance(value, kinds) and not isinstance(value, bool):
        return {key: value}
    raise ValueError(f"expected {what}, got {shown(value)}")


def resolve_file(path: str, info: ValidationInfo) -> str:
    """An existing file's absolute path; relative paths start at the config file's directory."""
    base = (info.context or {}).get("base_dir")
    resolved = pathlib.Path(path).expanduser()
    if not resolved.is_absolute() and base is not None:
        resolved = pathlib.Path(base) / resolved
    if not resolved.is_file():
        where = f" (relative paths start at {base})" if base is not None and not pathlib.Path(path).is_absolute() else ""
        raise ValueError(f"no such file {path!r}{where}")
    return str(resolved.resolve())
