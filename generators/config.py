"""Config: YAML text in, a checked and expanded `Config` out. Pure (reads only schemas)."""
import hashlib
import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from . import names
from .catalog import ARCHETYPES, DEFAULT_HARDWARE, DEFAULT_OS, OS_FAMILIES, SERVICES, VENDORS
from .errors import ConfigError
from .schemas import validate

DEFAULT_NAME = "decnet"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when available: same result, faster


@dataclass(frozen=True)
class NetworkSpec:
    driver: str
    interface: str
    subnet: str
    gateway: str
    host_ip: str | None = None
    pool: str | None = None


@dataclass(frozen=True)
class Decky:
    name: str
    ip: str
    hostname: str
    services: tuple[str, ...]
    os: str = DEFAULT_OS
    mac: str = ""
    archetype: str | None = None
    service_config: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    name: str
    network: NetworkSpec
    deckies: tuple[Decky, ...] = field(default_factory=tuple)
    log_target: str | None = None     # udp://HOST:PORT or tcp://HOST:PORT: every event is forwarded there

    def with_host_ip(self, host_ip: str) -> "Config":
        return replace(self, network=replace(self.network, host_ip=host_ip))

    def without_decky(self, name: str) -> "Config":
        return replace(self, deckies=tuple(d for d in self.deckies if d.name != name))


def load_config(text: str, source: str = "config") -> Config:
    """Parse, schema-check, expand and cross-check a config; ConfigError on any problem."""
    try:
        raw = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{source}: malformed YAML{where}: {problem}; fix the syntax") from None
    if raw is None:
        raise ConfigError(f"{source}: the file is empty; write a config with 'network' and 'deckies' (see examples/demo.yml)")
    return build_config(raw, source)


def build_config(raw: Any, source: str = "config") -> Config:
    validate(raw, "config", ConfigError, source)
    network = _network(raw["network"], source)
    name = raw.get("name", DEFAULT_NAME)
    deckies = _expand_deckies(raw["deckies"], network, source, name)
    log_target = (raw.get("logging") or {}).get("target")
    if log_target is not None and not 1 <= int(log_target.rsplit(":", 1)[1]) <= 65535:
        raise ConfigError(f"{source}: logging.target {log_target} has no valid port; use a port from 1 to 65535")
    config = Config(name=name, network=network, deckies=deckies, log_target=log_target)
    check_config(config, source)
    return config


def _net(value: str, what: str, source: str) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ConfigError(f"{source}: {what} {value!r} is not a valid IPv4 network ({exc}); "
                          "write it like 192.168.1.0/24 with the host bits zero") from None
    return net


def _network(raw: dict, source: str) -> NetworkSpec:
    subnet = _net(raw["subnet"], "network.subnet", source)
    if subnet.prefixlen > 30:
        raise ConfigError(f"{source}: network.subnet {subnet} has no room for deckies; use a /30 or larger")
    spec = NetworkSpec(driver=raw.get("driver", "macvlan"), interface=raw["interface"],
                       subnet=str(subnet), gateway=raw["gateway"], host_ip=raw.get("host_ip"),
                       pool=raw.get("pool"))
    _check_host_address(spec.gateway, "network.gateway", subnet, source)
    if spec.pool is not None:
        pool = _net(spec.pool, "network.pool", source)
        if not pool.subnet_of(subnet):
            raise ConfigError(f"{source}: network.pool {pool} is outside network.subnet {subnet}; pick a pool inside it")
    if spec.host_ip is not None:
        check_host_ip(spec, source)
    return spec


def check_host_ip(spec: NetworkSpec, source: str) -> None:
    """The host shim address must be a usable address of the subnet and not the gateway."""
    subnet = ipaddress.IPv4Network(spec.subnet)
    _check_host_address(spec.host_ip, "network.host_ip", subnet, source)
    if spec.host_ip == spec.gateway:
        raise ConfigError(f"{source}: network.host_ip {spec.host_ip} is the gateway; pick a free address for the host shim")


