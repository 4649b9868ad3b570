"""Where things live. Every path is absolute, so commands work from any directory."""
import os
from pathlib import Path

from generators import names

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"


def state_dir() -> Path:
    return Path(os.environ.get("DECNET_STATE_DIR") or REPO / "state").resolve()


def state_file(root: Path | None = None) -> Path:
    return (root or state_dir()) / names.STATE_FILE


def compose_file(root: Path | None = None) -> Path:
    return (root or state_dir()) / names.COMPOSE_FILE


def build_root(root: Path | None = None) -> Path:
    return (root or state_dir()) / names.BUILD_DIR


def lock_file(root: Path | None = None) -> Path:
    return (root or state_dir()) / ".lock"


def dry_run_dir() -> Path:
    """A dry run writes here, so it never overwrites a live deployment's files."""
    return state_dir() / "dry-run"
