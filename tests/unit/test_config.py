"""Config loading: what is accepted, how it expands, and every refusal as one line."""
import re

import pytest

from generators.config import load_config
from generators.errors import ConfigError

from .conftest import BASE, cfg_text


def refuse(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(text, "x.yml")
    message = str(err.value)
    assert "\n" not in message and message.startswith("x.yml: ")
    return message


def test_minimal_config_gets_defaults(make_config):
    cfg = make_config()
    assert cfg.name == "lab" and cfg.network.driver == "macvlan"
    (d,) = cfg.deckies
    assert (d.name, d.ip, d.hostname, d.services, d.os) == ("web-01", "192.168.1.50", "web-01", ("ssh", "http"), "linux")


def test_name_defaults_to_decnet():
    text = BASE.replace("name: lab\n", "") + "  - {name: a, ip: 192.168.1.50, services: [ssh]}\n"
    assert load_config(text, "x.yml").name == "decnet"


def test_amount_expands_names_and_takes_pool_addresses_in_order(make_config):
    cfg = make_config("""
        - {name: web, ip: 192.168.1.66, services: [http]}
        - {name: desk, services: [ssh], amount: 3, os: windows}
    """)
    assert [(d.name, d.ip) for d in cfg.deckies] == [
        ("web", "192.168.1.66"),
        ("desk-01", "192.168.1.65"),
        ("desk-02", "192.168.1.67"),   # .66 is taken by web
        ("desk-03", "192.168.1.68"),
    ]
    assert cfg.deckies[0].hostname == "web"
    hostnames = [d.hostname for d in cfg.deckies[1:]]   # windows: what Windows setup would invent
    assert all(re.fullmatch(r"DESKTOP-[A-Z0-9]{7}", h) for h in hostnames) and len(set(hostnames)) == 3


def test_pool_skips_gateway_and_host_shim():
    base = BASE.replace("pool: 192.168.1.64/29", "pool: 192.168.1.0/29")
    cfg = load_config(cfg_text("- {name: d, services: [ssh], amount: 3}\n", base), "x.yml")
    assert [d.ip for d in cfg.deckies] == ["192.168.1.2", "192.168.1.3", "192.168.1.4"]


@pytest.mark.parametrize("deckies, expected", [
    ("- {name: a, ip: 192.168.1.50, services: [ssh]}\n- {name: a, ip: 192.168.1.51, services: [ssh]}\n",
     "is used twice"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh]}\n- {name: b, ip: 192.168.1.50, services: [ssh]}\n",
     "share address 192.168.1.50"),
    ("- {name: a, ip: 10.0.0.5, services: [ssh]}\n", "outside network.subnet"),
    ("- {name: a, ip: 192.168.1.1, services: [ssh]}\n", "is the gateway"),
    ("- {name: a, ip: 192.168.1.5, services: [ssh]}\n", "is the host shim address"),
    ("- {name: a, ip: 192.168.1.0, services: [ssh]}\n", "network or broadcast"),
    ("- {name: a, ip: 192.168.1.255, services: [ssh]}\n", "network or broadcast"),
    ("- {name: 'a;rm -rf /', ip: 192.168.1.50, services: [ssh]}\n", "deckies[0].name"),
    ("- {name: 'a$(id)', ip: 192.168.1.50, services: [ssh]}\n", "is not allowed"),
    ("- {name: a, ip: 192.168.1.50, services: [telnetx]}\n", "unknown service 'telnetx'"),
    ("- {name: a, ip: 192.168.1.50, services: []}\n", "list at least one service"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh, ssh]}\n", "lists a service twice"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh], os: amiga}\n", "unknown os 'amiga'"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh], colour: red}\n", "colour"),
    ("- {name: a, ip: 999.1.1.1, services: [ssh]}\n", "dotted IPv4"),
    ("- {name: a, services: [ssh], amount: 9}\n", "free addresses"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh], amount: 2}\n", "amount 2 and a fixed ip"),
    ("- {name: web, ip: 192.168.1.50, services: [ssh]}\n- {name: web-ssh, ip: 192.168.1.51, services: [http]}\n",
     "both make 'web-ssh'"),
])
def test_bad_deckies_are_refused_with_one_line(deckies, expected):
    assert expected in refuse(cfg_text(deckies))


@pytest.mark.parametrize("old, new, expected", [
    ("interface: eth1", "interface: 'eth1; reboot'", "network.interface"),
    ("interface: eth1", "interface: averyveryverylongnic", "network.interface"),
    ("subnet: 192.168.1.0/24", "subnet: 192.168.1.7/24", "not a valid IPv4 network"),
    ("subnet: 192.168.1.0/24", "subnet: banana", "not a valid IPv4 network"),
    ("subnet: 192.168.1.0/24", "subnet: 192.168.1.0/31", "no room"),
    ("gateway: 192.168.1.1", "gateway: 10.0.0.1", "network.gateway 10.0.0.1 is outside"),
    ("host_ip: 192.168.1.5", "host_ip: 192.168.1.1", "is the gateway"),
    ("host_ip: 192.168.1.5", "host_ip: 192.168.2.5", "network.host_ip 192.168.2.5 is outside"),
    ("pool: 192.168.1.64/29", "pool: 10.9.0.0/29", "network.pool 10.9.0.0/29 is outside"),
    ("interface: eth1", "interface: eth1\n  driver: vxlan", "use macvlan or ipvlan"),
    ("name: lab", "name: Lab!", "name"),
])
def test_bad_network_is_refused_with_one_line(old, new, expected):
    text = cfg_text("- {name: a, ip: 192.168.1.50, services: [ssh]}\n", BASE.replace(old, new))
    assert expected in refuse(text)


