#!/usr/bin/env bash
# Two builds of acrscope side by side on the same captures, taking turns run after run (a VM's
# speed drifts; both see the same drift): `report --format F` for each format, wall seconds and
# peak RSS, median and range over the runs, and NEW/OLD.
#
#   benches/ab.sh OLD_BIN NEW_BIN [--runs N] [--formats json,text,allowlist] FILE...
#
# Needs GNU time (/usr/bin/time, Debian package `time`).
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
OLD=$(realpath "$1") NEW=$(realpath "$2"); shift 2
RUNS=5 FORMATS=json,text,allowlist FILES=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift ;;
        --formats) FORMATS=$2; shift ;;
        *) FILES+=("$1") ;;
    esac
    shift
done
[ -x /usr/bin/time ] || { echo "ab.sh: GNU time is needed (apt-get install time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One run: "wall_seconds max_rss_kb".
one() {
    /usr/bin/time -f '%e %M' -o "$tmp/t" "$1" report --format "$2" "$3" >/dev/null 2>"$tmp/err" ||
        { echo "ab.sh: $1 failed on $3:" >&2; cat "$tmp/err" >&2; exit 1; }
    cat "$tmp/t"
}
stats() { sort -n | awk '{ v[NR] = $1 } END { printf "%.3f [%.3f-%.3f]", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
printf '%-28s %-9s %-26s %-26s %-7s %s\n' capture format "old wall s" "new wall s" new/old "peak RSS MB old / new"
for f in "${FILES[@]}"; do
    for fmt in ${FORMATS//,/ }; do
        : >"$tmp/old" ; : >"$tmp/new"
        for _ in $(seq "$RUNS"); do
            one "$OLD" "$fmt" "$f" >>"$tmp/old"
            one "$NEW" "$fmt" "$f" >>"$tmp/new"
        done
        o=$(cut -d' ' -f1 "$tmp/old" | stats) n=$(cut -d' ' -f1 "$tmp/new" | stats)
        om=$(cut -d' ' -f1 "$tmp/old" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
        nm=$(cut -d' ' -f1 "$tmp/new" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
        ro=$(cut -d' ' -f2 "$tmp/old" | sort -n | tail -1) rn=$(cut -d' ' -f2 "$tmp/new" | sort -n | tail -1)
        printf '%-28s %-9s %-26s %-26s %-7s %.1f / %.1f\n' "$(basename "$f")" "$fmt" "$o" "$n" \
            "$(awk -v a="$om" -v b="$nm" 'BEGIN { printf "%.3f", (a > 0 ? b / a : 0) }')" \
            "$(awk -v k="$ro" 'BEGIN { print k / 1000 }')" "$(awk -v k="$rn" 'BEGIN { print k / 1000 }')"
    done
done
