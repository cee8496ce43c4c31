# Sourced by the live benchmarks: a veth pair between two private network namespaces, their
# removal on exit, and waiting for a started capture. Nothing made here can reach another host:
# the pair has no route out of the two namespaces.
#
# The caller sets ns_a, ns_b, veth_a, veth_b (interface names within 15 characters) and the
# array pids (the wrappers it starts: timeout, /usr/bin/time), then calls netns_pair.

netns_cleanup() {
    local p
    # The started pids are wrappers: stop their children first.
    for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    # Deleting a namespace deletes the veth end inside it, and so its peer.
    ip netns del "$ns_a" 2>/dev/null || true
    ip netns del "$ns_b" 2>/dev/null || true
    ip link del "$veth_a" 2>/dev/null || true
}

# Makes the namespaces and the pair (links up, MTU 1500, no addresses) and arranges their removal.
netns_pair() {
    local n
    for n in "$ns_a" "$ns_b"; do
        ! ip netns list | grep -qw "$n" || die "namespace $n exists already"
    done
    trap netns_cleanup EXIT
    trap 'exit 130' INT TERM
    ip netns add "$ns_a"
    ip netns add "$ns_b"
    ip link add "$veth_a" netns "$ns_a" type veth peer name "$veth_b" netns "$ns_b"
    ip -n "$ns_a" link set lo up
    ip -n "$ns_b" link set lo up
    ip -n "$ns_a" link set "$veth_a" mtu 1500 up
    ip -n "$ns_b" link set "$veth_b" mtu 1500 up
}

# Waits (up to 10 s) for a pattern in a file; fails if the process died first.
wait_for() {
    local file=$1 pattern=$2 pid=$3 i
    for i in $(seq 100); do
        grep -q "$pattern" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
