"""Validate documents against the JSON Schemas in schema/, with one-line messages."""
import json
from functools import cache
from pathlib import Path

import jsonschema
from jsonschema.exceptions import best_match

from .errors import DecnetError

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def _where(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validate(document, name: str, error: type[DecnetError], source: str) -> None:
    """Raise `error` naming the first problem (where, what, and the schema's x-hint)."""
    problem = best_match(_validator(name).iter_errors(document))
    if problem is None:
        return
    hint = problem.schema.get("x-hint") if isinstance(problem.schema, dict) else None
    message = problem.message
    if problem.validator == "additionalProperties":
        hint = "remove it or check its spelling"
    elif problem.validator == "pattern" and hint:
        message = f"{problem.instance!r} is not allowed"
    line = f"{source}: {_where(problem.absolute_path)}: {message}"
    raise error(f"{line}; {hint}" if hint else line)
