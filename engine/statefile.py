"""decnet-state.json on disk: written atomically with mode 0600, validated on read."""
import json
from pathlib import Path

from generators.errors import StateError
from generators.schemas import validate

from . import paths
from .files import write_atomic


def save(state: dict, path: Path | None = None) -> Path:
    path = path or paths.state_file()
    write_atomic(path, json.dumps(state, indent=2, sort_keys=True) + "\n", mode=0o600)
    return path


def load(path: Path | None = None) -> dict | None:
    """The saved state, or None when there is none. StateError when it is unusable."""
    path = path or paths.state_file()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read state file {path}: {exc.strerror}; check its permissions") from None
    way_out = f"remove {path} and run 'inv teardown' (it finds what is ours by labels)"
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(f"state file {path} is corrupt (line {exc.lineno}: {exc.msg}); {way_out}") from None
    try:
        validate(state, "state", StateError, f"state file {path}")
    except StateError as exc:
        raise StateError(f"{exc} (not a state this version of decnet wrote); {way_out}") from None
    return state


def remove(path: Path | None = None) -> None:
    (path or paths.state_file()).unlink(missing_ok=True)
