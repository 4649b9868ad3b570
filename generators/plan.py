"""The deploy plan as text: what deploy will do, in order. Pure; golden-tested."""
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .catalog import PERSONALITIES, SERVICES, context_image
from .contexts import TEMPLATES

_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render_plan(state: dict, compose: dict, build_root: Path, build_file: Path) -> str:
    kinds = sorted({SERVICES[s].context for d in state["deckies"] for s in d["services"]})
    return _env.get_template("plan.txt.j2").render(
        state=state,
        compose=compose,
        build_root=build_root,
        build_file=build_file,
        kinds=kinds,
        images={k: context_image(k) for k in kinds},
        ttl={family: sysctls["net.ipv4.ip_default_ttl"] for family, sysctls in PERSONALITIES.items()},
        containers=len(compose["services"]),
    )
