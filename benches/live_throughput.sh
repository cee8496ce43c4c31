#!/usr/bin/env bash
# Live-capture throughput check for `acrscope live` (a benchmark, not a test).
#
# Builds a private pair of network namespaces joined by a veth pair (MTU 1500,
# 10.99.0.1/30 <-> 10.99.0.2/30, addresses that exist only inside the namespaces),
# pushes TCP across with iperf3 and, on the receiving veth, captures with
# `acrscope live --format ndjson` and, in the same run, with `tcpdump -w /dev/null`
# as a peer. Reports kernel drops, CPU use (user+sys / wall) and peak RSS of each.
# Everything it creates is removed on exit, also on failure or Ctrl-C.
#
# Usage (as root; build first with `cargo build --release`):
#   benches/live_throughput.sh [--duration S] [--rate R[,R...]] [--buffer-size BYTES]
#                              [--offloads off|on] [--no-tcpdump] [--bin PATH] [--out DIR]
#   --duration S      capture length in seconds (default 10); iperf3 runs S-2 of them
#   --rate R          iperf3 target rate, as iperf3's -b (default 1G; 0 = unlimited);
#                     a comma list runs one round per rate, e.g. --rate 1G,0
#   --buffer-size B   acrscope's --buffer-size (default: acrscope's own, 32 MiB);
#                     tcpdump gets the same size with -B so both have equal buffers
#   --offloads off    (default) TSO/GSO/GRO off on both veths, so the capture sees
#                     wire-sized packets (~1500 bytes), not 64 KiB GSO super-packets;
#                     `on` keeps the veth defaults (far fewer, larger packets)
#   --no-tcpdump      capture with acrscope alone
#   --iperf3-args "A" extra iperf3 client arguments, e.g. "-N -l 1400" (small writes)
#   --bin PATH        the acrscope binary (default: target/release/acrscope)
#   --out DIR         keep the raw outputs there (default: a new /tmp/acrs-tp.XXXXXX)
#
# Needs: ip (iproute2), iperf3 (apt-get install iperf3), /usr/bin/time (apt-get install
# time), jq, ethtool (for --offloads off), tcpdump (unless --no-tcpdump). It installs nothing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

duration=10
rates=1G
buffer=
offloads=off
use_tcpdump=1
iperf_extra=
bin="$root/target/release/acrscope"
out=

die() { echo "live_throughput: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=${2:?}; shift 2 ;;
        --rate) rates=${2:?}; shift 2 ;;
        --buffer-size) buffer=${2:?}; shift 2 ;;
        --offloads) offloads=${2:?}; shift 2 ;;
        --no-tcpdump) use_tcpdump=0; shift ;;
        --iperf3-args) iperf_extra=${2?}; shift 2 ;;
        --bin) bin=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

[[ $duration =~ ^[0-9]+$ ]] && [ "$duration" -ge 4 ] || die "--duration: whole seconds, at least 4"
[[ -z $buffer || $buffer =~ ^[0-9]+$ ]] || die "--buffer-size: bytes"
[[ $offloads == on || $offloads == off ]] || die "--offloads: on or off"
[[ $iperf_extra =~ ^[-A-Za-z0-9\ .=]*$ ]] || die "--iperf3-args: plain options only"
[ "$(id -u)" -eq 0 ] || die "must run as root (it creates network namespaces)"

