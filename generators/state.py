"""State document: the baseline of what a deployment put on the host. Pure."""
from pathlib import Path

from . import names
from .config import Config, Decky, NetworkSpec, check_config
from .errors import DecnetError, StateError
from .schemas import validate

SCHEMA_VERSION = 1


def render_state(config: Config, compose_file: Path) -> dict:
    net = config.network
    document = {
        "schema_version": SCHEMA_VERSION,
        "deployment": config.name,
        "project": names.project_name(config.name),
        "compose_file": str(compose_file),
        "log_target": config.log_target,
        "network": {"name": names.network_name(config.name), "driver": net.driver,
                    "interface": net.interface, "subnet": net.subnet, "gateway": net.gateway,
                    "pool": net.pool},
        "host": {"shim": names.shim_name(config.name), "host_ip": net.host_ip,
                 "routes": [f"{d.ip}/32" for d in config.deckies]},
        "deckies": [{"name": d.name, "ip": d.ip, "hostname": d.hostname, "services": list(d.services),
                     "os": d.os, "mac": d.mac, "archetype": d.archetype, "service_config": d.service_config}
                    for d in config.deckies],
    }
    validate(document, "state", DecnetError, "generated state (a bug in decnet)")
    return document


def config_from_state(state: dict, source: str) -> Config:
    """Rebuild the Config a state was made from (for targeted teardown and redeploys)."""
    validate(state, "state", StateError, source)
    n = state["network"]
    config = Config(
        name=state["deployment"],
        log_target=state["log_target"],
        network=NetworkSpec(driver=n["driver"], interface=n["interface"], subnet=n["subnet"],
                            gateway=n["gateway"], host_ip=state["host"]["host_ip"], pool=n.get("pool")),
        deckies=tuple(Decky(name=d["name"], ip=d["ip"], hostname=d["hostname"], services=tuple(d["services"]),
                            os=d["os"], mac=d["mac"], archetype=d["archetype"], service_config=d["service_config"])
                      for d in state["deckies"]),
    )
    try:
        check_config(config, source)
    except DecnetError as exc:
        raise StateError(f"{exc} (state is inconsistent)") from None
    return config
