#!/usr/bin/env bash
# Writes every output acrscope makes of every capture in the repository (report text, json,
# allowlist; snapshots: txt and svg at 120x40, the endpoints view, 80x24) into a folder, so that two builds can be held byte for byte against each other:
#
#   benches/same_output.sh OUT_DIR [BINARY]          # BINARY defaults to target/release/acrscope
#   benches/same_output.sh --compare OLD_BIN NEW_BIN # both, then diff -r; exit 1 on a difference
#
# `capture.acrscope_version` (the commit) is blanked, since it differs between any two builds.
set -euo pipefail
cd "$(dirname "$0")/.."

captures() {
    find assets/captures tests/fixtures tests/corpus/real -type f \
        \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.gz' -o -name '*.zst' \) |
        LC_ALL=C sort
}

write_all() {
    local out=$1 bin=$2 f name
    mkdir -p "$out"
    while read -r f; do
        name=$(echo "$f" | tr '/' '_')
        for fmt in text json allowlist; do
            "$bin" report --format "$fmt" "$f" >"$out/$name.$fmt" 2>"$out/$name.$fmt.err" || echo "exit $?" >>"$out/$name.$fmt.err"
        done
        sed -i 's/"acrscope_version": *"[^"]*"/"acrscope_version":""/' "$out/$name.json"
        for ext in txt svg; do
            "$bin" snapshot "$f" -o "$out/$name.$ext" >/dev/null 2>"$out/$name.$ext.err" || echo "exit $?" >>"$out/$name.$ext.err"
        done
        "$bin" snapshot "$f" --view endpoints -o "$out/$name.endpoints.txt" >/dev/null 2>&1 || echo "exit $?" >>"$out/$name.endpoints.txt"
        "$bin" snapshot "$f" --size 80x24 -o "$out/$name.80x24.txt" >/dev/null 2>&1 || echo "exit $?" >>"$out/$name.80x24.txt"
    done < <(captures)
    echo "same_output.sh: $(ls "$out" | wc -l) files from $(captures | wc -l) captures in $out"
}

if [ "${1:-}" = --compare ]; then
    old=$(realpath "${2:?--compare OLD_BIN NEW_BIN}") new=$(realpath "${3:?--compare OLD_BIN NEW_BIN}")
    dir=$(mktemp -d)
    write_all "$dir/old" "$old"
    write_all "$dir/new" "$new"
    if diff -r -q "$dir/old" "$dir/new"; then
        echo "same_output.sh: identical"
        rm -rf "$dir"
    else
        echo "same_output.sh: differences kept in $dir" >&2
        exit 1
    fi
else
    write_all "${1:?usage: same_output.sh OUT_DIR [BINARY] | --compare OLD_BIN NEW_BIN}" "$(realpath "${2:-target/release/acrscope}")"
fi