missing=()
for t in ip iperf3 jq; do command -v "$t" >/dev/null || missing+=("$t"); done
[ -x /usr/bin/time ] || missing+=("/usr/bin/time (package: time)")
[ "$offloads" = off ] && ! command -v ethtool >/dev/null && missing+=(ethtool)
[ "$use_tcpdump" = 1 ] && ! command -v tcpdump >/dev/null && missing+=(tcpdump)
if [ ${#missing[@]} -gt 0 ]; then
    die "missing: ${missing[*]} -- e.g. apt-get install iproute2 iperf3 time jq ethtool tcpdump"
fi
[ -x "$bin" ] || die "no acrscope binary at $bin: run cargo build --release first"

# Unique names: this shell's pid. Interface names stay within 15 characters.
ns_a="acrs-tp-a-$$"
ns_b="acrs-tp-b-$$"
veth_a="acrtp$$a"
veth_b="acrtp$$b"
addr_a=10.99.0.1
addr_b=10.99.0.2
[ -n "$out" ] || out=$(mktemp -d /tmp/acrs-tp.XXXXXX)
mkdir -p "$out"

pids=()
source "$here/common/netns.sh"
netns_pair
ip -n "$ns_a" addr add "$addr_a/30" dev "$veth_a"
ip -n "$ns_b" addr add "$addr_b/30" dev "$veth_b"
if [ "$offloads" = off ]; then
    ip netns exec "$ns_a" ethtool -K "$veth_a" tso off gso off gro off >/dev/null 2>&1 &&
        ip netns exec "$ns_b" ethtool -K "$veth_b" tso off gso off gro off >/dev/null 2>&1 ||
        echo "live_throughput: warning: could not turn offloads off; packets may be GSO-sized" >&2
fi
# The only route each side has is the /30: nothing can leave the pair.

# `/usr/bin/time -v` fields: user+sys over wall as a percentage, and peak RSS in MiB.
time_field() { awk -F': ' -v k="$2" '$1 ~ k {print $2}' "$1" | tail -1; }
wall_s() { # h:mm:ss or m:ss.ss
    time_field "$1" 'Elapsed \\(wall clock\\)' | awk -F: '{ s=0; for (i=1;i<=NF;i++) s=s*60+$i; print s }'
}
cpu_pct() {
    local u s w
    u=$(time_field "$1" 'User time'); s=$(time_field "$1" 'System time'); w=$(wall_s "$1")
    awk -v u="$u" -v s="$s" -v w="$w" 'BEGIN { if (w > 0) printf "%.1f", 100*(u+s)/w; else print "?" }'
}
cpu_split() {
    printf '%s+%s' "$(time_field "$1" 'User time')" "$(time_field "$1" 'System time')"
}
us_per_pkt() { # CPU microseconds per captured packet
    local u s
    u=$(time_field "$1" 'User time'); s=$(time_field "$1" 'System time')
    awk -v u="$u" -v s="$s" -v p="$2" 'BEGIN { if (p+0 > 0) printf "%.2f", 1e6*(u+s)/p; else print "?" }'
}
rss_mib() { awk -v k="$(time_field "$1" 'Maximum resident set size')" 'BEGIN { printf "%.0f", k/1024 }'; }

rows=()
notes=()
round=0
IFS=',' read -r -a rate_list <<<"$rates"
for rate in "${rate_list[@]}"; do
    round=$((round + 1))
    label=$rate; [ "$rate" = 0 ] && label=unlimited
    tag="r$round-$label"
    ndjson="$out/$tag.acrscope.ndjson"
    aerr="$out/$tag.acrscope.stderr"
    atime="$out/$tag.acrscope.time"
    terr="$out/$tag.tcpdump.stderr"
    ttime="$out/$tag.tcpdump.time"
    ijson="$out/$tag.iperf3.json"
    slog="$out/$tag.iperf3-server.log"
    echo "== round $round: rate $label, ${duration}s, offloads $offloads, raw files in $out/$tag.*" >&2

    ip netns exec "$ns_a" iperf3 -s -1 -B "$addr_a" >"$slog" 2>&1 &
    server=$!; pids+=("$server")

    abuf=(); tbuf=()
    if [ -n "$buffer" ]; then
        abuf=(--buffer-size "$buffer"); tbuf=(-B $(((buffer + 1023) / 1024)))
    else
        tbuf=(-B $((33554432 / 1024)))  # acrscope's default, 32 MiB
    fi
    if [ "$use_tcpdump" = 1 ]; then
        # timeout signals tcpdump's whole group with INT, so tcpdump prints its counters;
        # /usr/bin/time ignores INT while it waits.
        ip netns exec "$ns_a" timeout -s INT "$duration" /usr/bin/time -v -o "$ttime" \
            tcpdump -i "$veth_a" -n -w /dev/null "${tbuf[@]}" 2>"$terr" &
        tpid=$!; pids+=("$tpid")
    fi
    ip netns exec "$ns_a" /usr/bin/time -v -o "$atime" \
        "$bin" live -i "$veth_a" --format ndjson --duration "$duration" "${abuf[@]}" \
        >"$ndjson" 2>"$aerr" &
    apid=$!; pids+=("$apid")

    wait_for "$ndjson" '"event":"start"' "$apid" || { cat "$aerr" >&2; die "acrscope did not start"; }
    if [ "$use_tcpdump" = 1 ]; then
        wait_for "$terr" 'listening on' "$tpid" || { cat "$terr" >&2; die "tcpdump did not start"; }
    fi
    for i in $(seq 50); do
        ip netns exec "$ns_a" ss -Hltn "sport = :5201" | grep -q . && break
        sleep 0.1
    done

    t0=$(date +%s.%N)
    # In the background, so that a signal to this script is handled at once (`wait` returns).
    ip netns exec "$ns_b" iperf3 -c "$addr_a" -t $((duration - 2)) -b "$rate" $iperf_extra -J >"$ijson" 2>&1 &
    cpid=$!; pids+=("$cpid")
    wait "$cpid" || true
    t1=$(date +%s.%N)
    wait "$apid" || notes+=("round $round: acrscope exited with status $?")
    [ "$use_tcpdump" = 1 ] && { wait "$tpid" || true; }
    wait "$server" 2>/dev/null || true
    pids=()

    # iperf3: what the receiver got.
    gbps=$(jq -r '.end.sum_received.bits_per_second // 0' "$ijson" 2>/dev/null |
        awk '{ printf "%.2f", $1 / 1e9 }' || echo "?")
    retr=$(jq -r '.end.sum_sent.retransmits // "?"' "$ijson" 2>/dev/null || echo "?")
    ierr=$(jq -r '.error // empty' "$ijson" 2>/dev/null || true)
    [ -n "$ierr" ] && notes+=("round $round: iperf3: $ierr")

    # acrscope: the summary line, and the last stats line.
    summary=$(grep '"event":"summary"' "$ndjson" | tail -1 || true)
    if [ -n "$summary" ]; then
        a_pk=$(jq -r '.report.stats.packets' <<<"$summary")
        a_bytes=$(jq -r '.report.stats.bytes' <<<"$summary")
        a_recv=$(jq -r '.report.capture.live.received // "?"' <<<"$summary")
        a_kd=$(jq -r '.report.capture.live.kernel_drops // "?"' <<<"$summary")
        a_id=$(jq -r '.report.capture.live.if_drops // "?"' <<<"$summary")
        a_err=$(jq -r '.report.capture.error // empty' <<<"$summary")
        [ -n "$a_err" ] && notes+=("round $round: acrscope capture error: $a_err")
    else
        a_pk='?'; a_bytes=0; a_recv='?'; a_kd='?'; a_id='?'
        notes+=("round $round: acrscope wrote no summary line (see $aerr)")
    fi
    last_stats=$(grep '"event":"stats"' "$ndjson" | tail -1 || true)
    [ -n "$last_stats" ] || last_stats='{}'
    s_pk=$(jq -r '.packets // "?"' <<<"$last_stats")
    max_pps=$(grep '"event":"stats"' "$ndjson" | jq -s -r \
        '[.[].packets] as $p | [range(1; $p|length) | $p[.] - $p[.-1]] | (max // 0)' 2>/dev/null || echo "?")
    avg=$(awk -v b="$a_bytes" -v p="$a_pk" 'BEGIN { if (p > 0) printf "%.0f", b/p; else print "?" }')
    if [ "$a_pk" != '?' ] && [ "$a_recv" != '?' ] && [ "$a_kd" != '?' ]; then
        lost=$((a_recv - a_pk))
        [ "$lost" -ne "$a_kd" ] && notes+=("round $round: acrscope received-packets = $lost, kernel_drops = $a_kd")
    fi
    [ "$s_pk" != "$a_pk" ] && notes+=("round $round: last stats line packets=$s_pk, summary packets=$a_pk")
    grep -q 'falling behind' "$aerr" && notes+=("round $round: acrscope warned: $(grep -m1 'falling behind' "$aerr")")
    rows+=("$label|acrscope|$gbps|$retr|$a_pk|$a_recv|$a_kd|$a_id|$max_pps|$avg|$(cpu_pct "$atime")|$(cpu_split "$atime")|$(us_per_pkt "$atime" "$a_pk")|$(rss_mib "$atime")")

    if [ "$use_tcpdump" = 1 ]; then
        t_cap=$(awk '/packets captured/ {print $1}' "$terr"); t_cap=${t_cap:-?}
        t_recv=$(awk '/received by filter/ {print $1}' "$terr"); t_recv=${t_recv:-?}
        t_kd=$(awk '/dropped by kernel/ {print $1}' "$terr"); t_kd=${t_kd:-?}
        t_id=$(awk '/dropped by interface/ {print $1}' "$terr"); t_id=${t_id:--}
        rows+=("$label|tcpdump|$gbps|$retr|$t_cap|$t_recv|$t_kd|$t_id|-|-|$(cpu_pct "$ttime")|$(cpu_split "$ttime")|$(us_per_pkt "$ttime" "$t_cap")|$(rss_mib "$ttime")")
    fi
    awk -v a="$t0" -v b="$t1" -v d="$duration" 'BEGIN { if (b - a > d - 0.5) exit 1 }' ||
        notes+=("round $round: iperf3 ran $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s, close to the capture's ${duration}s")
done

echo
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "acrscope: $bin; buffer ${buffer:-default (32 MiB)}; $([ "$use_tcpdump" = 1 ] && echo "tcpdump -B ${tbuf[1]} KiB" || echo "no tcpdump"); offloads $offloads; ${duration}s capture, $((duration - 2))s iperf3${iperf_extra:+ $iperf_extra}"
echo
{
    echo "rate|capture|iperf3 Gbit/s|retransmits|captured|pcap received|kernel drops|if drops|max pkt/s|avg bytes/pkt|CPU %|user+sys s|CPU us/pkt|peak RSS MiB"
    printf '%s\n' "${rows[@]}"
} | column -t -s '|'
if [ ${#notes[@]} -gt 0 ]; then
    echo
    printf 'note: %s\n' "${notes[@]}"
fi
echo
echo "raw outputs: $out"
