#!/usr/bin/env bash
# Many flows through `acrscope live` (a benchmark, not a test): a generated capture of N short
# TLS flows is replayed with tcpreplay onto one end of a veth pair that joins two private
# network namespaces, and `acrscope live --format ndjson` (default bounds) captures on the other
# end, with `tcpdump -w /dev/null` beside it on the same interface as the peer. Prints, for each:
# packets taken, kernel drops, flows, peak RSS, and acrscope's peak RSS per flow.
# The replayed packets never leave the two namespaces, which are removed on exit.
#
# Usage (as root; build first with `cargo build --release --examples`):
#   benches/live_flows.sh [--flows N] [--pps R] [--data-scale F] [--bin PATH] [--out DIR]
#   --flows N        short TLS flows in the generated capture (default 1000000; about 5.3 GB
#                    at the default data scale, written once to target/bench-data/)
#   --pps R          replay rate, packets per second (default 250000; `max`: tcpreplay's
#                    --topspeed)
#   --data-scale F   the generator's --data-scale (default 0.2: the same flows, fewer bytes)
#   --bin PATH       the acrscope binary (default: target/release/acrscope)
#   --out DIR        keep the raw outputs there (default: a new /tmp/acrs-lf.XXXXXX)
#
# Needs: ip (iproute2), tcpreplay, tcpdump, /usr/bin/time (apt-get install iproute2 tcpreplay
# tcpdump time). It installs nothing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
flows=1000000
pps=250000
scale=0.2
bin="$root/target/release/acrscope"
out=

die() { echo "live_flows: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --flows) flows=${2:?}; shift 2 ;;
        --pps) pps=${2:?}; shift 2 ;;
        --data-scale) scale=${2:?}; shift 2 ;;
        --bin) bin=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done
[ "$(id -u)" = 0 ] || die "run as root (it makes network namespaces)"
missing=()
for c in ip tcpreplay tcpdump; do command -v "$c" >/dev/null || missing+=("$c"); done
[ -x /usr/bin/time ] || missing+=("/usr/bin/time")
[ ${#missing[@]} = 0 ] || die "missing: ${missing[*]} -- e.g. apt-get install iproute2 tcpreplay tcpdump time"
[ -x "$bin" ] || die "no acrscope binary at $bin: run cargo build --release first"
gen="$root/target/release/examples/gen_capture"
[ -x "$gen" ] || die "no generator at $gen: run cargo build --release --examples first"

data="$root/target/bench-data"
mkdir -p "$data"
capture="$data/live-flows$flows-scale$scale-seed1.pcap"
if [ ! -s "$capture" ]; then
    echo "== generating $capture" >&2
    "$gen" --seed 1 --short-flows "$flows" --data-scale "$scale" --out "$capture.tmp" >&2
    mv "$capture.tmp" "$capture"
fi
cat "$capture" >/dev/null  # into the page cache: the replay reads at the rate asked

[ -n "$out" ] || out=$(mktemp -d /tmp/acrs-lf.XXXXXX)
mkdir -p "$out"
ns_a="acrs-lf-a-$$" ns_b="acrs-lf-b-$$" veth_a="acrlf$$a" veth_b="acrlf$$b"
pids=()
source "$here/common/netns.sh"
netns_pair
# No addresses and no routes: the replayed packets end at the veth pair.

ip netns exec "$ns_a" /usr/bin/time -v -o "$out/tcpdump.time" \
    tcpdump -i "$veth_a" -n -w /dev/null -B 32768 2>"$out/tcpdump.stderr" &
tpid=$!; pids+=("$tpid")
ip netns exec "$ns_a" /usr/bin/time -v -o "$out/acrscope.time" \
    "$bin" live -i "$veth_a" --format ndjson >"$out/acrscope.ndjson" 2>"$out/acrscope.stderr" &
apid=$!; pids+=("$apid")
wait_for "$out/acrscope.ndjson" '"event":"start"' "$apid" || { cat "$out/acrscope.stderr" >&2; die "acrscope did not start"; }
wait_for "$out/tcpdump.stderr" 'listening on' "$tpid" || { cat "$out/tcpdump.stderr" >&2; die "tcpdump did not start"; }

rate=(--pps "$pps"); [ "$pps" = max ] && rate=(--topspeed)
echo "== replaying $capture at ${pps} packets/s onto $veth_b" >&2
ip netns exec "$ns_b" tcpreplay -i "$veth_b" "${rate[@]}" "$capture" >"$out/tcpreplay.log" 2>&1
sleep 3
# /usr/bin/time passes nothing on: signal the captures themselves.
pkill -INT -P "$apid" || true
pkill -INT -P "$tpid" || true
wait "$apid" || true
wait "$tpid" || true
pids=()

sent=$(awk '/^Actual:/ { print $2 }' "$out/tcpreplay.log")
rated=$(awk '/^Rated:/ { print $(NF-1) }' "$out/tcpreplay.log")
stats=$(grep '"event":"stats"' "$out/acrscope.ndjson" | tail -1)
field() { grep -o "\"$1\":[0-9]*" <<<"$stats" | head -1 | cut -d: -f2; }
rss() { awk -F': ' '/Maximum resident/ { printf "%.1f", $2 * 1024 / 1e6 }' "$1"; }
a_packets=$(field packets) a_drops=$(field kernel_drops) a_flows=$(field flows) a_rss=$(rss "$out/acrscope.time")
t_got=$(awk '/packets captured/ { print $1 }' "$out/tcpdump.stderr")
t_drops=$(awk '/dropped by kernel/ { print $1 }' "$out/tcpdump.stderr")
printf '\n%s packets replayed at %s packets/s (%s flows generated), outputs in %s\n' "$sent" "$rated" "$flows" "$out"
printf '%-9s %12s %12s %10s %10s %12s\n' tool packets "kernel drops" flows "peak MB" "KB per flow"
printf '%-9s %12s %12s %10s %10s %12s\n' acrscope "$a_packets" "$a_drops" "$a_flows" "$a_rss" \
    "$(awk -v r="$a_rss" -v f="$a_flows" 'BEGIN { if (f > 0) printf "%.2f", r * 1000 / f; else print "-" }')"
printf '%-9s %12s %12s %10s %10s %12s\n' tcpdump "$t_got" "$t_drops" - "$(rss "$out/tcpdump.time")" -
