#!/usr/bin/env bash
# A virtual LAN for demos and tests, entirely inside this machine:
#
#   host: dn-lan0 (up, no address, alias "decnet-test-lan")  <- macvlan parent for deckies
#           |  veth pair
#   netns dn-attacker: dn-atk0 10.213.0.2/24, lo up, no default route  <- the "attacker"
#
# Usage: test-lan.sh up|down|status
# Env overrides: DECNET_LAN_PARENT (dn-lan0), DECNET_LAN_NS (dn-attacker),
#                DECNET_LAN_ATTACKER (10.213.0.2/24), DECNET_LAN_PEER (dn-atk0).
# IPv6 is disabled on both ends so nothing chatty is emitted. Run as root.
# Exit codes: 0 ok, 1 a command failed, 2 bad argument, 5 the parent exists and is not ours.
set -euo pipefail

PROG=test-lan.sh
MARKER=decnet-test-lan
PARENT=${DECNET_LAN_PARENT:-dn-lan0}
NS=${DECNET_LAN_NS:-dn-attacker}
ATTACKER=${DECNET_LAN_ATTACKER:-10.213.0.2/24}
PEER=${DECNET_LAN_PEER:-dn-atk0}

die() {
    local code=$1; shift
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit "$code"
}

run() { # run CMD...: fail with ip's first error line
    local err
    if ! err=$("$@" 2>&1 >/dev/null); then
        die 1 "'$*' failed: $(printf '%s\n' "$err" | sed -n '/[^[:space:]]/{p;q}')"
    fi
}

valid_ifname() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$ ]]; }
valid_cidr() {
    local re='^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})/([0-9]|[12][0-9]|3[0-2])$'
    [[ $1 =~ $re ]] || return 1
    local i
    for i in 1 2 3 4; do [ "${BASH_REMATCH[$i]}" -le 255 ] || return 1; done
}

