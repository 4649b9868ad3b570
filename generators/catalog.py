"""What the engine knows: services, archetypes, OS personalities and hardware vendors."""
from dataclasses import dataclass, field


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
    settings: tuple[str, ...] = ()        # persona keys of service_config -> DECNET_<NAME>_<KEY>
    kind: str = ""                        # build context / image; defaults to the name
    env: dict[str, str] = field(default_factory=dict)

    @property
    def context(self) -> str:
        return self.kind or self.name

    @property
    def image(self) -> str:
        return context_image(self.context)

    def setting_env(self, key: str) -> str:
        return f"DECNET_{self.name.upper()}_{key.upper()}"


def context_image(context: str) -> str:
    """One image per build context, shared by every decky (and service) that runs it."""
    return f"decnet-svc-{context}:latest"


def _tcp(*numbers: int) -> tuple[Port, ...]:
    return tuple(Port(n) for n in numbers)


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("ssh", _tcp(22), ("version",)),
        Service("telnet", _tcp(23), ("banner",)),
        Service("ftp", _tcp(21), ("banner",)),
        Service("http", _tcp(80), ("server",)),
        Service("https", _tcp(443), ("server",), kind="http", env={"DECNET_HTTP_TLS": "1"}),
        Service("smtp", _tcp(25), ("banner",)),
        Service("pop3", _tcp(110), ("banner",)),
        Service("imap", _tcp(143), ("banner",)),
        Service("mysql", _tcp(3306), ("version",)),
        Service("postgres", _tcp(5432), ("version",)),
        Service("redis", _tcp(6379), ("version",)),
        Service("mqtt", _tcp(1883), ("anonymous",)),
        Service("smb", _tcp(445, 139), ("domain", "os")),
        Service("rdp", _tcp(3389), ("domain",)),
    )
}

BASE_IMAGE = "decnet-base:latest"


@dataclass(frozen=True)
class Archetype:
    services: tuple[str, ...]
    os: str
    hardware: str                          # a key of VENDORS
    service_config: dict[str, dict[str, str]] = field(default_factory=dict)


_IIS = {"http": {"server": "Microsoft-IIS/10.0"}, "https": {"server": "Microsoft-IIS/10.0"}}
ARCHETYPES: dict[str, Archetype] = {
    "windows-workstation": Archetype(("smb", "rdp"), "windows", "pc"),
    "windows-server": Archetype(("smb", "rdp", "http", "https"), "windows", "server", _IIS),
    "domain-controller": Archetype(("smb", "rdp", "https"), "windows", "server", _IIS),
    "linux-server": Archetype(("ssh", "http"), "linux", "server"),
    "web-server": Archetype(("http", "https", "ftp"), "linux", "server"),
    "database-server": Archetype(("mysql", "postgres", "redis"), "linux", "server"),
    "mail-server": Archetype(("smtp", "pop3", "imap"), "linux", "server"),
    "file-server": Archetype(("smb", "ftp", "ssh"), "linux", "server"),
    "iot-device": Archetype(("mqtt", "telnet", "http"), "embedded", "device"),
    "deaddeck": Archetype(("ssh",), "linux", "server"),
}

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
    | {"net.ipv4.conf.all.arp_notify": "1"}   # announce the decky's own MAC once it is set
    for i, family in enumerate(OS_FAMILIES)
}

# Real vendor prefixes (OUIs) a LAN would show for each kind of hardware.
VENDORS: dict[str, tuple[str, ...]] = {
    "pc": ("f8:bc:12", "d4:be:d9", "3c:d9:2b", "00:1b:21"),          # Dell, Dell, HP, Intel
    "server": ("00:50:56", "00:0c:29", "00:14:22", "00:25:90", "00:17:a4"),  # VMware x2, Dell, Supermicro, HP
    "device": ("b8:27:eb", "00:40:8c", "00:11:32"),                  # Raspberry Pi, Axis, Synology
    "network": ("00:1b:54",),                                        # Cisco
}
DEFAULT_HARDWARE = {"linux": "server", "windows": "pc", "bsd": "server", "embedded": "device", "cisco": "network"}
