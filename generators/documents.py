"""All documents of one deployment, rendered together from a Config. Pure."""
from dataclasses import dataclass
from pathlib import Path

from . import names
from .compose import build_contexts, compose_yaml, render_build, render_compose
from .contexts import context_hash
from .config import Config
from .plan import render_plan
from .state import render_state


@dataclass(frozen=True)
class Documents:
    config: Config
    compose: dict
    compose_text: str
    build_text: str
    context_hashes: dict[str, str]
    state: dict
    plan: str
    root: Path

    @property
    def compose_file(self) -> Path:
        return self.root / names.COMPOSE_FILE

    @property
    def build_file(self) -> Path:
        return self.root / names.BUILD_FILE

    @property
    def build_root(self) -> Path:
        return self.root / names.BUILD_DIR

    @property
    def service_kinds(self) -> list[str]:
        return build_contexts(self.config)


def render_all(config: Config, root: Path) -> Documents:
    """Compose, build file, state and plan for `config`, every path under the state directory `root`."""
    compose = render_compose(config)
    state = render_state(config, root / names.COMPOSE_FILE)
    hashes = {context: context_hash(context) for context in build_contexts(config)}
    build = render_build(config, root / names.BUILD_DIR, hashes)
    return Documents(config=config, compose=compose, compose_text=compose_yaml(compose),
                     build_text=compose_yaml(build), context_hashes=hashes, state=state,
                     plan=render_plan(state, compose, root / names.BUILD_DIR, root / names.BUILD_FILE), root=root)
