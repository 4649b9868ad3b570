#!/usr/bin/env bats
# scripts/test-lan.sh with non-default names (env overrides) so it never fights the real
# test LAN (dn-lan0 / dn-attacker). Teardown removes everything the test made.

SCRIPT="$BATS_TEST_DIRNAME/../../scripts/test-lan.sh"
export DECNET_LAN_PARENT=dn-btlan0
export DECNET_LAN_NS=dn-btns
export DECNET_LAN_ATTACKER=10.213.8.2/24
export DECNET_LAN_PEER=dn-btatk0

cleanup() {
    [ -e "/run/netns/$DECNET_LAN_NS" ] && ip netns del "$DECNET_LAN_NS" 2>/dev/null || true
    local l
    for l in "$DECNET_LAN_PARENT" dn-btlanx; do
        [ -e "/sys/class/net/$l" ] && ip link del "$l" 2>/dev/null || true
    done
}

setup() {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
    cleanup
}

teardown() {
    cleanup
}

snapshot() {
    ip -o -d link show dev "$DECNET_LAN_PARENT"
    ip -o addr show dev "$DECNET_LAN_PARENT"
    ip -n "$DECNET_LAN_NS" -o -d link show
    ip -n "$DECNET_LAN_NS" -o addr show
    ip -n "$DECNET_LAN_NS" route show table all
}

@test "status is down before up" {
    run "$SCRIPT" status
    [ "$status" -eq 0 ]
    [ "$output" = down ]
}

@test "up creates the host end and the attacker namespace" {
    run "$SCRIPT" up
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    # host end: veth, up, marker, no address at all
    ip -o -d link show dev "$DECNET_LAN_PARENT" | grep -q ' veth '
    ip -o link show dev "$DECNET_LAN_PARENT" | grep -q '[<,]UP[,>]'
    [ "$(cat /sys/class/net/$DECNET_LAN_PARENT/ifalias)" = decnet-test-lan ]
    [ -z "$(ip -o addr show dev "$DECNET_LAN_PARENT")" ]
    [ "$(cat /proc/sys/net/ipv6/conf/$DECNET_LAN_PARENT/disable_ipv6)" = 1 ]
    # the host has no route into the test subnet through it
    [ -z "$(ip -4 route show dev "$DECNET_LAN_PARENT")" ]
    # attacker end in the namespace
    [ -e "/run/netns/$DECNET_LAN_NS" ]
    ip -n "$DECNET_LAN_NS" -o link show dev "$DECNET_LAN_PEER" | grep -q '[<,]UP[,>]'
    ip -n "$DECNET_LAN_NS" -o link show dev lo | grep -q '[<,]UP[,>]'
    [ "$(ip -n "$DECNET_LAN_NS" -4 -o addr show dev "$DECNET_LAN_PEER" | awk '{print $4}')" = 10.213.8.2/24 ]
    [ -z "$(ip -n "$DECNET_LAN_NS" -6 -o addr show)" ]
    [ "$(ip netns exec "$DECNET_LAN_NS" cat /proc/sys/net/ipv6/conf/$DECNET_LAN_PEER/disable_ipv6)" = 1 ]
    # no default route in the namespace
    [ -z "$(ip -n "$DECNET_LAN_NS" -4 route show default)" ]
    [ "$(ip -n "$DECNET_LAN_NS" -4 route show | sed 's/ *$//')" = "10.213.8.0/24 dev $DECNET_LAN_PEER proto kernel scope link src 10.213.8.2" ]
    # the two ends are one veth pair
    [ "$(cat /sys/class/net/$DECNET_LAN_PARENT/iflink)" = "$(ip netns exec "$DECNET_LAN_NS" cat /sys/class/net/$DECNET_LAN_PEER/ifindex)" ]
    run "$SCRIPT" status
    [ "$output" = up ]
}

@test "up twice is a no-op" {
    run "$SCRIPT" up
    [ "$status" -eq 0 ]
    before=$(snapshot)
    run "$SCRIPT" up
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == *"already up"* ]]
    [ "$(snapshot)" = "$before" ]
}

@test "up repairs a missing attacker address" {
    run "$SCRIPT" up
    [ "$status" -eq 0 ]
    ip -n "$DECNET_LAN_NS" addr flush dev "$DECNET_LAN_PEER"
    run "$SCRIPT" status
    [ "$output" = down ]
    run "$SCRIPT" up
    [ "$status" -eq 0 ]
    [ "$(ip -n "$DECNET_LAN_NS" -4 -o addr show dev "$DECNET_LAN_PEER" | awk '{print $4}')" = 10.213.8.2/24 ]
    run "$SCRIPT" status
    [ "$output" = up ]
}

@test "down removes both ends and the namespace; down twice is fine" {
    run "$SCRIPT" up
    [ "$status" -eq 0 ]
    run "$SCRIPT" down
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [ ! -e "/sys/class/net/$DECNET_LAN_PARENT" ]
    [ ! -e "/run/netns/$DECNET_LAN_NS" ]
    run "$SCRIPT" down
    [ "$status" -eq 0 ]
    run "$SCRIPT" status
    [ "$output" = down ]
}

@test "down and up refuse an unmarked interface of that name (exit 5) and keep it" {
    ip link add "$DECNET_LAN_PARENT" type veth peer name dn-btlanx
    run "$SCRIPT" down
    [ "$status" -eq 5 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} == "test-lan.sh: interface $DECNET_LAN_PARENT exists and is not ours (alias '')"* ]]
    [ -e "/sys/class/net/$DECNET_LAN_PARENT" ]
    run "$SCRIPT" up
    [ "$status" -eq 5 ]
    [ -e "/sys/class/net/$DECNET_LAN_PARENT" ]
    [ ! -e "/run/netns/$DECNET_LAN_NS" ]
    [ -z "$(cat /sys/class/net/$DECNET_LAN_PARENT/ifalias)" ]
}

@test "bad overrides and commands exit 2" {
    DECNET_LAN_PARENT='x;rm -rf /' run "$SCRIPT" up
    [ "$status" -eq 2 ]
    [ "${#lines[@]}" -eq 1 ]
    DECNET_LAN_ATTACKER=10.213.8.2 run "$SCRIPT" up
    [ "$status" -eq 2 ]
    DECNET_LAN_NS='../x' run "$SCRIPT" up
    [ "$status" -eq 2 ]
    run "$SCRIPT" sideways
    [ "$status" -eq 2 ]
    [ ! -e "/run/netns/$DECNET_LAN_NS" ]
}
