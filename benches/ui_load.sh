#!/usr/bin/env bash
# How long the timeline UI takes to show the whole of a capture read at full speed
# (`acrscope replay --speed max`: from typing the command until the screen that says "end" has
# been drawn), against `acrscope report --format json` on the same file in the same run (taking
# turns). The UI runs in a detached tmux session of 160x48, with the hidden `--quit-at-end`
# flag: it quits right after drawing that screen, and the time is taken around the command in
# the pane, so nothing polls the screen while it loads. "start" is the same on a capture of
# 590 packets: the cost of starting the process and taking over the terminal.
#
#   benches/ui_load.sh                       # the captures of compare.sh (generated if needed)
#   benches/ui_load.sh --runs 5 FILE...      # other captures
#   benches/ui_load.sh --bin OLD/acrscope    # another build (not rebuilt), e.g. to compare
#
# Needs tmux. Figures and how to read them: docs/performance.md.
set -euo pipefail

RUNS=3
FILES=()
BIN=
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=${2:?--runs needs a number}; shift ;;
        --bin) BIN=$(realpath "${2:?--bin needs a path}"); shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "ui_load.sh: unknown option '$1'" >&2; exit 2 ;;
        *) FILES+=("$1") ;;
    esac
    shift
done

cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "ui_load.sh: tmux is needed (apt-get install tmux)" >&2; exit 2; }
if [ -z "$BIN" ]; then
    cargo build --release --quiet
    BIN=$PWD/target/release/acrscope
fi
if [ ${#FILES[@]} -eq 0 ]; then
    benches/compare.sh --generate-only --no-build --captures a,b >/dev/null
    FILES=(target/bench-data/a-pulls200-seed1.pcap target/bench-data/b-short10000-seed1.pcap
           target/bench-data/b-short200000-seed1.pcap)
fi

SESSION=acrscope-ui-load-$$
trap 'tmux kill-session -t "$SESSION" 2>/dev/null || true' EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Milliseconds the UI command took in the pane, until it quit after drawing the end.
ui_ms() {
    local file=$1 out
    out=$(mktemp)
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    tmux new-session -d -s "$SESSION" -x 160 -y 48 "bash --norc --noprofile"
    sleep 0.3
    tmux send-keys -t "$SESSION" "s=\$(date +%s%N); '$BIN' replay --speed max --quit-at-end '$file'; r=\$?; e=\$(date +%s%N); echo \$(( (e - s) / 1000000 )) \$r > '$out'; tmux wait-for -S '$SESSION'" Enter
    if ! timeout 120 tmux wait-for "$SESSION"; then echo "ui_load.sh: the UI did not finish within 120 s" >&2; exit 1; fi
    tmux kill-session -t "$SESSION"
    read -r ms rc < "$out"
    rm -f "$out"
    if [ "$rc" != 0 ]; then echo "ui_load.sh: the UI exited with status $rc on $file" >&2; exit 1; fi
    echo "$ms"
}

report_ms() {
    local t0
    t0=$(now_ms)
    "$BIN" report --format json "$1" >/dev/null
    echo $(($(now_ms) - t0))
}

min() { printf '%s\n' "$@" | sort -n | head -1; }

start=()
for ((i = 0; i < RUNS; i++)); do start+=("$(ui_ms assets/captures/scenario-b-dedicated.pcap)"); done
printf '%-28s %10s %10s %8s %8s\n' capture "ui ms" "report ms" "ui/rep" "flows"
printf '%-28s %10s\n' "start (590 packets)" "$(min "${start[@]}")"
for f in "${FILES[@]}"; do
    cat "$f" >/dev/null
    ui=() rep=()
    for ((i = 0; i < RUNS; i++)); do
        ui+=("$(ui_ms "$f")")
        rep+=("$(report_ms "$f")")
    done
    u=$(min "${ui[@]}") r=$(min "${rep[@]}")
    flows=$("$BIN" report --format json "$f" | grep -o '"flows":[0-9]*' | tail -1 | cut -d: -f2)
    printf '%-28s %10s %10s %8s %8s\n' "$(basename "$f")" "$u" "$r" "$(awk -v u="$u" -v r="$r" 'BEGIN { printf "%.2f", u / r }')" "$flows"
done
