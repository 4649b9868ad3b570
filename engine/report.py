"""Status report: runtime containers (the truth) joined with the state (the baseline). Pure."""
from .docker_api import ContainerInfo


def decky_status(base_state: str | None, service_states: list[str]) -> str:
    """up: base and every service running; down: base or everything not running; else degraded."""
    running = [s == "running" for s in service_states]
    if base_state != "running" or not any(running):
        return "down"
    return "up" if all(running) else "degraded"


def summarize(deployment: str | None, state: dict | None, found: list[ContainerInfo]) -> dict:
    expected = {d["name"]: d for d in (state or {}).get("deckies", [])}
    by_decky: dict[str, dict[str, ContainerInfo]] = {}
    for info in found:
        by_decky.setdefault(info.decky, {})[info.service] = info
    deckies = []
    for name in list(expected) + sorted(set(by_decky) - set(expected)):
        containers = by_decky.get(name, {})
        planned = expected.get(name, {})
        base = containers.get("base")
        service_names = list(planned.get("services", [])) + sorted(
            s for s in containers if s != "base" and s not in planned.get("services", []))
        services = [{"name": s, "state": containers[s].state if s in containers else "missing"} for s in service_names]
        anyone = base or next(iter(containers.values()), None)
        deckies.append({
            "name": name,
            "ip": anyone.ip if anyone else planned.get("ip", ""),
            "hostname": anyone.hostname if anyone else planned.get("hostname", ""),
            "status": decky_status(base.state if base else None, [s["state"] for s in services]),
            "services": services,
        })
    return {"deployment": deployment, "deckies": deckies}
