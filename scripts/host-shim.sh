#!/usr/bin/env bash
# Host-side "shim" that lets the host reach its own macvlan/ipvlan children (the hairpin
# problem: a host never sees traffic between its parent NIC and the NIC's macvlan/ipvlan
# children). The shim is one more child of the same parent, owned by a DECNET deployment:
#   - its interface alias is the marker "decnet:<owner>"; nothing without it is ever touched;
#   - its only IPv4 address is HOST_IP/32 (no prefix route is created for a /32);
#   - its routes are exactly one /32 host route per decky address, never a wider block,
#     so traffic for addresses that are not deckies keeps its normal path.
#
# Usage:
#   host-shim.sh [--print] probe --driver macvlan|ipvlan --parent IF
#   host-shim.sh [--print] up    --driver macvlan|ipvlan --parent IF --shim NAME \
#                                --host-ip A.B.C.D --owner DEPLOYMENT [ADDR ...]
#   host-shim.sh [--print] down  --shim NAME --owner DEPLOYMENT
#
# --print: print each mutating command as one line on stdout instead of running it;
#          read-only queries treat the shim as absent and the parent as existing.
# Exit codes: 0 ok, 1 a command failed, 2 bad argument, 3 the kernel cannot create the link
# type (probe), 4 parent interface missing, 5 an interface of that name exists and is not ours.
set -euo pipefail

PROG=host-shim.sh
PRINT=0

die() { # die CODE MESSAGE: one line on stderr
    local code=$1; shift
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit "$code"
}
usage_error() { die 2 "$*"; }
note() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# run CMD...: a mutating command; printed in --print mode, else run with its error reported.
run() {
    if [ "$PRINT" -eq 1 ]; then
        printf '%s\n' "$*"
        return 0
    fi
    local err
    if ! err=$("$@" 2>&1 >/dev/null); then
        err=$(first_line "$err")
        die 1 "'$*' failed: ${err:-no error text}"
    fi
}

first_line() {
    local line
    while IFS= read -r line; do
        if [ -n "${line//[[:space:]]/}" ]; then
            printf '%s' "$line"
            return 0
        fi
    done <<<"$1"
}

# ---- validation -------------------------------------------------------------------------
valid_ifname() { [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$ ]]; }
valid_owner() { [[ $1 =~ ^[a-z0-9][a-z0-9_-]{0,31}$ ]]; }
valid_ipv4() {
    # strict dotted quad: four decimal octets 0-255, no leading zeros, nothing else
    local re='^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$'
    [[ $1 =~ $re ]] || return 1
    local i
    for i in 1 2 3 4; do
        [ "${BASH_REMATCH[$i]}" -le 255 ] || return 1
    done
}
printable() { # quote a user value for an error message without letting it span lines
    local v=${1//$'\n'/\\n}
    printf '%s' "${v//$'\r'/\\r}"
}

# ---- read-only queries (shim absent / parent present in --print mode) -------------------
link_exists() { [ -e "/sys/class/net/$1" ]; }
parent_exists() { [ "$PRINT" -eq 1 ] || link_exists "$1"; }
shim_exists() { [ "$PRINT" -eq 0 ] && link_exists "$1"; }
link_alias() { cat "/sys/class/net/$1/ifalias" 2>/dev/null || true; }

require_parent() {
    parent_exists "$1" ||
        die 4 "interface $1 does not exist; create it (e.g. scripts/test-lan.sh up) or set network.parent to an existing interface"
}

# require_ours NAME OWNER: the existing interface NAME must carry our marker
require_ours() {
    local alias
    alias=$(link_alias "$1")
    [ "$alias" = "decnet:$2" ] ||
        die 5 "interface $1 exists and is not ours (alias '$(printable "$alias")'); remove or rename it"
}

link_add_args() { # link_add_args NAME PARENT DRIVER -> the words after "ip link add"
    case $3 in
        macvlan) printf '%s\n' "$1" link "$2" type macvlan mode bridge ;;
        ipvlan) printf '%s\n' "$1" link "$2" type ipvlan mode l2 ;;
    esac
}

# is the existing link NAME a child of PARENT of the right kind and mode?
link_matches() {
    local name=$1 parent=$2 driver=$3 details
    details=$(ip -o -d link show dev "$name" 2>/dev/null) || return 1
    [[ $details == *": $name@$parent: "* ]] || return 1
    case $driver in
        macvlan) [[ $details =~ [[:space:]]macvlan[[:space:]]+mode[[:space:]]+bridge([[:space:]]|$) ]] ;;
        ipvlan) [[ $details =~ [[:space:]]ipvlan[[:space:]]+mode[[:space:]]+l2([[:space:]]|$) ]] ;;
    esac
}

# ---- argument parsing -------------------------------------------------------------------
DRIVER= PARENT= SHIM= HOST_IP= OWNER=
ADDRS=()

