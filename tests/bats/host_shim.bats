#!/usr/bin/env bats
# scripts/host-shim.sh against real interfaces: a private veth pair (dn-bt0 <-> dn-bt1, both
# up, no addresses) is the macvlan parent; the shim and its routes use 10.213.9.0/24 only.
# Nothing is routed via eth0; teardown removes every interface the test made.

SCRIPT="$BATS_TEST_DIRNAME/../../scripts/host-shim.sh"
PARENT=dn-bt0
PEER=dn-bt1
SHIM=dn-bts0
OTHER=dn-bts1
HOST=10.213.9.1
OWNER=btest

cleanup() {
    [ -z "${NC_PID:-}" ] || kill "$NC_PID" 2>/dev/null || true
    [ -e /run/netns/dn-btdk ] && ip netns del dn-btdk 2>/dev/null || true
    local l
    for l in "$SHIM" "$OTHER" "$PARENT" "$PEER" dn-bts-x; do
        [ -e "/sys/class/net/$l" ] && ip link del "$l" 2>/dev/null || true
    done
}

setup() {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
    cleanup
    ip link add "$PARENT" type veth peer name "$PEER"
    local l
    for l in "$PARENT" "$PEER"; do
        sysctl -q -w "net/ipv6/conf/$l/disable_ipv6=1"
        ip link set dev "$l" up
    done
}

teardown() {
    cleanup
}

shim_up() { # shim_up ADDR...: "up" with the test's parent, shim, host address and owner
    run "$SCRIPT" up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip "$HOST" --owner "$OWNER" "$@"
}

routes() { ip -4 route show dev "$SHIM" | sed 's/ *$//' | sort; }
expected_routes() { local a; for a in "$@"; do echo "$a scope link src $HOST"; done | sort; }
snapshot() { # everything "up" may change about the shim
    ip -o -d link show dev "$SHIM"
    cat "/sys/class/net/$SHIM/ifalias"
    ip -4 -o addr show dev "$SHIM"
    ip -4 route show table all dev "$SHIM"
}
no_dn_bts() { if ip -o link show | grep -q "dn-bts"; then return 1; fi; }

@test "probe macvlan succeeds and leaves nothing behind" {
    run "$SCRIPT" probe --driver macvlan --parent "$PARENT"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    ! ip -o link show | grep -q 'dn-probe' || false
}

@test "probe ipvlan succeeds or exits 3 with one line about ipvlan" {
    run "$SCRIPT" probe --driver ipvlan --parent "$PARENT"
    if [ "$status" -eq 0 ]; then
        [ -z "$output" ]
    else
        [ "$status" -eq 3 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ ${lines[0]} == "host-shim.sh: the kernel has no ipvlan support (ip: "*"); use network.driver: macvlan or load the ipvlan module" ]]
    fi
    ! ip -o link show | grep -q 'dn-probe' || false
}

@test "probe on a missing parent exits 4" {
    run "$SCRIPT" probe --driver macvlan --parent dn-bt-missing
    [ "$status" -eq 4 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} == "host-shim.sh: interface dn-bt-missing does not exist; "* ]]
}

@test "up on a missing parent exits 4 and creates nothing" {
    run "$SCRIPT" up --driver macvlan --parent dn-bt-missing --shim "$SHIM" --host-ip "$HOST" --owner "$OWNER" 10.213.9.10
    [ "$status" -eq 4 ]
    no_dn_bts
}

@test "up creates a marked macvlan shim with one /32 address and exactly the given /32 routes" {
    # stdout stays clean (a note may go to stderr)
    out=$("$SCRIPT" up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip "$HOST" --owner "$OWNER" 10.213.9.10 10.213.9.11 2>/dev/null)
    [ -z "$out" ]
    # type and parent
    ip -o -d link show dev "$SHIM" | grep -q "$SHIM@$PARENT:"
    ip -o -d link show dev "$SHIM" | grep -q 'macvlan mode bridge'
    # marker
    [ "$(cat /sys/class/net/$SHIM/ifalias)" = "decnet:$OWNER" ]
    # exactly one IPv4 address, HOST/32
    [ "$(ip -4 -o addr show dev "$SHIM" | awk '{print $4}')" = "$HOST/32" ]
    # up
    ip -o link show dev "$SHIM" | grep -q '[<,]UP[,>]'
    # routes: exactly the /32s, nothing wider
    [ "$(routes)" = "$(expected_routes 10.213.9.10 10.213.9.11)" ]
    ! ip -4 route show dev "$SHIM" | awk '{print $1}' | grep -q / || false
    ! ip -4 route show | grep -q '^10\.213\.9\.0/' || false
    # the kernel now sends traffic for a decky via the shim, not the default route
    ip route get 10.213.9.10 | grep -q "dev $SHIM src $HOST"
    # no IPv6 chatter from the shim
    [ "$(cat /proc/sys/net/ipv6/conf/$SHIM/disable_ipv6)" = 1 ]
}

