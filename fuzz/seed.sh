#!/usr/bin/env bash
# Seeds the fuzz corpora (fuzz/corpus/<target>/, ignored by git) from the project's captures:
# tests/corpus/real, tests/fixtures (lab pulls, broken files) and assets/captures.
# Usage: fuzz/seed.sh [OUT_DIR]   (default fuzz/corpus)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
out="${1:-$here/corpus}"
srcs=()
for d in "$root/tests/corpus/real" "$root/tests/fixtures" "$root/assets/captures"; do
  if [ -d "$d" ]; then srcs+=("$d"); else echo "seed.sh: $d not found, skipped" >&2; fi
done
mkdir -p "$out"
cargo run --quiet --release --manifest-path "$here/Cargo.toml" --example seed -- "$out" "${srcs[@]}"
