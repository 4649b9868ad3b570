"""Hostile input: thousands of generated configs and random YAML reach the loader; each is
accepted as a valid config or refused with a one-line ConfigError, never anything else."""
import ast
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators.catalog import ARCHETYPES, OS_FAMILIES, SERVICES
from generators.config import Config, load_config
from generators.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
NASTY = st.sampled_from(["", " ", "a;rm -rf /", "$(id)", "`id`", "../../etc", "a\nb", "é", "\x00", "-", "a" * 300,
                         "eth0", "dn-lan0", "10.0.0.1", "10.0.0.0/24", "web-01", "ssh", "0", "-1", "null", "~"])
text = st.one_of(NASTY, st.text(max_size=40))
ip = st.one_of(st.ip_addresses(v=4).map(str), st.sampled_from(["192.168.1.1", "192.168.1.5", "192.168.1.255",
                                                                 "192.168.1.50", "192.168.1.51"]), text)
scalar = st.one_of(text, st.integers(-5, 300), st.booleans(), st.none(), st.floats(allow_nan=False))
decky = st.fixed_dictionaries({"name": st.one_of(st.sampled_from(["a", "b", "web-01", "desk"]), text)}, optional={
    "ip": ip, "hostname": st.one_of(text, st.just("HOST-1")),
    "services": st.one_of(st.lists(st.one_of(st.sampled_from(sorted(SERVICES)), text), max_size=5), scalar),
    "os": st.one_of(st.sampled_from(OS_FAMILIES), text), "amount": st.one_of(st.integers(-2, 300), scalar),
    "archetype": st.one_of(st.sampled_from(sorted(ARCHETYPES)), text),
    "mac": st.one_of(st.just("00:50:56:aa:bb:cc"), st.just("01:00:5e:00:00:01"), text),
    "service_config": st.dictionaries(st.one_of(st.sampled_from(sorted(SERVICES)), text),
                                      st.one_of(st.dictionaries(text, scalar, max_size=2), scalar), max_size=2),
    "extra": scalar})
network = st.fixed_dictionaries({}, optional={
    "driver": st.one_of(st.sampled_from(["macvlan", "ipvlan"]), text), "interface": st.one_of(st.just("eth1"), text),
    "subnet": st.one_of(st.just("192.168.1.0/24"), st.just("192.168.1.0/30"), text), "gateway": ip, "host_ip": ip,
    "pool": st.one_of(st.just("192.168.1.64/29"), st.just("10.0.0.0/8"), text)})
config = st.fixed_dictionaries({"network": st.one_of(network, scalar), "deckies": st.one_of(
    st.lists(decky, max_size=6), scalar)}, optional={"name": st.one_of(st.just("lab"), text)})


def accept_or_refuse(document: str) -> None:
    try:
        result = load_config(document, "x.yml")
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("x.yml: ") and "\n" not in message and "Traceback" not in message
    else:
        assert isinstance(result, Config) and result.deckies


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(config)
def test_generated_configs_are_accepted_or_refused_in_one_line(document):
    accept_or_refuse(yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(max_size=300))
def test_random_text_is_accepted_or_refused_in_one_line(document):
    accept_or_refuse(document)


def test_no_shell_is_ever_started_from_python():
    """Every subprocess takes an argument list: no shell=True, no os.system, no os.popen."""
    for path in [*REPO.glob("generators/*.py"), *REPO.glob("engine/*.py"), REPO / "tasks.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "shell":
                raise AssertionError(f"{path.name}: shell= passed to a subprocess")
            if isinstance(node, ast.Attribute) and node.attr in ("system", "popen") and \
                    getattr(node.value, "id", "") == "os":
                raise AssertionError(f"{path.name}: os.{node.attr}")


valid_decky = st.fixed_dictionaries(
    {"services": st.lists(st.sampled_from(sorted(SERVICES)), min_size=1, max_size=4, unique=True)},
    optional={"os": st.sampled_from(OS_FAMILIES), "amount": st.integers(1, 3)})


@settings(max_examples=500, deadline=None)
@given(st.lists(valid_decky, min_size=1, max_size=8))
def test_valid_generated_fleets_are_accepted_and_expanded(deckies):
    document = {"name": "lab", "network": {"interface": "eth1", "subnet": "192.168.0.0/23", "gateway": "192.168.0.1",
                                           "host_ip": "192.168.0.2", "pool": "192.168.1.0/24"},
                "deckies": [dict(d, name=f"d{i}") for i, d in enumerate(deckies)]}
    result = load_config(yaml.safe_dump(document), "x.yml")
    assert len(result.deckies) == sum(d.get("amount", 1) for d in deckies)
    assert len({d.ip for d in result.deckies}) == len({d.mac for d in result.deckies}) == len(result.deckies)
