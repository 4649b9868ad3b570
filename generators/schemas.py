"""Validate documents against the JSON Schemas in schema/, with one-line messages."""
import json
import os
from functools import cache
from pathlib import Path

import jsonschema
from jsonschema.exceptions import best_match

from .errors import DecnetError

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
# Above this many entries, a document's big mapping is checked on two cores (a forked child
# takes half): jsonschema is pure Python, and a thousand deckies make three thousand services.
PARALLEL_FROM = 400


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def _where(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _problem(validator, instance, prefix=()) -> str | None:
    """The first problem as 'where: what; hint', or None when the instance is valid."""
    problem = best_match(validator.iter_errors(instance))
    if problem is None:
        return None
    hint = problem.schema.get("x-hint") if isinstance(problem.schema, dict) else None
    message = problem.message
    if problem.validator == "additionalProperties":
        hint = "remove it or check its spelling"
    elif problem.validator == "pattern" and hint:
        message = f"{problem.instance!r} is not allowed"
    line = f"{_where([*prefix, *problem.absolute_path])}: {message}"
    return f"{line}; {hint}" if hint else line


def validate(document, name: str, error: type[DecnetError], source: str, big: str | None = None) -> None:
    """Raise `error` naming the first problem (where, what, and the schema's x-hint).
    `big` names a top-level mapping whose entries all follow one subschema; when it is large,
    its entries are checked in two halves at once."""
    validator = _validator(name)
    entries = document.get(big) if big and isinstance(document, dict) else None
    if not isinstance(entries, dict) or len(entries) < PARALLEL_FROM or not hasattr(os, "fork"):
        problem = _problem(validator, document)
    else:
        problem = _problem(validator, {**document, big: {}}) or _problem_in_halves(validator, entries, big)
    if problem is not None:
        raise error(f"{source}: {problem}")


def _problem_in_halves(validator, entries: dict, big: str) -> str | None:
    node = validator.schema["properties"][big]
    keys_ok, entry = validator.evolve(schema={"propertyNames": node.get("propertyNames", {})}), \
        validator.evolve(schema=node["additionalProperties"])

    def first_problem(keys) -> str | None:
        for key in keys:
            found = _problem(keys_ok, {key: None}, (big,)) or _problem(entry, entries[key], (big, key))
            if found:
                return found
        return None

    keys = list(entries)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:   # the child checks one half and reports through the pipe, then vanishes
        os.close(read_end)
        try:
            report = {"problem": first_problem(keys[::2])}
        except BaseException as exc:
            report = {"problem": f"(validation failed: {type(exc).__name__}: {exc})"}
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    mine = first_problem(keys[1::2])
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(child, 0)
    theirs = json.loads(answer)["problem"] if answer else "(validation failed: the checking process died)"
    return theirs or mine
