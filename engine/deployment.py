"""The steps tasks.py strings together: preflight, the seed's deploy steps, teardown, status.
Each function does one thing through one adapter and reports what it did."""
import os
import shutil
from pathlib import Path

from generators import names
from generators.catalog import BASE_IMAGE, context_image
from generators.compose import builder_name
from generators.contexts import HASH_LABEL
from generators.config import Config, check_config, check_host_ip, load_config
from generators.documents import Documents, render_all
from generators.errors import ConfigError, DecnetError, StateError
from generators.state import config_from_state

from . import arp, compose_cli, docker_api, helper_sync, hostnet, paths, presenter, readiness, report, statefile
from .files import write_atomic


class PreflightError(DecnetError):
    """The host is not ready; nothing has been changed."""


def read_config(path: str | None) -> Config:
    if not path:
        raise ConfigError("no config given; pass --config with the path of your YAML file (e.g. examples/demo.yml)")
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist; pass --config with the path of your YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}; check the path and permissions") from None
    return load_config(text, path)


def resolve_host_ip(config: Config, source: str, required: bool) -> Config:
    """Default network.host_ip to the host's own address on the parent interface (read-only)."""
    if config.network.host_ip is None:
        found = hostnet.interface_ipv4(config.network.interface)
        if found is None:
            if not required:
                return config
            raise ConfigError(f"{source}: network.host_ip is not set and {config.network.interface} has no IPv4 "
                              "address; set network.host_ip to a free address of the subnet for the host shim")
        config = config.with_host_ip(found)
    try:
        check_host_ip(config.network, source)
        check_config(config, source)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (network.host_ip defaults to the address of {config.network.interface})"
                          if config.network.host_ip else str(exc)) from None
    return config


def preflight(docs: Documents, allow_taken: bool = False) -> None:
    """Check, without changing anything, that the host can take this deployment."""
    net = docs.config.network
    if not hostnet.can_change_links():
        raise PreflightError("deploy needs CAP_NET_ADMIN (it creates interfaces, routes and networks); "
                             "run it as root or with sudo")
    if not hostnet.interface_exists(net.interface):
        raise PreflightError(f"network.interface {net.interface} does not exist on this host; "
                             "name a NIC shown by 'ip link' (for a demo LAN: inv lan)")
    if not hostnet.interface_is_up(net.interface):
        raise PreflightError(f"network.interface {net.interface} is down; bring it up with "
                             f"'ip link set dev {net.interface} up'")
    try:
        hostnet.probe_driver(net.driver, net.interface)
    except hostnet.HostNetError as exc:
        raise PreflightError(str(exc)) from None
    docker_api.client()
    if not docker_api.image_exists(BASE_IMAGE):
        raise PreflightError(f"the base image {BASE_IMAGE} is missing; build it with 'inv base-image'")
    ensure_network(docs, create=False)
    if not allow_taken:
        check_addresses_free(docs)


def check_addresses_free(docs: Documents) -> None:
    """No decky may take an address something else on the LAN already answers for."""
    ours = {c.ip for c in docker_api.containers(docs.config.name) if c.role == "base"}
    wanted = [d.ip for d in docs.config.deckies if d.ip not in ours]
    taken = arp.who_answers(docs.config.network.interface, wanted)
    if taken:
        first = sorted(taken)[0]
        others = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise PreflightError(f"address {first} already answers on {docs.config.network.interface} "
                             f"(MAC {taken[first]}){others}; pick free addresses, or deploy with --allow-taken")


def check_against_live(docs: Documents, previous: dict | None) -> None:
    """One state directory holds one deployment; its network cannot change while it lives."""
    if previous is None:
        return
    if previous["deployment"] != docs.state["deployment"]:
        raise StateError(f"{paths.state_dir()} holds deployment {previous['deployment']!r}; tear it down first "
                         "('inv teardown') or use another DECNET_STATE_DIR")
    if previous["network"] != docs.state["network"] or previous["host"]["host_ip"] != docs.state["host"]["host_ip"]:
        raise StateError(f"deployment {previous['deployment']!r} is live with another network; changing driver, "
                         "interface, subnet, gateway, pool or host_ip needs 'inv teardown' first")


def write_dry_run(docs: Documents) -> None:
    """Steps 3-5 into the dry-run folder: no root, no daemon, the host untouched."""
    helper_sync.sync_build_contexts(docs.service_kinds, docs.build_root)
    write_compose(docs)
    statefile.save(docs.state, docs.root / names.STATE_FILE)


# --- the deploy steps -------------------------------------------------------------

def ensure_network(docs: Documents, create: bool = True) -> str:
    n = docs.state["network"]
    return docker_api.ensure_network(n["name"], docs.state["deployment"], n["driver"], n["interface"],
                                     n["subnet"], n["gateway"], create=create)


def write_compose(docs: Documents) -> Path:
    """The fleet's compose file and the build file beside it."""
    write_atomic(docs.build_file, docs.build_text)
    write_atomic(docs.compose_file, docs.compose_text)
    return docs.compose_file


def build_images(docs: Documents, no_cache: bool) -> list[str]:
    """Build the images whose context changed (all of them with no_cache); returns their contexts."""
    built = docker_api.image_labels([context_image(c) for c in docs.service_kinds], HASH_LABEL)
    stale = [c for c in docs.service_kinds if no_cache or built.get(context_image(c)) != docs.context_hashes[c]]
    if stale:
        args = ["build", *(["--no-cache"] if no_cache else []), *[builder_name(c) for c in stale]]
        compose_cli.compose_with_retry(docs.state["project"], docs.build_file, args, report=presenter.info)
    return stale