def test_address_without_pool_is_refused():
    text = cfg_text("- {name: a, services: [ssh]}\n", BASE.replace("  pool: 192.168.1.64/29\n", ""))
    assert "has no ip and network.pool is not set" in refuse(text)


@pytest.mark.parametrize("text, expected", [
    ("", "the file is empty"),
    ("# only a comment\n", "the file is empty"),
    ("name: [unclosed\n", "malformed YAML at line"),
    ("- just\n- a list\n", "must be a mapping"),
    ("network: {}\ndeckies: []\n", "network needs interface"),
])
def test_malformed_files_are_refused(text, expected):
    assert expected in refuse(text)


def test_archetype_gives_services_os_hardware_and_persona(make_config):
    cfg = make_config("""
        - {name: dc, ip: 192.168.1.50, archetype: windows-server}
        - {name: db, ip: 192.168.1.51, archetype: database-server, os: bsd, services: [redis]}
        - {name: cam, ip: 192.168.1.52, archetype: iot-device}
    """)
    dc, db, cam = cfg.deckies
    assert (dc.services, dc.os, dc.archetype) == (("smb", "rdp", "http", "https"), "windows", "windows-server")
    assert re.fullmatch(r"WIN-[A-Z0-9]{11}", dc.hostname)
    assert dc.service_config == {"http": {"server": "Microsoft-IIS/10.0"}, "https": {"server": "Microsoft-IIS/10.0"}}
    assert (db.services, db.os) == (("redis",), "bsd")          # the config wins over the archetype
    assert dc.mac[:8] in ("00:50:56", "00:0c:29", "00:14:22", "00:25:90", "00:17:a4")   # server hardware
    assert cam.mac[:8] in ("b8:27:eb", "00:40:8c", "00:11:32") and cam.os == "embedded"


def test_macs_are_stable_unique_and_configurable(make_config):
    text = """
        - {name: a, ip: 192.168.1.50, services: [ssh]}
        - {name: b, ip: 192.168.1.51, services: [ssh], mac: "00:50:56:AA:BB:CC"}
        - {name: c, services: [ssh], amount: 5}
    """
    first, second = make_config(text), make_config(text)
    assert [d.mac for d in first.deckies] == [d.mac for d in second.deckies]       # kept across redeploys
    assert first.deckies[1].mac == "00:50:56:aa:bb:cc"
    assert len({d.mac for d in first.deckies}) == 7
    assert all(re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", d.mac) for d in first.deckies)


def test_service_config_reaches_the_decky(make_config):
    cfg = make_config("""
        - name: web
          ip: 192.168.1.50
          services: [ssh, http]
          service_config: {ssh: {version: SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3}, http: {server: nginx/1.22.1}}
    """)
    assert cfg.deckies[0].service_config["ssh"] == {"version": "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3"}


@pytest.mark.parametrize("deckies, expected", [
    ("- {name: a, ip: 192.168.1.50, archetype: mainframe}\n", "unknown archetype 'mainframe'"),
    ("- {name: a, ip: 192.168.1.50}\n", "has no services; list services or give it an archetype"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh], mac: '01:00:5e:00:00:01'}\n", "multicast"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh], mac: 'zz:00:5e:00:00:01'}\n", "write a MAC like"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh], mac: '00:50:56:00:00:01'}\n"
     "- {name: b, ip: 192.168.1.51, services: [ssh], mac: '00:50:56:00:00:01'}\n", "share MAC 00:50:56:00:00:01"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh], service_config: {http: {server: x}}}\n",
     "service_config for 'http' but does not run it"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh], service_config: {ssh: {colour: red}}}\n",
     "unknown setting 'colour'; known settings: version"),
    ("- {name: a, ip: 192.168.1.50, services: [ssh], service_config: {ssh: {version: \"a\\nb\"}}}\n",
     "at most 200 printable characters"),
    ("- {name: a, ip: 192.168.1.50, services: [http, https, ssh, ftp, smb, rdp, mysql, redis, smtp, telnet]}\n"
     "- {name: b, ip: 192.168.1.51, services: [pop3, imap, postgres, mqtt]}\n", None),
])
def test_issue3_refusals(deckies, expected):
    if expected is None:
        load_config(cfg_text(deckies), "x.yml")   # every catalog service is accepted
    else:
        assert expected in refuse(cfg_text(deckies))


def test_two_services_of_one_decky_on_one_port_are_refused(monkeypatch):
    from generators import catalog, config
    services = dict(catalog.SERVICES, sshalt=catalog.Service("sshalt", (catalog.Port(22),)))
    monkeypatch.setattr(config, "SERVICES", services)
    message = refuse(cfg_text("- {name: a, ip: 192.168.1.50, services: [ssh, sshalt]}\n"))
    assert "runs ssh and sshalt on port 22/tcp; drop one of them" in message