parse_opts() { # parse_opts ALLOWED_OPTS ALLOW_ADDRS "$@"
    local allowed=$1 allow_addrs=$2
    shift 2
    while [ $# -gt 0 ]; do
        case $1 in
            --driver | --parent | --shim | --host-ip | --owner)
                [[ " $allowed " == *" $1 "* ]] || usage_error "option $1 is not valid for $CMD"
                [ $# -ge 2 ] || usage_error "option $1 needs a value"
                case $1 in
                    --driver) DRIVER=$2 ;;
                    --parent) PARENT=$2 ;;
                    --shim) SHIM=$2 ;;
                    --host-ip) HOST_IP=$2 ;;
                    --owner) OWNER=$2 ;;
                esac
                shift 2
                ;;
            --print) usage_error "--print must come before the command" ;;
            --) shift; break ;;
            -*) usage_error "unknown option '$(printable "$1")'" ;;
            *)
                [ "$allow_addrs" = yes ] || usage_error "unexpected argument '$(printable "$1")'"
                ADDRS+=("$1")
                shift
                ;;
        esac
    done
    if [ $# -gt 0 ]; then
        [ "$allow_addrs" = yes ] || usage_error "unexpected argument '$(printable "$1")'"
        ADDRS+=("$@")
    fi
}

check_driver() {
    [ -n "$DRIVER" ] || usage_error "--driver is required (macvlan or ipvlan)"
    case $DRIVER in
        macvlan | ipvlan) ;;
        *) usage_error "invalid driver '$(printable "$DRIVER")' (expected macvlan or ipvlan)" ;;
    esac
}
check_ifname() { # check_ifname OPTION VALUE
    [ -n "$2" ] || usage_error "$1 is required"
    valid_ifname "$2" ||
        usage_error "invalid interface name for $1: '$(printable "$2")' (1-15 characters: letters, digits, _ . -; not starting with _ . -)"
}
check_owner() {
    [ -n "$OWNER" ] || usage_error "--owner is required"
    valid_owner "$OWNER" ||
        usage_error "invalid owner '$(printable "$OWNER")' (1-32 characters: a-z 0-9 _ -, starting with a letter or digit)"
}

# ---- commands -----------------------------------------------------------------------------
cmd_probe() {
    check_driver
    check_ifname --parent "$PARENT"
    require_parent "$PARENT"
    local name="dn-probe$$" args
    mapfile -t args < <(link_add_args "$name" "$PARENT" "$DRIVER")
    if [ "$PRINT" -eq 1 ]; then
        printf '%s\n' "ip link add ${args[*]}" "ip link del $name"
        return 0
    fi
    local err
    if err=$(ip link add "${args[@]}" 2>&1); then
        ip link del "$name" 2>/dev/null || true
        return 0
    fi
    # a failed add can still leave the link behind if someone raced us; never leave it
    link_exists "$name" && { ip link del "$name" 2>/dev/null || true; }
    err=$(first_line "$err")
    local other=macvlan
    [ "$DRIVER" = macvlan ] && other=ipvlan
    if [[ $err == *"Unknown device type"* || $err == *"not supported"* ]]; then
        die 3 "the kernel has no $DRIVER support (ip: $err); use network.driver: $other or load the $DRIVER module"
    fi
    die 3 "cannot create a $DRIVER link on $PARENT (ip: $err); a parent carries macvlan or ipvlan links, not both: use network.driver: $other or another parent"
}

