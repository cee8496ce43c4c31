#!/usr/bin/env bash
# Compares `acrscope report` (json, text, allowlist) with tshark (the same names, by hand) and
# with tcpdump (reading and writing the capture, the floor any reader pays) on large generated
# captures. See docs/performance.md for the figures and how to read them.
#
#   benches/compare.sh                 # full run: ~4.8 GB of captures, takes ~30 min with tshark
#   benches/compare.sh --quick         # small captures, a smoke run of a minute or two
#   benches/compare.sh --no-tshark     # acrscope and tcpdump only
#   benches/compare.sh --runs 5        # best of 5 instead of 3
#   benches/compare.sh --ui            # also the timeline UI at --speed max (benches/ui_load.sh)
#   sudo benches/compare.sh --live     # also 1,000,000 flows through `live` (benches/live_flows.sh)
#
# Captures (written once to target/bench-data/, reused while their parameters are unchanged):
#   a  200 ACR pulls in the four set-ups: ~1.1 GB, ~1.1 M packets, 1,000 TLS flows, 400 DNS answers
#   b  200,000 short TLS flows: ~2.8 M packets, ~1.5 GB
#   c  the flows of (a) with twice the data: ~2.2 M packets; peak RSS should not grow
#
# Needs bash >= 4, cargo, tshark, tcpdump and GNU time (/usr/bin/time -v). On Debian/Ubuntu:
#   apt-get install tshark tcpdump time
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: benches/compare.sh [OPTIONS]

Builds acrscope (release), generates the benchmark captures once, then times, taking turns
run after run, `acrscope report --format json`, the equivalent tshark field extraction and
`tcpdump -r FILE -w /dev/null` on each capture: wall seconds (best of N), packets/s, MB/s,
peak RSS, and the ratios acrscope/tshark and acrscope/tcpdump. Checks the targets at the end.

Options:
  --quick             small captures (10 pulls, 10,000 short flows): a smoke run
  --no-tshark         do not run tshark (no acrscope/tshark ratio, no SNI cross-check)
  --runs N            best of N runs per tool and capture (default 3)
  --tshark-runs N     best of N for tshark only (default: --runs)
  --captures LIST     which captures, comma-separated, of a,b,c (default a,b,c)
  --seed N            generator seed (default 1)
  --data-dir DIR      where captures and outputs go (default target/bench-data)
  --no-build          use the binaries already in target/release
  --generate-only     build and generate the captures, measure nothing
  --ui                also time the timeline UI at --speed max against report on each capture
                      (benches/ui_load.sh; needs tmux)
  --live              also replay 1,000,000 short flows through `acrscope live` on a veth pair
                      (benches/live_flows.sh; as root, needs iproute2 and tcpreplay)
  -h, --help          this text

MB are 10^6 bytes, throughout (MB/s of the capture file, peak RSS).
Results are also written to DIR/results.tsv (one row per capture and tool).
EOF
}

# ---- options ----------------------------------------------------------------------------------

QUICK=0
TSHARK=1
RUNS=3
TSHARK_RUNS=
CAPTURES=a,b,c
SEED=1
DATA_DIR=
BUILD=1
GENERATE_ONLY=0
UI=0
LIVE=0

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-tshark) TSHARK=0 ;;
        --runs) RUNS=${2:?--runs needs a number}; shift ;;
        --runs=*) RUNS=${1#*=} ;;
        --tshark-runs) TSHARK_RUNS=${2:?--tshark-runs needs a number}; shift ;;
        --tshark-runs=*) TSHARK_RUNS=${1#*=} ;;
        --captures) CAPTURES=${2:?--captures needs a list}; shift ;;
        --captures=*) CAPTURES=${1#*=} ;;
        --seed) SEED=${2:?--seed needs a number}; shift ;;
        --seed=*) SEED=${1#*=} ;;
        --data-dir) DATA_DIR=${2:?--data-dir needs a directory}; shift ;;
        --data-dir=*) DATA_DIR=${1#*=} ;;
        --no-build) BUILD=0 ;;
        --generate-only) GENERATE_ONLY=1 ;;
        --ui) UI=1 ;;
        --live) LIVE=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
