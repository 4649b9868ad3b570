"""Names derived from a deployment name, so teardown can find them even without state."""
import hashlib

LABEL_PREFIX = "decnet"
LABEL_DEPLOYMENT = "decnet.deployment"
LABEL_DECKY = "decnet.decky"
LABEL_SERVICE = "decnet.service"      # "base" for the address-holding container
LABEL_ROLE = "decnet.role"            # base | service
LABEL_IP = "decnet.ip"
LABEL_HOSTNAME = "decnet.hostname"
LABEL_MANAGED = "decnet.managed"      # on networks: "true"

STATE_FILE = "decnet-state.json"
COMPOSE_FILE = "decnet-compose.yml"
BUILD_FILE = "decnet-build.yml"
BUILD_DIR = "build"


def project_name(deployment: str) -> str:
    return deployment


def network_name(deployment: str) -> str:
    return f"decnet-{deployment}"


def shim_name(deployment: str) -> str:
    """Host shim interface; Linux names are at most 15 characters."""
    name = f"dn-{deployment}"
    if len(name) <= 15:
        return name
    return "dn-" + hashlib.sha1(deployment.encode()).hexdigest()[:12]


def base_service(decky: str) -> str:
    return decky


def service_container(decky: str, service: str) -> str:
    return f"{decky}-{service}"


def owner_marker(deployment: str) -> str:
    """The alias host-shim.sh puts on (and checks before deleting) our interfaces."""
    return f"decnet:{deployment}"
