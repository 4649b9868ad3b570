#!/usr/bin/env bash
# Start dockerd in the background unless a daemon already answers; wait until it does.
set -euo pipefail

LOG=${DECNET_DOCKERD_LOG:-/var/log/decnet-dockerd.log}

answers() { docker info >/dev/null 2>&1; }

# A dockerd that is still starting or shutting down: let it settle first.
for _ in $(seq 1 60); do
    answers && exit 0
    pgrep -x dockerd >/dev/null || break
    sleep 0.5
done
if pgrep -x dockerd >/dev/null; then
    echo "dockerd-up.sh: a dockerd runs but does not answer; stop it (pkill -x dockerd) and run this again" >&2
    exit 1
fi
echo "[dockerd] starting (log: $LOG)"
nohup dockerd >>"$LOG" 2>&1 &
for _ in $(seq 1 60); do
    if answers; then
        echo "[dockerd] up"
        exit 0
    fi
    sleep 0.5
done
echo "dockerd-up.sh: dockerd did not answer within 30 s; see $LOG" >&2
tail -n 20 "$LOG" | cut -c1-300 >&2 || true
exit 1