TSHARK_RUNS=${TSHARK_RUNS:-$RUNS}
for n in "$RUNS" "$TSHARK_RUNS" "$SEED"; do
    case "$n" in ''|*[!0-9]*) echo "compare.sh: '$n' is not a number" >&2; exit 2 ;; esac
done
[ "$RUNS" -ge 1 ] && [ "$TSHARK_RUNS" -ge 1 ] || { echo "compare.sh: runs must be >= 1" >&2; exit 2; }
case ",$CAPTURES," in *[!abc,]*) echo "compare.sh: --captures takes a list of a, b, c" >&2; exit 2 ;; esac

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA_DIR=${DATA_DIR:-$ROOT/target/bench-data}
mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
OUT_DIR=$DATA_DIR/out
mkdir -p "$OUT_DIR"

# ---- prerequisites ----------------------------------------------------------------------------

missing_pkgs=()
problems=()
if [ "${BASH_VERSINFO[0]}" -lt 4 ]; then problems+=("bash 4 or later is needed (this is $BASH_VERSION)"); fi
command -v cargo >/dev/null 2>&1 || [ "$BUILD" = 0 ] \
    || problems+=("cargo not found: install Rust from https://rustup.rs (or pass --no-build)")
command -v tcpdump >/dev/null 2>&1 || missing_pkgs+=(tcpdump)
if [ "$TSHARK" = 1 ] && [ "$GENERATE_ONLY" = 0 ]; then command -v tshark >/dev/null 2>&1 || missing_pkgs+=(tshark); fi
if [ "$UI" = 1 ]; then command -v tmux >/dev/null 2>&1 || missing_pkgs+=(tmux); fi
if [ "$LIVE" = 1 ]; then
    [ "$(id -u)" = 0 ] || problems+=("--live makes network namespaces: run it as root (sudo)")
    command -v tcpreplay >/dev/null 2>&1 || missing_pkgs+=(tcpreplay)
    command -v ip >/dev/null 2>&1 || missing_pkgs+=(iproute2)
fi
if [ ! -x /usr/bin/time ] || ! /usr/bin/time -v true >/dev/null 2>&1; then
    missing_pkgs+=(time)   # the shell keyword `time` cannot report peak RSS; GNU time can
fi
for t in awk sha256sum stat cat; do
    command -v "$t" >/dev/null 2>&1 || problems+=("'$t' not found (coreutils / mawk)")
done
if [ ${#missing_pkgs[@]} -gt 0 ] || [ ${#problems[@]} -gt 0 ]; then
    if [ ${#missing_pkgs[@]} -gt 0 ]; then
        echo "compare.sh: missing: ${missing_pkgs[*]}" >&2
        echo "  install with:  sudo apt-get install ${missing_pkgs[*]}" >&2
        case " ${missing_pkgs[*]} " in
            *" tshark "*) echo "  (or run with --no-tshark to skip tshark)" >&2 ;;
        esac
    fi
    for p in "${problems[@]}"; do echo "compare.sh: $p" >&2; done
    exit 1
fi

# Wall clock in seconds with microseconds (bash 5's EPOCHREALTIME, else date).
now() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        printf '%s\n' "${EPOCHREALTIME/,/.}"
    else
        date +%s.%N
    fi
}

# awk -v calculations, printed with a format: calc FORMAT EXPR [var=value ...]
calc() {
    local fmt=$1 expr=$2
    shift 2
    local args=()
    for kv in "$@"; do args+=(-v "$kv"); done
    awk "${args[@]}" "BEGIN { printf \"$fmt\", $expr }"
}

# ---- machine ----------------------------------------------------------------------------------

cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
mem_total=$(awk '/^MemTotal:/ { printf "%.1f GB", $2 * 1024 / 1e9 }' /proc/meminfo 2>/dev/null || true)
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)
ncpu=$(nproc 2>/dev/null || echo 1)
echo "== machine: ${ncpu} CPUs, ${cpu_model:-unknown CPU}, ${mem_total:-? GB} RAM, load ${load:-?}"
echo "   kernel $(uname -r); $(tcpdump --version 2>&1 | head -1)"
[ "$TSHARK" = 1 ] && echo "   $(tshark --version 2>/dev/null | head -1)"
if command -v git >/dev/null 2>&1 && git rev-parse --git-dir >/dev/null 2>&1; then
    dirty=$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | wc -l)
    echo "   acrscope at $(git rev-parse --short HEAD)$([ "$dirty" -gt 0 ] && echo " + uncommitted changes in $dirty file(s) of src/")"
