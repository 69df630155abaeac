"""Writing an experiment document as TOML that :func:`neuralab.config.load_experiments` reads
back to the same spec (the standard library reads TOML but does not write it).

Only what specs hold: tables, arrays, strings, booleans, integers and finite floats. Tables of
scalars become ``[table]`` sections; a list of tables (a model's layers) is written one inline
table a line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from neuralab.errors import SpecError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    escaped = []
    for char in text:
        if char == "\\":
            escaped.append("\\\\")
        elif char == '"':
            escaped.append('\\"')
        elif char == "\n":
            escaped.append("\\n")
        elif char == "\t":
            escaped.append("\\t")
        elif char == "\r":
            escaped.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def toml_value(value: Any, *, where: str = "value") -> str:
    """One TOML value (inline: arrays and inline tables).

    Raises:
        SpecError: a value TOML cannot hold (None, NaN, infinity, another type).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"{where}: {value!r} cannot be written to TOML; use a finite number.")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{_key(str(k))} = {toml_value(v, where=f'{where}.{k}')}" for k, v in value.items()
        )
        return "{" + inner + "}" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v, where=f"{where}[]") for v in value) + "]"
    raise SpecError(f"{where}: a {type(value).__name__} cannot be written to TOML.")


def dump_toml(document: Mapping[str, Any], *, header: str = "") -> str:
    """``document`` as TOML text: scalars first, then one ``[section]`` per table.

    Args:
        document: A plain dict (strings, numbers, booleans, lists and dicts; no None).
        header: Comment lines put first (``#`` added).
    """
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    if lines:
        lines.append("")
    scalars = {k: v for k, v in document.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in document.items() if isinstance(v, Mapping)}
    for key, value in scalars.items():
        lines.append(f"{_key(str(key))} = {toml_value(value, where=str(key))}")
    for name, table in tables.items():
        lines += ["", f"[{_key(str(name))}]"]
        for key, value in table.items():
            where = f"{name}.{key}"
            if (
                isinstance(value, list | tuple)
                and value
                and all(isinstance(v, Mapping) for v in value)
            ):
                lines.append(f"{_key(str(key))} = [")
                lines += [f"  {toml_value(v, where=where)}," for v in value]
                lines.append("]")
            else:
                lines.append(f"{_key(str(key))} = {toml_value(value, where=where)}")
    return "\n".join(lines) + "\n"
