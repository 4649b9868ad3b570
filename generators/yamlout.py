"""A small, fast YAML writer for the documents we generate (dicts, lists, strings, numbers,
booleans). Block style for structure; every scalar value is written as a JSON scalar, which
YAML reads back exactly (no 'on'/'yes'/'0755' surprises); keys stay plain where that is safe.
PyYAML's pure-Python emitter is several times slower, and a thousand deckies make that visible."""
import json
import re

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) and key.lower() not in _YAML_WORDS else json.dumps(key)


def _value(value) -> str:
    if isinstance(value, (dict, list)):   # only empty ones get here
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(value, ensure_ascii=False)


def _emit(value, indent: str, out: list[str]) -> None:
    items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    for key, item in items:
        head = f"{indent}{_key(key)}:" if key is not None else f"{indent}-"
        if isinstance(item, (dict, list)) and item:
            out.append(head + "\n")
            _emit(item, indent + "  ", out)
        else:
            out.append(f"{head} {_value(item)}\n")


def dump(document: dict) -> str:
    out: list[str] = []
    _emit(document, "", out)
    return "".join(out)