valid_ifname "$PARENT" || die 2 "invalid DECNET_LAN_PARENT '$PARENT' (1-15 characters: letters, digits, _ . -)"
valid_ifname "$PEER" || die 2 "invalid DECNET_LAN_PEER '$PEER' (1-15 characters: letters, digits, _ . -)"
[[ $NS =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] || die 2 "invalid DECNET_LAN_NS '$NS' (letters, digits, _ . -)"
valid_cidr "$ATTACKER" || die 2 "invalid DECNET_LAN_ATTACKER '$ATTACKER' (expected A.B.C.D/NN)"
[ "$PARENT" != "$PEER" ] || die 2 "DECNET_LAN_PARENT and DECNET_LAN_PEER must differ"

link_exists() { [ -e "/sys/class/net/$1" ]; }
link_alias() { cat "/sys/class/net/$1/ifalias" 2>/dev/null || true; }
ns_exists() { [ -e "/run/netns/$NS" ]; }
in_ns() { ip netns exec "$NS" "$@"; }
peer_exists() { ns_exists && ip -n "$NS" link show dev "$PEER" >/dev/null 2>&1; }
is_up() { "$@" 2>/dev/null | head -n1 | grep -q '[<,]UP[,>]'; }

require_ours() {
    local alias
    alias=$(link_alias "$PARENT")
    [ "$alias" = "$MARKER" ] ||
        die 5 "interface $PARENT exists and is not ours (alias '$alias'); remove or rename it, or set DECNET_LAN_PARENT"
}

# the attacker's IPv4 addresses (CIDR), one a line
peer_addrs() {
    ip -n "$NS" -4 -o addr show dev "$PEER" 2>/dev/null |
        awk '{for (i = 1; i < NF; i++) if ($i == "inet") print $(i + 1)}'
}

# is the whole LAN in place? (read-only)
lan_up() {
    link_exists "$PARENT" && [ "$(link_alias "$PARENT")" = "$MARKER" ] || return 1
    is_up ip -o link show dev "$PARENT" || return 1
    peer_exists || return 1
    is_up ip -n "$NS" -o link show dev "$PEER" || return 1
    is_up ip -n "$NS" -o link show dev lo || return 1
    [ "$(peer_addrs)" = "$ATTACKER" ] || return 1
    # the peer must be the other end of our parent
    [ "$(cat "/sys/class/net/$PARENT/iflink")" = "$(in_ns cat "/sys/class/net/$PEER/ifindex" 2>/dev/null)" ] || return 1
    [ -z "$(ip -n "$NS" -4 route show default 2>/dev/null)" ] || return 1
    [ "$(cat "/proc/sys/net/ipv6/conf/$PARENT/disable_ipv6" 2>/dev/null || echo 1)" = 1 ] || return 1
    [ "$(in_ns cat "/proc/sys/net/ipv6/conf/$PEER/disable_ipv6" 2>/dev/null || echo 1)" = 1 ] || return 1
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die 1 "must run as root (it creates interfaces and a network namespace)"
}

no_ipv6() { # no_ipv6 [in_ns] IFACE
    local pre=()
    [ "$1" = in_ns ] && { pre=(ip netns exec "$NS"); shift; }
    if "${pre[@]}" test -e "/proc/sys/net/ipv6/conf/$1/disable_ipv6"; then
        run "${pre[@]}" sysctl -q -w "net/ipv6/conf/$1/disable_ipv6=1"
    fi
}

cmd_up() {
    need_root
    if lan_up; then
        echo "test LAN already up: $PARENT <-> $PEER in netns $NS ($ATTACKER)"
        return 0
    fi
    if link_exists "$PARENT"; then
        require_ours
        # ours but broken (e.g. its peer is not in the namespace): rebuild it
        local peer_idx
        peer_idx=$(in_ns cat "/sys/class/net/$PEER/ifindex" 2>/dev/null || true)
        if [ "$(cat "/sys/class/net/$PARENT/iflink")" != "$peer_idx" ]; then
            run ip link del "$PARENT"
        fi
    fi
    if ! ns_exists; then
        run ip netns add "$NS"
    fi
    # new interfaces in the namespace start with IPv6 off
    no_ipv6 in_ns default
    no_ipv6 in_ns all
    if ! link_exists "$PARENT"; then
        # a stale peer left in the namespace would block the name
        if peer_exists; then run ip -n "$NS" link del "$PEER"; fi
        run ip link add "$PARENT" type veth peer name "$PEER" netns "$NS"
    fi
    [ "$(link_alias "$PARENT")" = "$MARKER" ] || run ip link set dev "$PARENT" alias "$MARKER"
    no_ipv6 "$PARENT"
    no_ipv6 in_ns "$PEER"
    # host end: no IPv4 address at all (the deckies own the subnet, the shim gets a /32)
    local cidr
    while read -r cidr; do
        [ -z "$cidr" ] || run ip addr del "$cidr" dev "$PARENT"
    done < <(ip -4 -o addr show dev "$PARENT" | awk '{for (i = 1; i < NF; i++) if ($i == "inet") print $(i + 1)}')
    # attacker end: exactly the attacker address, no default route
    local have=0
    while read -r cidr; do
        [ -n "$cidr" ] || continue
        if [ "$cidr" = "$ATTACKER" ]; then have=1; else run ip -n "$NS" addr del "$cidr" dev "$PEER"; fi
    done < <(peer_addrs)
    [ "$have" -eq 1 ] || run ip -n "$NS" addr add "$ATTACKER" dev "$PEER"
    while [ -n "$(ip -n "$NS" -4 route show default 2>/dev/null)" ]; do
        run ip -n "$NS" route del default
    done
    is_up ip -n "$NS" -o link show dev lo || run ip -n "$NS" link set dev lo up
    is_up ip -o link show dev "$PARENT" || run ip link set dev "$PARENT" up
    is_up ip -n "$NS" -o link show dev "$PEER" || run ip -n "$NS" link set dev "$PEER" up
    echo "test LAN up: $PARENT <-> $PEER in netns $NS ($ATTACKER)"
}

cmd_down() {
    need_root
    local did=()
    if link_exists "$PARENT"; then
        require_ours
    fi
    # the host end first: deleting it takes its peer along at once, whereas a deleted
    # namespace is torn down asynchronously (and not at all while a process holds it open)
    if link_exists "$PARENT"; then
        run ip link del "$PARENT"
        did+=("$PARENT")
    fi
    if ns_exists; then
        run ip netns del "$NS"
        did+=("netns $NS")
    fi
    if [ "${#did[@]}" -eq 0 ]; then
        echo "test LAN already down ($PARENT, netns $NS)"
    else
        echo "test LAN down: removed $PARENT and netns $NS"
    fi
}

cmd_status() {
    if lan_up; then echo up; else echo down; fi
}

case ${1:-} in
    up) [ $# -eq 1 ] || die 2 "usage: $PROG up|down|status"; cmd_up ;;
    down) [ $# -eq 1 ] || die 2 "usage: $PROG up|down|status"; cmd_down ;;
    status) [ $# -eq 1 ] || die 2 "usage: $PROG up|down|status"; cmd_status ;;
    *) die 2 "usage: $PROG up|down|status" ;;
esac
