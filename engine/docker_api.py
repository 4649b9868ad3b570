"""Adapter for the Docker SDK: networks and containers, always found by our labels."""
from dataclasses import dataclass
from functools import cache

import importlib.util
import sys

from generators import names
from generators.errors import DecnetError


def _lazy(name: str):
    """A module that loads on first use: a dry run never pays for the Docker SDK."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


docker = _lazy("docker")


class DockerError(DecnetError):
    """The Docker daemon is unreachable or refused a request."""


@cache
def client() -> "docker.DockerClient":
    try:
        c = docker.from_env(timeout=30)
        c.ping()
        return c
    except docker.errors.DockerException:
        raise DockerError("the Docker daemon does not answer; start it (scripts/dockerd-up.sh) and try again") from None


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    decky: str
    service: str          # "base" for the address holder
    role: str
    ip: str
    hostname: str
    state: str            # running, exited, created, restarting, ...
    id: str


def _deployment_filter(deployment: str, **extra: str) -> dict:
    labels = [f"{names.LABEL_DEPLOYMENT}={deployment}"] + [f"{k}={v}" for k, v in extra.items()]
    return {"label": labels}


def containers(deployment: str, decky: str | None = None) -> list[ContainerInfo]:
    """Every container of a deployment (one API call, whatever the fleet size)."""
    extra = {names.LABEL_DECKY: decky} if decky else {}
    try:
        found = client().containers.list(all=True, sparse=True, filters=_deployment_filter(deployment, **extra))
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot list containers: {exc}; check that dockerd runs") from None
    out = []
    for c in found:
        labels = c.attrs.get("Labels") or {}
        out.append(ContainerInfo(
            name=(c.attrs.get("Names") or ["?"])[0].lstrip("/"),
            decky=labels.get(names.LABEL_DECKY, "?"), service=labels.get(names.LABEL_SERVICE, "?"),
            role=labels.get(names.LABEL_ROLE, "?"), ip=labels.get(names.LABEL_IP, ""),
            hostname=labels.get(names.LABEL_HOSTNAME, ""), state=c.attrs.get("State", "unknown"), id=c.id))
    return out


def remove_containers(items: list[ContainerInfo]) -> list[str]:
    """Force-remove containers, services before their base. Returns the names removed."""
    removed = []
    for info in sorted(items, key=lambda i: i.role == "base"):
        try:
            client().api.remove_container(info.id, force=True)
            removed.append(info.name)
        except docker.errors.NotFound:
            pass
        except docker.errors.DockerException as exc:
            raise DockerError(f"cannot remove container {info.name}: {exc}") from None
    return removed


def deployments() -> set[str]:
    """Deployment names found on the engine by label (containers and networks)."""
    found = set()
    try:
        for c in client().containers.list(all=True, sparse=True, filters={"label": names.LABEL_DEPLOYMENT}):
            found.add((c.attrs.get("Labels") or {}).get(names.LABEL_DEPLOYMENT))
        for n in client().networks.list(filters={"label": names.LABEL_MANAGED + "=true"}):
            found.add((n.attrs.get("Labels") or {}).get(names.LABEL_DEPLOYMENT))
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot list deployments: {exc}; check that dockerd runs") from None
    found.discard(None)
    return found


def _network_settings(driver: str, parent: str, subnet: str, gateway: str) -> dict:
    options = {"parent": parent}
    if driver == "ipvlan":
        options["ipvlan_mode"] = "l2"
    return {"driver": driver, "options": options, "subnet": subnet, "gateway": gateway}


def _observed_settings(net) -> dict:
    attrs = net.attrs
    ipam = (attrs.get("IPAM") or {}).get("Config") or [{}]
    options = dict(attrs.get("Options") or {})
    return {"driver": attrs.get("Driver"), "options": options,
            "subnet": ipam[0].get("Subnet"), "gateway": ipam[0].get("Gateway")}


def _find_network(name: str):
    return next((n for n in client().networks.list(names=[name]) if n.name == name), None)


def _check_reusable(net, name: str, deployment: str, wanted: dict) -> None:
    labels = net.attrs.get("Labels") or {}
    if labels.get(names.LABEL_DEPLOYMENT) != deployment:
        raise DockerError(f"Docker network {name} exists but is not ours; remove it (docker network rm {name}) "
                          "or rename the deployment")
    have = _observed_settings(net)
    if have != wanted:
        diff = ", ".join(f"{k} {have[k]} != {wanted[k]}" for k in wanted if have[k] != wanted[k])
        raise DockerError(f"Docker network {name} exists with other settings ({diff}); "
                          "run 'inv teardown' first to change the network")


def _check_parent_free(name: str, parent: str) -> None:
    """One parent interface carries one macvlan/ipvlan Docker network."""
    for net in client().networks.list():
        if net.name != name and (net.attrs.get("Options") or {}).get("parent") == parent:
            raise DockerError(f"Docker network {net.name} already uses {parent} as its parent; one interface carries "
                              f"one macvlan/ipvlan network: remove that network or use another interface")


def ensure_network(name: str, deployment: str, driver: str, parent: str, subnet: str, gateway: str,
                   create: bool = True) -> str:
    """Create our network, or reuse it only when it is ours and identical: 'created', 'reused'
    (or, with create=False, a read-only check: 'absent' or 'reusable')."""
    wanted = _network_settings(driver, parent, subnet, gateway)
    try:
        net = _find_network(name)
        if net is not None:
            _check_reusable(net, name, deployment, wanted)
            return "reused" if create else "reusable"
        if not create:
            _check_parent_free(name, parent)
            return "absent"
        client().networks.create(
            name, driver=driver, options=wanted["options"],
            ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=gateway)]),
            labels={names.LABEL_DEPLOYMENT: deployment, names.LABEL_MANAGED: "true"}, check_duplicate=True)
        return "created"
    except docker.errors.APIError as exc:
        raise DockerError(f"cannot create Docker network {name}: {exc.explanation or exc}; "
                          "another Docker network may use this subnet or parent ('docker network ls')") from None
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot create Docker network {name}: {exc}; check that dockerd runs") from None


def remove_network(name: str, deployment: str) -> bool:
    """Remove our network; never one without our label. True when something was removed."""
    try:
        net = _find_network(name)
        if net is None:
            return False
        if (net.attrs.get("Labels") or {}).get(names.LABEL_DEPLOYMENT) != deployment:
            raise DockerError(f"Docker network {name} is not ours (no {names.LABEL_DEPLOYMENT}={deployment} label); left in place")
        net.remove()
        return True
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        raise DockerError(f"cannot remove Docker network {name}: {exc.explanation or exc}") from None
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot remove Docker network {name}: {exc}; check that dockerd runs") from None


def image_exists(tag: str) -> bool:
    try:
        client().images.get(tag)
        return True
    except docker.errors.NotFound:
        return False
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot inspect image {tag}: {exc}; check that dockerd runs") from None


def base_pids(deployment: str) -> dict[str, int]:
    """decky -> PID of its running base container (the owner of its network namespace)."""
    try:
        found = client().containers.list(filters=_deployment_filter(deployment, **{names.LABEL_ROLE: "base"}))
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot list containers: {exc}; check that dockerd runs") from None
    return {c.labels.get(names.LABEL_DECKY): c.attrs["State"]["Pid"] for c in found if c.attrs["State"].get("Pid")}


def image_labels(tags: list[str], label: str) -> dict[str, str]:
    """tag -> value of `label` on that local image, for the tags that exist (one API call)."""
    try:
        images = client().images.list(filters={"label": label})
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot list images: {exc}; check that dockerd runs") from None
    found = {}
    for image in images:
        for tag in image.tags:
            if tag in tags:
                found[tag] = (image.labels or {}).get(label, "")
    return found


def container_logs(container_id: str, since=None) -> str:
    """What a container wrote to stdout (its events), optionally since a datetime."""
    try:
        raw = client().api.logs(container_id, stdout=True, stderr=False, since=since)
    except docker.errors.NotFound:
        return ""
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot read logs of {container_id[:12]}: {exc}; check that dockerd runs") from None
    return raw.decode("utf-8", "replace")


def follow_logs(container_id: str, since):
    """Lines a container writes from `since` on, as they come (blocks; ends when it stops)."""
    try:
        pending = b""
        for chunk in client().api.logs(container_id, stdout=True, stderr=False, stream=True, follow=True,
                                       since=since):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", "replace")
    except docker.errors.DockerException:
        return


def revive_dependants(deployment: str) -> list[str]:
    """Service containers share their base's network namespace; when the base (re)started after
    them (a reboot, a crash), they are 'Up' but deaf. Restart those, start stopped ones."""
    try:
        found = client().containers.list(all=True, filters=_deployment_filter(deployment))
        bases = {c.labels.get(names.LABEL_DECKY): c for c in found if c.labels.get(names.LABEL_ROLE) == "base"}
        revived = []
        for c in found:
            base = bases.get(c.labels.get(names.LABEL_DECKY))
            if c.labels.get(names.LABEL_ROLE) != "service" or base is None or base.status != "running":
                continue
            if c.status != "running" or c.attrs["State"]["StartedAt"] < base.attrs["State"]["StartedAt"]:
                c.restart(timeout=2)
                revived.append(c.name)
        return revived
    except docker.errors.DockerException as exc:
        raise DockerError(f"cannot restart service containers: {exc}; check that dockerd runs") from None
