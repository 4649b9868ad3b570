"""The compose generator: one base per decky holding the address, services joining it."""
from pathlib import Path

import yaml

from generators.compose import compose_yaml, render_build, render_compose
from generators.schemas import validate
from generators.errors import DecnetError

BUILD = Path("/state/build")


def fleet(make_config):
    return make_config("""
        - {name: web, ip: 192.168.1.50, services: [ssh, http]}
        - {name: desk, ip: 192.168.1.51, services: [http], os: windows, hostname: DESK-7}
    """)


def test_base_container_holds_address_and_personality(make_config):
    base = render_compose(fleet(make_config))["services"]["desk"]
    assert base["command"][-1].endswith("exec sleep infinity") and base["init"] is True
    assert base["environment"] == {"DECNET_MAC": fleet(make_config).deckies[1].mac}
    assert base["cap_add"] == ["NET_ADMIN"] and base["hostname"] == "DESK-7"
    assert base["networks"] == {"lan": {"ipv4_address": "192.168.1.51"}}
    assert base["sysctls"]["net.ipv4.ip_default_ttl"] == "128"
    assert base["labels"]["decnet.role"] == "base" and base["labels"]["decnet.deployment"] == "lab"


def test_services_join_their_base_and_carry_labels(make_config):
    svc = render_compose(fleet(make_config))["services"]["web-ssh"]
    assert svc["network_mode"] == "service:web" and svc["depends_on"] == ["web"]
    assert "sysctls" not in svc and "networks" not in svc and "ports" not in svc
    assert svc["labels"] == {"decnet.deployment": "lab", "decnet.decky": "web", "decnet.service": "ssh",
                             "decnet.role": "service", "decnet.ip": "192.168.1.50", "decnet.hostname": "web"}
    assert svc["environment"]["DECNET_SERVICE"] == "ssh"
    assert svc["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}}


def test_nothing_is_ever_pulled_and_every_container_has_init(make_config):
    for svc in render_compose(fleet(make_config))["services"].values():
        assert svc["pull_policy"] == "never" and svc["init"] is True


def test_one_build_per_build_context_in_a_file_of_its_own(make_config):
    build = render_build(fleet(make_config), BUILD, {"http": "h1", "ssh": "s1"})
    assert build["services"] == {
        "build-http": {"build": {"context": "/state/build/http", "labels": {"decnet.context-hash": "h1"}},
                       "image": "decnet-svc-http:latest", "pull_policy": "never"},
        "build-ssh": {"build": {"context": "/state/build/ssh", "labels": {"decnet.context-hash": "s1"}},
                      "image": "decnet-svc-ssh:latest", "pull_policy": "never"}}
    services = render_compose(fleet(make_config))["services"]
    assert not any("build" in s for s in services.values())   # containers only run images
    assert services["desk-http"]["image"] == services["web-http"]["image"] == "decnet-svc-http:latest"


def test_removing_a_decky_leaves_the_others_definitions_unchanged(make_config):
    both = render_compose(fleet(make_config))["services"]
    only_desk = render_compose(make_config("""
        - {name: desk, ip: 192.168.1.51, services: [http], os: windows, hostname: DESK-7}
    """))["services"]
    assert only_desk == {k: v for k, v in both.items() if k.startswith("desk")}


def test_network_is_external_and_named_after_the_deployment(make_config):
    doc = render_compose(fleet(make_config))
    assert doc["name"] == "lab" and doc["networks"] == {"lan": {"name": "decnet-lab", "external": True}}


def test_persona_settings_and_service_env_reach_the_container(make_config):
    cfg = make_config("""
        - name: web
          ip: 192.168.1.50
          services: [http, https]
          service_config: {https: {server: nginx/1.22.1}}
    """)
    services = render_compose(cfg)["services"]
    assert services["web-https"]["image"] == services["web-http"]["image"] == "decnet-svc-http:latest"
    assert services["web-https"]["environment"]["DECNET_HTTPS_SERVER"] == "nginx/1.22.1"
    assert services["web-https"]["environment"]["DECNET_HTTP_TLS"] == "1"
    assert "DECNET_HTTP_TLS" not in services["web-http"]["environment"]
    assert list(render_build(cfg, BUILD, {"http": "h"})["services"]) == ["build-http"]   # https shares http's image


def test_yaml_round_trips_without_anchors(make_config):
    doc = render_compose(fleet(make_config))
    text = compose_yaml(doc)
    assert "&id" not in text and yaml.safe_load(text) == doc


def test_schema_rejects_a_service_that_could_pull(make_config):
    doc = render_compose(fleet(make_config))
    doc["services"]["web"]["pull_policy"] = "missing"
    try:
        validate(doc, "compose", DecnetError, "c")
    except DecnetError as exc:
        assert "services.web.pull_policy" in str(exc)
    else:
        raise AssertionError("schema accepted pull_policy: missing")


def test_large_documents_are_checked_in_two_halves_with_the_same_verdict(make_config, monkeypatch):
    from generators import schemas
    monkeypatch.setattr(schemas, "PARALLEL_FROM", 2)
    doc = render_compose(fleet(make_config))
    validate(doc, "compose", DecnetError, "c", big="services")          # valid: no error
    for broken in ("web", "web-http"):                                   # a fault in either half
        bad = {**doc, "services": {**doc["services"], broken: {**doc["services"][broken], "pull_policy": "always"}}}
        try:
            validate(bad, "compose", DecnetError, "c", big="services")
        except DecnetError as exc:
            assert str(exc).startswith(f"c: services.{broken}.pull_policy: "), str(exc)
        else:
            raise AssertionError("a broken service passed")
    bad_name = {**doc, "services": {**doc["services"], "Bad Name": doc["services"]["web"]}}
    try:
        validate(bad_name, "compose", DecnetError, "c", big="services")
    except DecnetError as exc:
        assert "'Bad Name'" in str(exc)
    else:
        raise AssertionError("a bad service name passed")
