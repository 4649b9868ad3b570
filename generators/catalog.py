"""What the engine knows: services (ports, build context) and OS personalities."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Port:
    number: int
    proto: str = "tcp"

    def __str__(self) -> str:
        return f"{self.number}/{self.proto}"


@dataclass(frozen=True)
class Service:
    name: str
    ports: tuple[Port, ...]

    @property
    def image(self) -> str:
        """One image per service kind, shared by every decky that runs it."""
        return f"decnet-svc-{self.name}:latest"


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("ssh", (Port(22),)),
        Service("http", (Port(80),)),
        Service("ftp", (Port(21),)),
    )
}

BASE_IMAGE = "decnet-base:latest"

# OS personalities: network sysctls set on the base container (which owns the namespace).
_SYSCTL_TABLE = {
    #                     linux windows bsd  embedded cisco
    "ip_default_ttl":     (64,  128,    64,  255,     255),
    "tcp_syn_retries":    (6,   2,      6,   3,       2),
    "tcp_timestamps":     (1,   1,      1,   0,       0),
    "tcp_window_scaling": (1,   1,      1,   0,       0),
    "tcp_sack":           (1,   1,      1,   0,       0),
    "tcp_ecn":            (2,   0,      0,   0,       0),
    "ip_no_pmtu_disc":    (0,   0,      0,   1,       1),
    "tcp_fin_timeout":    (60,  30,     60,  15,      15),
    "icmp_ratelimit":     (1000, 0,     250, 0,       0),
}
OS_FAMILIES = ("linux", "windows", "bsd", "embedded", "cisco")
DEFAULT_OS = "linux"

PERSONALITIES: dict[str, dict[str, str]] = {
    family: {f"net.ipv4.{key}": str(values[i]) for key, values in _SYSCTL_TABLE.items()}
    for i, family in enumerate(OS_FAMILIES)
}
