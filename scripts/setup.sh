#!/usr/bin/env bash
# One-shot, idempotent setup of a Debian 12 root machine for DECNET:
# apt packages, the Python venv, Compose v2 as a docker CLI plugin, a running dockerd,
# and the offline base image. Safe to run again; each step skips what is already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

log() { printf '[setup] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: must run as root (it installs packages and starts dockerd); rerun with sudo" >&2
    exit 1
fi

APT_PACKAGES=(docker.io debootstrap bats iproute2 procps systemd python3 python3-venv ca-certificates
              netcat-openbsd curl openssh-client iputils-ping sshpass openssl nmap
              redis-tools default-mysql-client postgresql-client mosquitto-clients smbclient rsyslog)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing apt packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's python (pitfall: another python3 may come first on PATH).
if [ ! -x "$VENV/bin/inv" ] || [ "$ROOT/pyproject.toml" -nt "$VENV/.installed" ]; then
    log "creating venv $VENV"
    /usr/bin/python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e "$ROOT[test]"
    touch "$VENV/.installed"
fi

# Compose v2 CLI plugin (Debian 12 only ships the old v1, which must never be used).
if [ ! -x "$PLUGIN_DIR/docker-compose" ]; then
    log "installing docker compose plugin"
    mkdir -p "$PLUGIN_DIR"
    install -m 0755 "$VENV/bin/docker-compose" "$PLUGIN_DIR/docker-compose"
fi

"$ROOT/scripts/dockerd-up.sh"
"$ROOT/scripts/base-image.sh"
log "ready"
