#!/usr/bin/env bash
# Start dockerd in the background unless a daemon already answers; wait until it does.
set -euo pipefail

LOG=${DECNET_DOCKERD_LOG:-/var/log/decnet-dockerd.log}

if docker info >/dev/null 2>&1; then
    exit 0
fi
echo "[dockerd] starting (log: $LOG)"
nohup dockerd >"$LOG" 2>&1 &
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        echo "[dockerd] up"
        exit 0
    fi
    sleep 0.5
done
echo "dockerd-up.sh: dockerd did not answer within 30 s; see $LOG" >&2
tail -n 20 "$LOG" >&2 || true
exit 1
