"""The Docker network options the engine asks for, per driver (pure part of the SDK adapter)."""
from engine.docker_api import _network_settings


def test_macvlan_network_options():
    assert _network_settings("macvlan", "eth1", "10.0.0.0/24", "10.0.0.1") == {
        "driver": "macvlan", "options": {"parent": "eth1"}, "subnet": "10.0.0.0/24", "gateway": "10.0.0.1"}


def test_ipvlan_network_is_l2():
    assert _network_settings("ipvlan", "eth1", "10.0.0.0/24", "10.0.0.1")["options"] == {
        "parent": "eth1", "ipvlan_mode": "l2"}
