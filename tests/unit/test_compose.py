"""The compose generator: one base per decky holding the address, services joining it."""
from pathlib import Path

import yaml

from generators.compose import compose_yaml, render_compose
from generators.schemas import validate
from generators.errors import DecnetError

BUILD = Path("/state/build")


def fleet(make_config):
    return make_config("""
        - {name: web, ip: 192.168.1.50, services: [ssh, http]}
        - {name: desk, ip: 192.168.1.51, services: [http], os: windows, hostname: DESK-7}
    """)


def test_base_container_holds_address_and_personality(make_config):
    base = render_compose(fleet(make_config), BUILD)["services"]["desk"]
    assert base["command"][-1].endswith("exec sleep infinity") and base["init"] is True
    assert base["environment"] == {"DECNET_MAC": fleet(make_config).deckies[1].mac}
    assert base["cap_add"] == ["NET_ADMIN"] and base["hostname"] == "DESK-7"
    assert base["networks"] == {"lan": {"ipv4_address": "192.168.1.51"}}
    assert base["sysctls"]["net.ipv4.ip_default_ttl"] == "128"
    assert base["labels"]["decnet.role"] == "base" and base["labels"]["decnet.deployment"] == "lab"


def test_services_join_their_base_and_carry_labels(make_config):
    svc = render_compose(fleet(make_config), BUILD)["services"]["web-ssh"]
    assert svc["network_mode"] == "service:web" and svc["depends_on"] == ["web"]
    assert "sysctls" not in svc and "networks" not in svc and "ports" not in svc
    assert svc["labels"] == {"decnet.deployment": "lab", "decnet.decky": "web", "decnet.service": "ssh",
                             "decnet.role": "service", "decnet.ip": "192.168.1.50", "decnet.hostname": "web"}
    assert svc["environment"]["DECNET_SERVICE"] == "ssh"
    assert svc["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}}


def test_nothing_is_ever_pulled_and_every_container_has_init(make_config):
    for svc in render_compose(fleet(make_config), BUILD)["services"].values():
        assert svc["pull_policy"] == "never" and svc["init"] is True


def test_one_build_per_service_kind(make_config):
    services = render_compose(fleet(make_config), BUILD)["services"]
    builds = {name: s["build"]["context"] for name, s in services.items() if "build" in s}
    assert builds == {"web-ssh": "/state/build/ssh", "web-http": "/state/build/http"}
    assert services["desk-http"]["image"] == services["web-http"]["image"] == "decnet-svc-http:latest"


def test_network_is_external_and_named_after_the_deployment(make_config):
    doc = render_compose(fleet(make_config), BUILD)
    assert doc["name"] == "lab" and doc["networks"] == {"lan": {"name": "decnet-lab", "external": True}}


def test_persona_settings_and_service_env_reach_the_container(make_config):
    cfg = make_config("""
        - name: web
          ip: 192.168.1.50
          services: [http, https]
          service_config: {https: {server: nginx/1.22.1}}
    """)
    services = render_compose(cfg, BUILD)["services"]
    assert services["web-https"]["image"] == services["web-http"]["image"] == "decnet-svc-http:latest"
    assert services["web-https"]["environment"]["DECNET_HTTPS_SERVER"] == "nginx/1.22.1"
    assert services["web-https"]["environment"]["DECNET_HTTP_TLS"] == "1"
    assert "DECNET_HTTP_TLS" not in services["web-http"]["environment"]
    assert [n for n, s in services.items() if "build" in s] == ["web-http"]   # https shares http's image


def test_yaml_round_trips_without_anchors(make_config):
    doc = render_compose(fleet(make_config), BUILD)
    text = compose_yaml(doc)
    assert "&id" not in text and yaml.safe_load(text) == doc


def test_schema_rejects_a_service_that_could_pull(make_config):
    doc = render_compose(fleet(make_config), BUILD)
    doc["services"]["web"]["pull_policy"] = "missing"
    try:
        validate(doc, "compose", DecnetError, "c")
    except DecnetError as exc:
        assert "services.web.pull_policy" in str(exc)
    else:
        raise AssertionError("schema accepted pull_policy: missing")