def _check_host_address(addr: str, what: str, subnet: ipaddress.IPv4Network, source: str) -> None:
    ip = ipaddress.IPv4Address(addr)
    if ip not in subnet:
        raise ConfigError(f"{source}: {what} {addr} is outside network.subnet {subnet}; use an address inside it")
    if ip in (subnet.network_address, subnet.broadcast_address):
        raise ConfigError(f"{source}: {what} {addr} is the network or broadcast address of {subnet}; use a host address")


def _expand_deckies(raw_deckies: list, network: NetworkSpec, source: str, deployment: str) -> tuple[Decky, ...]:
    """Turn `amount: N` into name-01..name-NN, apply archetypes, give address-less deckies pool
    addresses and every decky a stable MAC with a vendor prefix that fits its hardware."""
    wanted = []  # (name, ip or None, item)
    for item in raw_deckies:
        amount = item.get("amount", 1)
        if amount > 1 and ("ip" in item or "hostname" in item or "mac" in item):
            raise ConfigError(f"{source}: decky {item['name']!r} has amount {amount} and a fixed ip/hostname/mac; "
                              "drop them or list the deckies one by one")
        for i in range(1, amount + 1):
            name = f"{item['name']}-{i:02d}" if amount > 1 else item["name"]
            wanted.append((name, item.get("ip"), item))
    free = _free_addresses(network, {ip for _, ip, _ in wanted if ip}, source, wanted)
    taken_macs = {item["mac"].lower() for _, _, item in wanted if "mac" in item}
    deckies = []
    for name, ip, item in wanted:
        archetype = _archetype(item, name, source)
        services = tuple(item.get("services") or (archetype.services if archetype else ()))
        if not services:
            raise ConfigError(f"{source}: decky {name!r} has no services; list services or give it an archetype")
        os_family = item.get("os") or (archetype.os if archetype else DEFAULT_OS)
        hardware = archetype.hardware if archetype else DEFAULT_HARDWARE.get(os_family, "server")
        mac = item["mac"].lower() if "mac" in item else _stable_mac(deployment, name, hardware, taken_macs)
        taken_macs.add(mac)
        deckies.append(Decky(name=name, ip=ip or next(free), hostname=item.get("hostname") or default_hostname(
                                 name, os_family, item.get("archetype")),
                             services=services, os=os_family, mac=mac, archetype=item.get("archetype"),
                             service_config=_service_config(archetype, item, services)))
    return tuple(deckies)


def _archetype(item: dict, name: str, source: str):
    slug = item.get("archetype")
    if slug is None:
        return None
    if slug not in ARCHETYPES:
        raise ConfigError(f"{source}: decky {name!r} has unknown archetype {slug!r}; "
                          f"use one of {', '.join(sorted(ARCHETYPES))}")
    return ARCHETYPES[slug]


