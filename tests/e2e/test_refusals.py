"""Deploys the engine must refuse before touching anything, on the real host."""
from . import lab

CONFIG = """
name: refuse
network: {driver: DRIVER, interface: IFACE, subnet: 10.213.1.0/24, gateway: 10.213.1.1, host_ip: 10.213.1.3}
deckies:
  - {name: one, ip: 10.213.1.20, services: [ssh]}
"""


def deploy(cli, tmp_path, driver="macvlan", iface="dn-e2elan0"):
    config = tmp_path / "refuse.yml"
    config.write_text(CONFIG.replace("DRIVER", driver).replace("IFACE", iface))
    return cli("deploy", "--config", str(config), check=False)


def assert_nothing_touched(cli):
    assert not cli.state_file.exists()
    assert lab.sh("ip", "link", "show", "dev", "dn-refuse", check=False).returncode != 0
    assert lab.sh("docker", "network", "ls", "-q", "--filter", "name=decnet-refuse").stdout.strip() == ""
    assert lab.containers("refuse") == []


def kernel_has_ipvlan() -> bool:
    probe = lab.sh("bash", str(lab.REPO / "scripts" / "host-shim.sh"), "probe", "--driver", "ipvlan",
                   "--parent", "dn-e2elan0", check=False)
    return probe.returncode == 0


def test_ipvlan_on_a_kernel_without_it_is_refused_in_one_line(cli, tmp_path):
    result = deploy(cli, tmp_path, driver="ipvlan")
    if kernel_has_ipvlan():   # not the case on our CI kernel; then the deploy must simply work
        assert result.returncode == 0, result.stderr
        cli("teardown")
        return
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: host-shim.sh: the kernel has no ipvlan support (ip: Error: Unknown device type.); "
        "use network.driver: macvlan or load the ipvlan module"]
    assert_nothing_touched(cli)


def test_missing_parent_interface_is_refused_in_one_line(cli, tmp_path):
    result = deploy(cli, tmp_path, iface="dn-nosuch0")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: network.interface dn-nosuch0 does not exist on this host; name a NIC shown by 'ip link' "
        "(for a demo LAN: inv lan)"]
    assert_nothing_touched(cli)


def test_a_network_that_is_not_ours_is_never_removed_or_reused(cli, tmp_path):
    lab.sh("docker", "network", "create", "decnet-refuse")   # a user's bridge network with our name
    try:
        result = deploy(cli, tmp_path)
        assert result.returncode == 1
        assert "Docker network decnet-refuse exists but is not ours" in result.stderr
        assert not cli.state_file.exists()   # refused in preflight, before the state is written
        cli("teardown", check=False)
        assert lab.sh("docker", "network", "ls", "-q", "--filter", "name=decnet-refuse").stdout.strip() != ""
    finally:
        lab.sh("docker", "network", "rm", "decnet-refuse", check=False)
        cli("teardown", check=False)
