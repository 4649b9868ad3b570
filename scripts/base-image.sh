#!/usr/bin/env bash
# Build the offline base image every decky container runs on: debootstrap a minimal
# Debian bookworm with what the services need baked in, then `docker import` it.
# Idempotent: the tag carries a version; an image with that tag is never rebuilt.
# Nothing is pulled from a registry, ever.
set -euo pipefail

VERSION=2   # bump when PACKAGES change
PACKAGES=python3,python3-paramiko,python3-cffi-backend,iproute2
IMAGE=decnet-base
SUITE=bookworm

if docker image inspect "$IMAGE:v$VERSION" >/dev/null 2>&1; then
    docker tag "$IMAGE:v$VERSION" "$IMAGE:latest"
    echo "[base-image] $IMAGE:v$VERSION present"
    exit 0
fi

mirror=${DECNET_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)
fi
mirror=${mirror:-http://deb.debian.org/debian}

rootfs=$(mktemp -d /var/tmp/decnet-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "[base-image] debootstrap $SUITE ($PACKAGES) from $mirror"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" >/dev/null
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

echo "[base-image] importing $IMAGE:v$VERSION"
tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$IMAGE:v$VERSION" >/dev/null
docker tag "$IMAGE:v$VERSION" "$IMAGE:latest"
echo "[base-image] built $IMAGE:v$VERSION"