def _service_config(archetype, item: dict, services: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Archetype defaults for the services the decky runs, overridden key by key by the config."""
    merged: dict[str, dict[str, str]] = {}
    for service, settings in (archetype.service_config if archetype else {}).items():
        if service in services:
            merged[service] = dict(settings)
    for service, settings in (item.get("service_config") or {}).items():
        merged.setdefault(service, {}).update({k: str(v) for k, v in settings.items()})
    return merged


def _stable_mac(deployment: str, name: str, hardware: str, taken: set[str]) -> str:
    """Same deployment and decky name, same MAC: redeploys keep it; collisions are skipped."""
    for attempt in range(1000):
        digest = hashlib.sha256(f"{deployment}/{name}/{attempt}".encode()).digest()
        vendors = VENDORS[hardware]
        mac = vendors[digest[0] % len(vendors)] + ":" + ":".join(f"{b:02x}" for b in digest[1:4])
        if mac not in taken:
            return mac
    raise ConfigError(f"cannot find a free MAC for decky {name!r}; set its mac")


def _free_addresses(network: NetworkSpec, taken: set, source: str, wanted: list):
    needed = [name for name, ip, _ in wanted if not ip]
    if not needed:
        return iter(())
    if network.pool is None:
        raise ConfigError(f"{source}: decky {needed[0]!r} has no ip and network.pool is not set; "
                          "give it an ip or set network.pool")
    reserved = taken | {network.gateway, network.host_ip}
    free = [str(ip) for ip in ipaddress.IPv4Network(network.pool).hosts() if str(ip) not in reserved]
    subnet = ipaddress.IPv4Network(network.subnet)
    free = [ip for ip in free if ipaddress.IPv4Address(ip) not in (subnet.network_address, subnet.broadcast_address)]
    if len(free) < len(needed):
        raise ConfigError(f"{source}: network.pool {network.pool} has {len(free)} free addresses but "
                          f"{len(needed)} deckies need one; use a larger pool or fewer deckies")
    return iter(free)


def default_hostname(name: str, os_family: str, archetype: str | None = None) -> str:
    """Windows machines get the names Windows setup invents (stable per decky name);
    everything else keeps the decky name."""
    if os_family != "windows":
        return name
    digest = hashlib.sha256(name.encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    random_part = "".join(alphabet[b % len(alphabet)] for b in digest)
    if archetype in ("windows-server", "domain-controller"):
        return "WIN-" + random_part[:11]
    return "DESKTOP-" + random_part[:7]


def check_config(config: Config, source: str = "config") -> None:
    """Cross-checks the schema cannot express."""
    subnet = ipaddress.IPv4Network(config.network.subnet)
    deckies_seen: set[str] = set()
    seen_names: dict[str, str] = {}
    seen_ips: dict[str, str] = {}
    seen_macs: dict[str, str] = {}
    for d in config.deckies:
        if d.name in deckies_seen:
            raise ConfigError(f"{source}: decky name {d.name!r} is used twice; give each decky its own name")
        deckies_seen.add(d.name)
        if d.mac in seen_macs:
            raise ConfigError(f"{source}: deckies {seen_macs[d.mac]!r} and {d.name!r} share MAC {d.mac}; give each its own")
        seen_macs[d.mac] = d.name
        if int(d.mac.split(":")[0], 16) & 1:
            raise ConfigError(f"{source}: decky {d.name!r} mac {d.mac} is a multicast address; "
                              "use a unicast MAC (even first octet)")
        if d.os not in OS_FAMILIES:
            raise ConfigError(f"{source}: decky {d.name!r} has unknown os {d.os!r}; use one of {', '.join(OS_FAMILIES)}")
        _check_services(d, source)
        for compose_name in [names.base_service(d.name)] + [names.service_container(d.name, s) for s in d.services]:
            if compose_name in seen_names:
                raise ConfigError(f"{source}: decky name {d.name!r} clashes with {seen_names[compose_name]!r} "
                                  f"(both make {compose_name!r}); rename one of them")
            seen_names[compose_name] = d.name
        if d.ip in seen_ips:
            raise ConfigError(f"{source}: deckies {seen_ips[d.ip]!r} and {d.name!r} share address {d.ip}; give each its own")
        seen_ips[d.ip] = d.name
        _check_host_address(d.ip, f"decky {d.name!r} ip", subnet, source)
        for other, what in ((config.network.gateway, "the gateway"), (config.network.host_ip, "the host shim address")):
            if d.ip == other:
                raise ConfigError(f"{source}: decky {d.name!r} ip {d.ip} is {what}; pick another address")


def _check_services(d: Decky, source: str) -> None:
    ports: dict[str, str] = {}
    if len(set(d.services)) != len(d.services):
        raise ConfigError(f"{source}: decky {d.name!r} lists a service twice; list each once")
    for s in d.services:
        if s not in SERVICES:
            raise ConfigError(f"{source}: decky {d.name!r} has unknown service {s!r}; "
                              f"known services: {', '.join(sorted(SERVICES))}")
        for port in SERVICES[s].ports:
            if str(port) in ports:
                raise ConfigError(f"{source}: decky {d.name!r} runs {ports[str(port)]} and {s} on port {port}; "
                                  "drop one of them")
            ports[str(port)] = s
    for service, settings in d.service_config.items():
        if service not in d.services:
            raise ConfigError(f"{source}: decky {d.name!r} has service_config for {service!r} but does not run it; "
                              "add it to services or drop its settings")
        for key in settings:
            if key not in SERVICES[service].settings:
                known = ", ".join(SERVICES[service].settings) or "none"
                raise ConfigError(f"{source}: decky {d.name!r} service_config.{service} has unknown setting {key!r}; "
                                  f"known settings: {known}")