@test "up is idempotent: a second run changes nothing" {
    shim_up 10.213.9.10 10.213.9.11
    [ "$status" -eq 0 ]
    before=$(snapshot)
    ifindex=$(cat /sys/class/net/$SHIM/ifindex)
    shim_up 10.213.9.10 10.213.9.11
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ "$(snapshot)" = "$before" ]
    [ "$(cat /sys/class/net/$SHIM/ifindex)" = "$ifindex" ]
}

@test "up with a different address list converges" {
    shim_up 10.213.9.10 10.213.9.11
    [ "$status" -eq 0 ]
    ifindex=$(cat /sys/class/net/$SHIM/ifindex)
    shim_up 10.213.9.11 10.213.9.12 10.213.9.13
    [ "$status" -eq 0 ]
    [ "$(routes)" = "$(expected_routes 10.213.9.11 10.213.9.12 10.213.9.13)" ]
    [ "$(cat /sys/class/net/$SHIM/ifindex)" = "$ifindex" ]
}

@test "up with no addresses removes all routes" {
    shim_up 10.213.9.10 10.213.9.11
    [ "$status" -eq 0 ]
    shim_up
    [ "$status" -eq 0 ]
    [ -z "$(routes)" ]
    [ "$(ip -4 -o addr show dev "$SHIM" | awk '{print $4}')" = "$HOST/32" ]
}

@test "up removes foreign addresses and wider or extra routes on its own shim" {
    shim_up 10.213.9.10
    [ "$status" -eq 0 ]
    ip addr add 10.213.9.77/24 dev "$SHIM"
    ip route add 10.213.9.10 dev "$SHIM" metric 7
    ip route add 10.213.9.128/25 dev "$SHIM"
    ip route replace 10.213.9.10 dev "$SHIM" # same key, without src
    shim_up 10.213.9.10
    [ "$status" -eq 0 ]
    [ "$(ip -4 -o addr show dev "$SHIM" | awk '{print $4}')" = "$HOST/32" ]
    [ "$(routes)" = "$(expected_routes 10.213.9.10)" ]
}

@test "up fixes a shim of ours that lost its address and went down" {
    shim_up 10.213.9.10
    [ "$status" -eq 0 ]
    ip addr flush dev "$SHIM"
    ip link set dev "$SHIM" down
    shim_up 10.213.9.10
    [ "$status" -eq 0 ]
    ip -o link show dev "$SHIM" | grep -q '[<,]UP[,>]'
    [ "$(ip -4 -o addr show dev "$SHIM" | awk '{print $4}')" = "$HOST/32" ]
    [ "$(routes)" = "$(expected_routes 10.213.9.10)" ]
}

@test "up refuses an existing interface without the marker (exit 5) and leaves it alone" {
    ip link add "$SHIM" link "$PARENT" type macvlan mode bridge
    before=$(ip -o -d link show dev "$SHIM")
    shim_up 10.213.9.10
    [ "$status" -eq 5 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "${lines[0]}" = "host-shim.sh: interface $SHIM exists and is not ours (alias ''); remove or rename it" ]
    [ "$(ip -o -d link show dev "$SHIM")" = "$before" ]
    [ -z "$(ip -4 -o addr show dev "$SHIM")" ]
    [ -z "$(ip -4 route show dev "$SHIM")" ]
}