fi
if awk -v l="${load%% *}" -v n="$ncpu" 'BEGIN { exit !(l > 0.3 * n) }'; then
    echo "   WARNING: load average ${load%% *} on $ncpu CPUs: something else is running; figures will be noisy" >&2
fi

# ---- build ------------------------------------------------------------------------------------

ACRSCOPE=$ROOT/target/release/acrscope
GEN=$ROOT/target/release/examples/gen_capture
if [ "$BUILD" = 1 ]; then
    echo "== building release (acrscope and examples/gen_capture)"
    cargo build --release --quiet --bin acrscope --example gen_capture
fi
for b in "$ACRSCOPE" "$GEN"; do
    [ -x "$b" ] || { echo "compare.sh: $b not built (run without --no-build)" >&2; exit 1; }
done

# ---- captures ---------------------------------------------------------------------------------

# Generator sources: a change to them regenerates the captures.
GEN_HASH=$(cat examples/gen_capture.rs benches/common/wire.rs | sha256sum | cut -c1-16)

if [ "$QUICK" = 1 ]; then
    PULLS=10; SHORT=10000; TAG=quick
else
    PULLS=200; SHORT=200000; TAG=full
fi

cap_args() {  # generator arguments of capture $1
    case "$1" in
        a) echo "--seed $SEED --pulls $PULLS" ;;
        b) echo "--seed $SEED --short-flows $SHORT" ;;
        c) echo "--seed $SEED --pulls $PULLS --data-scale 2" ;;
    esac
}
cap_file() {
    case "$1" in
        a) echo "$DATA_DIR/a-pulls$PULLS-seed$SEED.pcap" ;;
        b) echo "$DATA_DIR/b-short$SHORT-seed$SEED.pcap" ;;
        c) echo "$DATA_DIR/c-pulls$PULLS-x2-seed$SEED.pcap" ;;
    esac
}
cap_title() {
    case "$1" in
        a) echo "(a) $PULLS ACR pulls" ;;
        b) echo "(b) $SHORT short TLS flows" ;;
        c) echo "(c) $PULLS ACR pulls, twice the data" ;;
    esac
}

declare -A PACKETS SIZE
IFS=, read -r -a SELECTED <<<"$CAPTURES"
for cap in "${SELECTED[@]}"; do
    f=$(cap_file "$cap")
    meta=$f.params
    want="generator=$GEN_HASH args=$(cap_args "$cap")"
    if [ -f "$f" ] && [ -f "$meta" ] && [ "$(sed -n 1p "$meta")" = "$want" ] \
        && [ "$(sed -n 's/^size=//p' "$meta")" = "$(stat -c %s "$f")" ]; then
        echo "== $(cap_title "$cap"): $f (already generated)"
    else
        echo "== $(cap_title "$cap"): generating $f"
        rm -f "$f" "$meta"
        # shellcheck disable=SC2046
        "$GEN" $(cap_args "$cap") --out "$f.tmp" 2>"$f.gen.log" || { cat "$f.gen.log" >&2; exit 1; }
        mv "$f.tmp" "$f"
        pk=$(sed -n 's/.*: \([0-9]*\) packets,.*/\1/p' "$f.gen.log" | tail -1)
        { echo "$want"; echo "size=$(stat -c %s "$f")"; echo "packets=$pk"; sed "s|\.tmp:|:|" "$f.gen.log"; } >"$meta"
        rm -f "$f.gen.log"
    fi
    PACKETS[$cap]=$(sed -n 's/^packets=//p' "$meta")
    SIZE[$cap]=$(stat -c %s "$f")
    echo "   $(tail -1 "$meta" | sed 's/^.*: //')"