def compose_up(docs: Documents) -> None:
    compose_cli.compose_with_retry(docs.state["project"], docs.compose_file, ["up", "-d", "--remove-orphans"],
                                   report=presenter.info)


def wait_until_ready(docs: Documents) -> dict[str, str]:
    """After `up -d`: wait (bounded) until every service listens; return the ones that do not."""
    timeout = float(os.environ.get("DECNET_READY_TIMEOUT", "60"))
    return readiness.wait_ready(docs.state["deployment"], docs.state["deckies"], timeout,
                                progress=lambda text: presenter.step(6, text))


# --- status ---------------------------------------------------------------------

def load_state_or_warn() -> dict | None:
    """The state file, or None (with a warning) when it is unusable: labels still tell the truth."""
    try:
        return statefile.load()
    except StateError as exc:
        presenter.info(f"warning: {exc}; using runtime labels only")
        return None


def current_deployment(state: dict | None) -> str | None:
    """The state's deployment; without a usable state, the one the runtime labels show."""
    if state is not None:
        return state["deployment"]
    found = sorted(docker_api.deployments())
    if len(found) > 1:
        raise DecnetError(f"no usable state file and several deployments found by label ({', '.join(found)}); "
                          "set DECNET_STATE_DIR to the right state directory")
    if found:
        presenter.info(f"note: no usable state in {paths.state_dir()}; deployment {found[0]!r} found by its labels")
    return found[0] if found else None


def status_report() -> dict:
    state = load_state_or_warn()
    deployment = current_deployment(state)
    found = docker_api.containers(deployment) if deployment else []
    return report.summarize(deployment, state, found)


# --- teardown -------------------------------------------------------------------

def teardown_decky(decky: str) -> None:
    """Remove every container of one decky (base included), its route, and its place in the state."""
    state = statefile.load()
    deployment = current_deployment(state)
    found = docker_api.containers(deployment, decky) if deployment else []
    in_state = state is not None and any(d["name"] == decky for d in state["deckies"])
    if not found and not in_state:
        raise DecnetError(f"no decky named {decky!r} in deployment {deployment or '(none)'}; see 'inv status'")
    removed = docker_api.remove_containers(found)
    presenter.step("-", f"removed {len(removed)} containers of {decky}: {', '.join(removed) or 'none'}")
    if state is None:
        return
    config = config_from_state(state, str(paths.state_file())).without_decky(decky)
    docs = render_all(config, paths.state_dir())
    statefile.save(docs.state)
    write_compose(docs)
    if hostnet.interface_exists(docs.state["host"]["shim"]):
        hostnet.shim_up(docs.state)
        presenter.step("-", f"route {next(d['ip'] for d in state['deckies'] if d['name'] == decky)}/32 removed")
    presenter.step("-", f"state updated: {len(docs.state['deckies'])} deckies left")


def teardown_all() -> list[str]:
    """Remove containers, shim, network and state; keep going past errors and return them."""
    state = load_state_or_warn()
    deployment = current_deployment(state)
    if deployment is None:
        presenter.info("nothing to tear down: no state file and no labelled containers or networks")
        _remove_files()
        return []
    errors: list[str] = []
    project = state["project"] if state else names.project_name(deployment)
    compose_file = Path(state["compose_file"]) if state else paths.compose_file()

    def attempt(label: str, action) -> None:
        try:
            result = action()
            presenter.step("-", f"{label}: {result}")
        except DecnetError as exc:
            errors.append(f"{label}: {exc}")
            presenter.info(f"{label} failed: {exc}")

    if compose_file.exists():
        attempt("compose down", lambda: compose_cli.compose(project, compose_file, ["down", "--remove-orphans", "-t", "5"])
                or "done")
    attempt("containers", lambda: f"{len(docker_api.remove_containers(docker_api.containers(deployment)))} left over removed")
    shim = state["host"]["shim"] if state else names.shim_name(deployment)
    attempt("host shim", lambda: hostnet.shim_down(shim, deployment) or f"{shim} gone")
    network = state["network"]["name"] if state else names.network_name(deployment)
    attempt("network", lambda: f"{network} removed" if docker_api.remove_network(network, deployment) else f"{network} absent")
    if not errors:
        _remove_files()
        presenter.step("-", "state cleared")
    return errors


def _remove_files() -> None:
    statefile.remove()
    paths.compose_file().unlink(missing_ok=True)
    (paths.state_dir() / names.BUILD_FILE).unlink(missing_ok=True)
    shutil.rmtree(paths.build_root(), ignore_errors=True)


# --- after a reboot ---------------------------------------------------------------

def restore() -> list[str]:
    """Re-establish what a reboot loses (the host shim and its routes) and revive deaf service
    containers; idempotent, and no container that works is recreated."""
    state = statefile.load()
    if state is None:
        raise DecnetError(f"nothing to restore: no state file in {paths.state_dir()}")
    done = []
    shim = state["host"]["shim"]
    missing = not hostnet.interface_exists(shim)
    hostnet.shim_up(state)
    done.append(f"host shim {shim} {'re-created' if missing else 'checked'} with {len(state['host']['routes'])} routes")
    revived = docker_api.revive_dependants(state["deployment"])
    done.append(f"{len(revived)} service containers restarted{': ' + ', '.join(revived) if revived else ''}")
    return done