@test "up refuses a shim marked for another owner" {
    shim_up 10.213.9.10
    [ "$status" -eq 0 ]
    run "$SCRIPT" up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip "$HOST" --owner other 10.213.9.11
    [ "$status" -eq 5 ]
    [[ $output == *"(alias 'decnet:$OWNER')"* ]]
    [ "$(routes)" = "$(expected_routes 10.213.9.10)" ]
}

@test "down removes the shim and its routes; down twice is fine" {
    shim_up 10.213.9.10 10.213.9.11
    [ "$status" -eq 0 ]
    run "$SCRIPT" down --shim "$SHIM" --owner "$OWNER"
    [ "$status" -eq 0 ]
    [ ! -e "/sys/class/net/$SHIM" ]
    ! ip -4 route show | grep -q '10\.213\.9\.' || false
    run "$SCRIPT" down --shim "$SHIM" --owner "$OWNER"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    # the parent is untouched
    [ -e "/sys/class/net/$PARENT" ]
}

@test "down refuses (exit 5) and keeps an interface of that name without the marker" {
    ip link add "$OTHER" link "$PARENT" type macvlan mode bridge
    run "$SCRIPT" down --shim "$OTHER" --owner "$OWNER"
    [ "$status" -eq 5 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "${lines[0]}" = "host-shim.sh: interface $OTHER exists and is not ours (alias ''); remove or rename it" ]
    [ -e "/sys/class/net/$OTHER" ]
    # a marker for another deployment is not ours either
    ip link set dev "$OTHER" alias "decnet:someoneelse"
    run "$SCRIPT" down --shim "$OTHER" --owner "$OWNER"
    [ "$status" -eq 5 ]
    [ -e "/sys/class/net/$OTHER" ]
}

@test "bad arguments exit 2 with one line on stderr and create nothing" {
    local good=(--driver macvlan --parent "$PARENT" --host-ip "$HOST" --owner "$OWNER")
    check() {
        run "$SCRIPT" "$@"
        [ "$status" -eq 2 ] || { echo "status $status for: $*"; return 1; }
        [ "${#lines[@]}" -eq 1 ] || { echo "lines ${#lines[@]} for: $*"; return 1; }
        [[ ${lines[0]} == "host-shim.sh: "* ]]
        # stderr only
        [ -z "$("$SCRIPT" "$@" 2>/dev/null)" ]
    }
    check up "${good[@]}" --shim 'x;rm -rf /' 10.213.9.10
    check up "${good[@]}" --shim 'dn-bts-waytoolong' 10.213.9.10
    check up "${good[@]}" --shim '-dnbts' 10.213.9.10
    check up "${good[@]}" --shim '' 10.213.9.10
    check up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip 10.213.9.256 --owner "$OWNER"
    check up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip 10.213.9 --owner "$OWNER"
    check up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip 10.213.9.01 --owner "$OWNER"
    check up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip '10.213.9.1 ' --owner "$OWNER"
    check up "${good[@]}" --shim "$SHIM" 10.213.9.10/24
    check up "${good[@]}" --shim "$SHIM" 'a.b.c.d'
    check up "${good[@]}" --shim "$SHIM" 10.213.9.10 $'10.213.9.11\n10.213.9.12'
    check up --driver bridge --parent "$PARENT" --shim "$SHIM" --host-ip "$HOST" --owner "$OWNER"
    check up --driver macvlan --parent 'dn bt0' --shim "$SHIM" --host-ip "$HOST" --owner "$OWNER"
    check up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip "$HOST" --owner 'Bad;Owner'
    check up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip "$HOST"
    check up --driver macvlan --parent "$PARENT" --shim "$SHIM" --host-ip "$HOST" --owner "$OWNER" --bogus
    check down --shim 'x;rm -rf /' --owner "$OWNER"
    check down --shim "$SHIM" --owner ''
    check probe --driver ipvlan --parent '../../etc'
    check probe --driver macvlan
    check frobnicate
    check
    check up --print "${good[@]}" --shim "$SHIM"
    no_dn_bts
    [ ! -e "/sys/class/net/x;rm -rf " ]
}