done

[ "$GENERATE_ONLY" = 1 ] && exit 0

# ---- measuring --------------------------------------------------------------------------------

TSHARK_FILTER='tls.handshake.type == 1 || dns.flags.response == 1'
TSHARK_FIELDS=(-e frame.number -e tls.handshake.extensions_server_name -e dns.qry.name
               -e dns.a -e dns.aaaa -e dns.cname)

# run_tool TOOL FILE STDOUT: the command line of each tool, stdout to STDOUT.
run_tool() {
    local tool=$1 file=$2 out=$3 tf=$4 err=$5
    case "$tool" in
        acrscope) /usr/bin/time -v -o "$tf" "$ACRSCOPE" report --format json "$file" >"$out" 2>"$err" ;;
        acr-text) /usr/bin/time -v -o "$tf" "$ACRSCOPE" report --format text "$file" >"$out" 2>"$err" ;;
        acr-allow) /usr/bin/time -v -o "$tf" "$ACRSCOPE" report --format allowlist "$file" >"$out" 2>"$err" ;;
        tshark) /usr/bin/time -v -o "$tf" tshark -r "$file" -n -Y "$TSHARK_FILTER" -T fields \
                    "${TSHARK_FIELDS[@]}" >"$out" 2>"$err" ;;
        tcpdump) /usr/bin/time -v -o "$tf" tcpdump -r "$file" -w /dev/null >"$out" 2>"$err" ;;
    esac
}

