"""All documents of one deployment, rendered together from a Config. Pure."""
from dataclasses import dataclass
from pathlib import Path

from . import names
from .catalog import SERVICES
from .compose import compose_yaml, render_compose
from .config import Config
from .plan import render_plan
from .state import render_state


@dataclass(frozen=True)
class Documents:
    config: Config
    compose: dict
    compose_text: str
    state: dict
    plan: str
    root: Path

    @property
    def compose_file(self) -> Path:
        return self.root / names.COMPOSE_FILE

    @property
    def build_root(self) -> Path:
        return self.root / names.BUILD_DIR

    @property
    def service_kinds(self) -> list[str]:
        """The build contexts this deployment needs (https shares http's)."""
        return sorted({SERVICES[s].context for d in self.config.deckies for s in d.services})


def render_all(config: Config, root: Path) -> Documents:
    """Compose, state and plan for `config`, with every path under the state directory `root`."""
    compose = render_compose(config, root / names.BUILD_DIR)
    state = render_state(config, root / names.COMPOSE_FILE)
    return Documents(config=config, compose=compose, compose_text=compose_yaml(compose), state=state,
                     plan=render_plan(state, compose, root / names.BUILD_DIR), root=root)