@test "--print up --driver ipvlan prints the commands and touches nothing" {
    links_before=$(ip -o link show | awk -F': ' '{print $2}' | sort)
    routes_before=$(ip -4 route show table all)
    run "$SCRIPT" --print up --driver ipvlan --parent "$PARENT" --shim "$SHIM" --host-ip "$HOST" --owner "$OWNER" 10.213.9.10 10.213.9.11
    [ "$status" -eq 0 ]
    printf '%s\n' "${lines[@]}" | grep -qx "ip link add $SHIM link $PARENT type ipvlan mode l2"
    printf '%s\n' "${lines[@]}" | grep -qx "ip link set dev $SHIM alias decnet:$OWNER"
    printf '%s\n' "${lines[@]}" | grep -qx "ip addr add $HOST/32 dev $SHIM"
    printf '%s\n' "${lines[@]}" | grep -qx "ip link set dev $SHIM up"
    printf '%s\n' "${lines[@]}" | grep -qx "ip route replace 10.213.9.10/32 dev $SHIM src $HOST"
    printf '%s\n' "${lines[@]}" | grep -qx "ip route replace 10.213.9.11/32 dev $SHIM src $HOST"
    # link before address, address before routes
    add=$(printf '%s\n' "${lines[@]}" | grep -n '^ip link add' | cut -d: -f1)
    addr=$(printf '%s\n' "${lines[@]}" | grep -n '^ip addr add' | cut -d: -f1)
    route=$(printf '%s\n' "${lines[@]}" | grep -n '^ip route replace' | head -n1 | cut -d: -f1)
    [ "$add" -lt "$addr" ]
    [ "$addr" -lt "$route" ]
    # nothing wider than a /32
    ! printf '%s\n' "${lines[@]}" | grep '^ip route' | grep -v '/32 dev' || false
    [ "$(ip -o link show | awk -F': ' '{print $2}' | sort)" = "$links_before" ]
    [ "$(ip -4 route show table all)" = "$routes_before" ]
}

@test "--print works without the parent and for macvlan, probe and down" {
    run "$SCRIPT" --print up --driver macvlan --parent dn-bt-missing --shim "$SHIM" --host-ip "$HOST" --owner "$OWNER"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "ip link add $SHIM link dn-bt-missing type macvlan mode bridge" ]
    ! printf '%s\n' "${lines[@]}" | grep -q '^ip route' || false
    run "$SCRIPT" --print probe --driver ipvlan --parent "$PARENT"
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^ip\ link\ add\ dn-probe[0-9]+\ link\ $PARENT\ type\ ipvlan\ mode\ l2$ ]]
    [[ ${lines[1]} =~ ^ip\ link\ del\ dn-probe[0-9]+$ ]]
    run "$SCRIPT" --print down --shim "$SHIM" --owner "$OWNER"
    [ "$status" -eq 0 ]
    no_dn_bts
}

@test "hairpin: the host reaches a macvlan child of the same parent through the shim" {
    # a "decky": a macvlan child of the parent in its own namespace, 10.213.9.10/24
    ip netns add dn-btdk
    ip netns exec dn-btdk sysctl -q -w net.ipv6.conf.all.disable_ipv6=1
    ip netns exec dn-btdk sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
    ip link add dn-btm0 link "$PARENT" type macvlan mode bridge
    ip link set dev dn-btm0 netns dn-btdk
    ip -n dn-btdk addr add 10.213.9.10/24 dev dn-btm0
    ip -n dn-btdk link set dev dn-btm0 up
    ip -n dn-btdk link set dev lo up
    shim_up 10.213.9.10
    [ "$status" -eq 0 ]
    # traffic rule: only ever connect once the kernel routes the address via the shim
    ip route get 10.213.9.10 | grep -q "^10.213.9.10 dev $SHIM src $HOST "
    ip netns exec dn-btdk nc -l 10.213.9.10 7777 >"$BATS_TEST_TMPDIR/got" 2>/dev/null &
    NC_PID=$!
    for _ in $(seq 50); do
        ip netns exec dn-btdk ss -ltn 2>/dev/null | grep -q '10.213.9.10:7777' && break
        sleep 0.1
    done
    echo hello-decky | nc -N -w 3 10.213.9.10 7777
    wait "$NC_PID" || true
    NC_PID=
    [ "$(cat "$BATS_TEST_TMPDIR/got")" = hello-decky ]
}