declare -A WALL RSS CPU
# measure CAP TOOL N: best-of-N wall seconds, highest peak RSS (kB) of the N runs, CPU s of the best.
# One timed run of `tool` on capture `cap` (run `i` of `n`); keeps each tool's best wall time
# (and its CPU time) and its highest peak RSS.
measure_once() {
    local cap=$1 tool=$2 i=$3 n=$4 file out tf err t0 t1 w rss cpu
    file=$(cap_file "$cap")
    out=$OUT_DIR/$cap.$tool.out
    tf=$OUT_DIR/$cap.$tool.time
    err=$OUT_DIR/$cap.$tool.err
    t0=$(now)
    if ! run_tool "$tool" "$file" "$out" "$tf" "$err"; then
        echo "compare.sh: $tool failed on $file:" >&2
        tail -5 "$err" >&2
        exit 1
    fi
    t1=$(now)
    w=$(calc '%.4f' 'b - a' a="$t0" b="$t1")
    rss=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$tf")
    cpu=$(awk -F': *' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$tf")
    printf '   %-8s run %d/%d: %8.3f s  %7.1f MB peak RSS  %7.2f s CPU\n' \
        "$tool" "$i" "$n" "$w" "$(calc '%.1f' 'k * 1024 / 1e6' k="$rss")" "$cpu"
    if [ -z "${WALL[$cap.$tool]:-}" ] || awk -v a="$w" -v b="${WALL[$cap.$tool]}" 'BEGIN { exit !(a < b) }'; then
        WALL[$cap.$tool]=$w
        CPU[$cap.$tool]=$cpu
    fi
    if [ "$rss" -gt "${RSS[$cap.$tool]:-0}" ]; then RSS[$cap.$tool]=$rss; fi
}

# The tools take turns, run after run, so that a machine whose speed drifts (a shared VM)
# slows all of them alike instead of the one that happened to run last.
measure_all() {
    local cap=$1 i tool n rounds=$RUNS
    [ "$TSHARK" = 1 ] && [ "$TSHARK_RUNS" -gt "$rounds" ] && rounds=$TSHARK_RUNS
    cat "$(cap_file "$cap")" >/dev/null   # warm the page cache: every run reads from memory
    for ((i = 1; i <= rounds; i++)); do
        for tool in "${TOOLS[@]}"; do
            n=$RUNS
            [ "$tool" = tshark ] && n=$TSHARK_RUNS
            [ "$i" -le "$n" ] && measure_once "$cap" "$tool" "$i" "$n"
        done
    done
}

# Last value of a JSON key in acrscope's report (the `stats` object comes last).
json_last() { grep -o "\"$1\": *[0-9]*" "$2" | tail -1 | sed 's/.*: *//'; }

RESULTS=$DATA_DIR/results.tsv
printf 'capture\ttool\tfile_bytes\tpackets\twall_s\tpackets_per_s\tMB_per_s\tpeak_rss_MB\tcpu_s\tratio_acrscope_over_tool\n' >"$RESULTS"

declare -A SNI_ACR SNI_TSHARK
# acrscope is `report --format json`; acr-text and acr-allow the other two formats.
TOOLS=(acrscope acr-text acr-allow)
[ "$TSHARK" = 1 ] && TOOLS+=(tshark)
TOOLS+=(tcpdump)

for cap in "${SELECTED[@]}"; do
    echo
    echo "== $(cap_title "$cap"): $(calc '%.1f' 's / 1e6' s="${SIZE[$cap]}") MB, ${PACKETS[$cap]} packets"
    measure_all "$cap"

    json=$OUT_DIR/$cap.acrscope.out
    acr_packets=$(json_last packets "$json")
    acr_flows=$(json_last flows "$json")
    acr_dns=$(json_last dns_responses "$json")
    # The report is pretty on a terminal, one line otherwise: count matches, not lines.
    SNI_ACR[$cap]=$(grep -o '"sni": *"' "$json" | wc -l)
    echo "   acrscope report: $(calc '%.2f' 's / 1e6' s="$(stat -c %s "$json")") MB of JSON;" \
        "$acr_packets packets, $acr_flows flows, ${SNI_ACR[$cap]} with an SNI, $acr_dns DNS responses"
    if [ "$acr_packets" != "${PACKETS[$cap]}" ]; then
        echo "   WARNING: acrscope counted $acr_packets packets, the generator wrote ${PACKETS[$cap]}" >&2
    fi
    if [ "$TSHARK" = 1 ]; then
        tsv=$OUT_DIR/$cap.tshark.out
        SNI_TSHARK[$cap]=$(awk -F'\t' '$2 != ""' "$tsv" | wc -l)
        ts_dns=$(awk -F'\t' '$2 == "" && $3 != ""' "$tsv" | wc -l)
        echo "   tshark output:   $(calc '%.2f' 's / 1e6' s="$(stat -c %s "$tsv")") MB of fields;" \
            "${SNI_TSHARK[$cap]} ClientHellos with an SNI, $ts_dns DNS responses"
        if [ "${SNI_ACR[$cap]}" = "${SNI_TSHARK[$cap]}" ]; then
            echo "   cross-check: SNI count equal (${SNI_ACR[$cap]})"
        else
            echo "   cross-check: SNI count DIFFERS: acrscope ${SNI_ACR[$cap]}, tshark ${SNI_TSHARK[$cap]}"
        fi
        [ "$acr_dns" = "$ts_dns" ] || echo "   note: DNS responses differ: acrscope $acr_dns, tshark $ts_dns"
    fi

    echo
    printf '   %-9s %9s %12s %9s %10s %8s %12s\n' tool 'wall s' 'packets/s' 'MB/s' 'peak RSS' 'CPU s' 'acrscope/it'
    for tool in "${TOOLS[@]}"; do
        w=${WALL[$cap.$tool]}
        pps=$(calc '%.0f' 'p / w' p="${PACKETS[$cap]}" w="$w")
        mbs=$(calc '%.1f' 's / 1e6 / w' s="${SIZE[$cap]}" w="$w")
        rss=$(calc '%.1f' 'k * 1024 / 1e6' k="${RSS[$cap.$tool]}")
        ratio=$(calc '%.3f' 'a / w' a="${WALL[$cap.acrscope]}" w="$w")
        printf '   %-9s %9.3f %12s %9s %7s MB %8s %12s\n' "$tool" "$w" "$pps" "$mbs" "$rss" "${CPU[$cap.$tool]}" "$ratio"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cap" "$tool" "${SIZE[$cap]}" "${PACKETS[$cap]}" \
            "$w" "$pps" "$mbs" "$rss" "${CPU[$cap.$tool]}" "$ratio" >>"$RESULTS"
    done
    if [ "$TSHARK" = 1 ]; then
        echo "   acrscope/tshark  = $(calc '%.4f' 'a / t' a="${WALL[$cap.acrscope]}" t="${WALL[$cap.tshark]}")" \
            "(acrscope $(calc '%.1f' 't / a' a="${WALL[$cap.acrscope]}" t="${WALL[$cap.tshark]}")x faster)"
    fi
    echo "   acrscope/tcpdump = $(calc '%.3f' 'a / t' a="${WALL[$cap.acrscope]}" t="${WALL[$cap.tcpdump]}")"
done

# ---- the UI and live ---------------------------------------------------------------------------

has() { case ",$CAPTURES," in *",$1,"*) return 0 ;; esac; return 1; }
# Another script's table, set in under this one's headings.
indent() { sed '/^$/d; s/^/   /'; }
# The UI's target is stated for (a) and (b) only.
UI_CAPS=()
for cap in a b; do has "$cap" && UI_CAPS+=("$cap"); done
declare -A UI_MS REP_MS
if [ "$UI" = 1 ] && [ ${#UI_CAPS[@]} -gt 0 ]; then
    files=()
    for cap in "${UI_CAPS[@]}"; do files+=("$(cap_file "$cap")"); done
    echo
    echo "== the timeline UI at --speed max against report --format json (benches/ui_load.sh, best of $RUNS)"
    ui_out=$(benches/ui_load.sh --bin "$ACRSCOPE" --runs "$RUNS" "${files[@]}")
    indent <<<"$ui_out"
    for cap in "${UI_CAPS[@]}"; do
        v=$(awk -v f="$(basename "$(cap_file "$cap")")" '$1 == f { print $2, $3 }' <<<"$ui_out")
        [ -n "$v" ] || { echo "compare.sh: ui_load.sh printed no row for $cap" >&2; exit 1; }
        UI_MS[$cap]=${v% *}
        REP_MS[$cap]=${v#* }
    done
fi
LIVE_FLOWS=1000000
[ "$QUICK" = 1 ] && LIVE_FLOWS=10000
LIVE_ROW=
if [ "$LIVE" = 1 ]; then
    echo
    echo "== $LIVE_FLOWS short TLS flows replayed through acrscope live (benches/live_flows.sh)"
    live_out=$(benches/live_flows.sh --bin "$ACRSCOPE" --flows "$LIVE_FLOWS")
    indent <<<"$live_out"
    # packets, kernel drops, flows, peak MB, KB per flow
    LIVE_ROW=$(awk '$1 == "acrscope" { print $2, $3, $4, $5, $6 }' <<<"$live_out")
    [ -n "$LIVE_ROW" ] || { echo "compare.sh: live_flows.sh printed no acrscope row" >&2; exit 1; }
fi

# ---- targets ----------------------------------------------------------------------------------

echo
if [ "$QUICK" = 1 ]; then
    echo "== targets (stated for the full captures; a --quick run only shows the checks work)"
else
    echo "== targets"
fi
met=0; missed=0; unmeasured=0
check() {  # check DESCRIPTION FIGURE CONDITION(awk, on x) SHOWN
    local desc=$1 fig=$2 cond=$3
    if awk -v x="$fig" "BEGIN { exit !($cond) }"; then
        printf '   met     %-46s %s\n' "$desc" "$4"; met=$((met + 1))
    else
        printf '   MISSED  %-46s %s\n' "$desc" "$4"; missed=$((missed + 1))
    fi
}
not_measured() {  # not_measured DESCRIPTION HOW
    printf '   -       %-46s not measured (%s)\n' "$1" "$2"; unmeasured=$((unmeasured + 1))
}
rss_mb() { calc '%.1f' 'k * 1024 / 1e6' k="${RSS[$1.acrscope]}"; }
if has a; then
    r=$(calc '%.3f' 'a / t' a="${WALL[a.acrscope]}" t="${WALL[a.tcpdump]}")
    check "(a) time <= 2x tcpdump" "$r" 'x <= 2' "acrscope/tcpdump = $r"
    if [ "$TSHARK" = 1 ]; then
        r=$(calc '%.1f' 't / a' a="${WALL[a.acrscope]}" t="${WALL[a.tshark]}")
        check "(a) >= 25x faster than tshark" "$r" 'x >= 25' "${r}x faster"
        same=0
        if [ "${SNI_ACR[a]}" = "${SNI_TSHARK[a]}" ]; then same=1; fi
        check "(a) SNI count equals tshark's" "$same" 'x == 1' \
            "acrscope ${SNI_ACR[a]}, tshark ${SNI_TSHARK[a]}"
    fi
    r=$(rss_mb a)
    check "(a) peak RSS < 100 MB" "$r" 'x < 100' "$r MB"
fi
if has a; then
    # 0.59x when the many-flows issue was filed; this VM's runs spread by ~10%.
    r=$(calc '%.3f' 'a / t' a="${WALL[a.acrscope]}" t="${WALL[a.tcpdump]}")
    check "(a) time no worse than 0.59x tcpdump (+10%)" "$r" 'x <= 0.65' "acrscope/tcpdump = $r"
fi
if has b; then
    for tool in acrscope acr-text acr-allow; do
        limit=1.5
        [ "$tool" = acr-allow ] && limit=1.2
        r=$(calc '%.3f' 'a / t' a="${WALL[b.$tool]}" t="${WALL[b.tcpdump]}")
        check "(b) $tool time <= ${limit}x tcpdump" "$r" "x <= $limit" "$tool/tcpdump = $r"
        # (b) holds 200,000 TLS flows: 1 KB per flow is 200 MB.
        r=$(calc '%.1f' 'k * 1024 / 1e6' k="${RSS[b.$tool]}")
        check "(b) $tool peak RSS <= 200 MB (1 KB per flow)" "$r" 'x <= 200' "$r MB"
    done
fi
if has a && has c; then
    r=$(calc '%.1f' '(c - a) * 100 / a' a="${RSS[a.acrscope]}" c="${RSS[c.acrscope]}")
    check "(c) peak RSS within 10% of (a)" "$r" 'x <= 10 && x >= -10' \
        "$(rss_mb c) MB vs $(rss_mb a) MB: ${r}%"
fi
# One frame of the UI, read from the source (src/ui/run.rs) so that the two cannot disagree.
frame_ms=$(sed -n 's/^const FRAME: Duration = Duration::from_millis(\([0-9]*\));.*/\1/p' src/ui/run.rs)
[ -n "$frame_ms" ] || { echo "compare.sh: no FRAME in src/ui/run.rs" >&2; exit 1; }
for cap in "${UI_CAPS[@]}"; do
    desc="($cap) UI at --speed max <= report + one frame"
    if [ "$UI" = 1 ]; then
        r=$((UI_MS[$cap] - REP_MS[$cap]))
        check "$desc" "$r" "x <= $frame_ms" \
            "UI ${UI_MS[$cap]} ms, report ${REP_MS[$cap]} ms, one frame $frame_ms ms"
    else
        not_measured "$desc" "--ui"
    fi
done
desc="live, $LIVE_FLOWS flows: peak RSS <= 1 KB per flow"
if [ -n "$LIVE_ROW" ]; then
    read -r l_packets l_drops l_flows l_mb l_kb <<<"$LIVE_ROW"
    check "$desc" "$l_kb" 'x <= 1' \
        "$l_kb KB per flow ($l_mb MB, $l_flows flows, $l_drops of $l_packets packets dropped)"
else
    not_measured "$desc" "sudo compare.sh --live"
fi
echo "   $met met, $missed missed, $unmeasured not measured. Results: $RESULTS"