cmd_up() {
    check_driver
    check_ifname --parent "$PARENT"
    check_ifname --shim "$SHIM"
    [ "$SHIM" != "$PARENT" ] || usage_error "--shim and --parent must differ"
    [ -n "$HOST_IP" ] || usage_error "--host-ip is required"
    valid_ipv4 "$HOST_IP" || usage_error "invalid --host-ip '$(printable "$HOST_IP")' (expected a dotted IPv4 address)"
    check_owner
    local a want=()
    local -A seen=()
    for a in "${ADDRS[@]}"; do
        valid_ipv4 "$a" || usage_error "invalid address '$(printable "$a")' (expected a dotted IPv4 address)"
        [ "$a" != "$HOST_IP" ] || usage_error "address $a is the shim's own --host-ip"
        [ -z "${seen[$a]+x}" ] || continue
        seen[$a]=1
        want+=("$a")
    done

    require_parent "$PARENT"
    lock "$SHIM"

    local args
    mapfile -t args < <(link_add_args "$SHIM" "$PARENT" "$DRIVER")
    if shim_exists "$SHIM"; then
        require_ours "$SHIM" "$OWNER"
        if ! link_matches "$SHIM" "$PARENT" "$DRIVER"; then
            note "$SHIM is not a $DRIVER child of $PARENT; recreating it"
            run ip link del "$SHIM"
            run ip link add "${args[@]}"
        fi
    else
        run ip link add "${args[@]}"
        [ "$PRINT" -eq 1 ] || note "created $SHIM ($DRIVER on $PARENT, owner $OWNER)"
    fi

    # marker
    if [ "$PRINT" -eq 1 ] || [ "$(link_alias "$SHIM")" != "decnet:$OWNER" ]; then
        run ip link set dev "$SHIM" alias "decnet:$OWNER"
    fi
    # the shim speaks IPv4 only: no IPv6 link-local, DAD or router solicitations on the LAN
    if [ "$PRINT" -eq 1 ]; then
        run sysctl -q -w "net/ipv6/conf/$SHIM/disable_ipv6=1"
    elif [ -e "/proc/sys/net/ipv6/conf/$SHIM/disable_ipv6" ] &&
        [ "$(cat "/proc/sys/net/ipv6/conf/$SHIM/disable_ipv6")" != 1 ]; then
        run sysctl -q -w "net/ipv6/conf/$SHIM/disable_ipv6=1"
    fi

    # the only IPv4 address is HOST_IP/32
    local have_host=0 cidr
    if shim_exists "$SHIM"; then
        while read -r cidr; do
            [ -n "$cidr" ] || continue
            if [ "$cidr" = "$HOST_IP/32" ]; then
                have_host=1
            else
                run ip addr del "$cidr" dev "$SHIM"
            fi
        done < <(ip -4 -o addr show dev "$SHIM" | awk '{for (i = 1; i < NF; i++) if ($i == "inet") print $(i + 1)}')
    fi
    [ "$have_host" -eq 1 ] || run ip addr add "$HOST_IP/32" dev "$SHIM"

    # up
    if [ "$PRINT" -eq 1 ] || ! ip -o link show dev "$SHIM" | grep -q '[<,]UP[,>]'; then
        run ip link set dev "$SHIM" up
    fi

    # routes: exactly one "ADDR scope link src HOST_IP" per wanted address, nothing else.
    local -A wanted=() ok=()
    for a in "${want[@]}"; do wanted[$a]=1; done
    if shim_exists "$SHIM"; then
        local line dst type metric tos w i words kept del
        while IFS= read -r line; do
            [ -n "$line" ] || continue
            read -r -a words <<<"$line"
            type=
            case ${words[0]} in
                unicast | local | broadcast | multicast | anycast | nat | throw | prohibit | blackhole | unreachable)
                    type=${words[0]}
                    words=("${words[@]:1}")
                    ;;
            esac
            dst=${words[0]} metric= tos= kept=()
            for ((i = 0; i < ${#words[@]}; i++)); do
                w=${words[$i]}
                case $w in
                    # state flags, not configuration
                    linkdown | dead | onlink | pervasive | offload | trap | rt_offload | rt_trap | rt_offload_failed) ;;
                    metric) metric=${words[$((i + 1))]:-}; kept+=("$w") ;;
                    tos | dsfield) tos=${words[$((i + 1))]:-}; kept+=("$w") ;;
                    *) kept+=("$w") ;;
                esac
            done
            if [ -z "$type$metric$tos" ] && [ -n "${wanted[$dst]+x}" ]; then
                # same key as a wanted route; if it differs, "ip route replace" below rewrites it
                [ "${kept[*]}" = "$dst scope link src $HOST_IP" ] && ok[$dst]=1
                continue
            fi
            del=(ip route del)
            [ -z "$type" ] || del+=("$type")
            del+=("$dst")
            [ -z "$tos" ] || del+=(tos "$tos")
            [ -z "$metric" ] || del+=(metric "$metric")
            del+=(dev "$SHIM")
            run "${del[@]}"
        done < <(ip -4 route show dev "$SHIM")
    fi
    for a in "${want[@]}"; do
        [ -n "${ok[$a]+x}" ] || run ip route replace "$a/32" dev "$SHIM" src "$HOST_IP"
    done
}

cmd_down() {
    check_ifname --shim "$SHIM"
    check_owner
    shim_exists "$SHIM" || return 0
    lock "$SHIM"
    shim_exists "$SHIM" || return 0
    require_ours "$SHIM" "$OWNER"
    run ip link del "$SHIM"
    note "removed $SHIM"
}

# serialize concurrent up/down runs (not needed for --print); one machine-wide lock file
lock() {
    [ "$PRINT" -eq 0 ] || return 0
    command -v flock >/dev/null 2>&1 || return 0
    local dir=/run/lock
    [ -d "$dir" ] && [ -w "$dir" ] || dir=${TMPDIR:-/tmp}
    exec 9>>"$dir/decnet-host-shim.lock"
    flock -w 30 9 || die 1 "another host-shim.sh run holds $dir/decnet-host-shim.lock"
}

# ---- main -------------------------------------------------------------------------------
if [ "${1:-}" = --print ]; then
    PRINT=1
    shift
fi
[ $# -ge 1 ] || usage_error "missing command (probe, up or down)"
CMD=$1
shift
case $CMD in
    probe) parse_opts "--driver --parent" no "$@"; cmd_probe ;;
    up) parse_opts "--driver --parent --shim --host-ip --owner" yes "$@"; cmd_up ;;
    down) parse_opts "--shim --owner" no "$@"; cmd_down ;;
    *) usage_error "unknown command '$(printable "$CMD")' (expected probe, up or down)" ;;
esac
