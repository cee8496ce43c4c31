#!/usr/bin/env sh
# Redraws the README's screenshots of the bundled lab captures with `acrscope snapshot`
# (default size 120x40, the end of each capture). tests/snapshot.rs fails while these files
# differ from what the code draws; after a deliberate change of the screen, run this, look at
# the pictures, and commit them.
set -eu
cd "$(dirname "$0")/../.."
for capture in assets/captures/scenario-*.pcap; do
  name=$(basename "$capture" .pcap)
  for ext in svg png; do
    cargo run --release --quiet -- snapshot "$capture" --end -o "docs/screenshots/$name.$ext"
  done
  echo "docs/screenshots/$name.svg docs/screenshots/$name.png"
done
# The README's recording of a replay (asciicast v2).
cargo run --release --quiet -- snapshot assets/captures/scenario-b-dedicated.pcap \
  --cast docs/screenshots/scenario-b-dedicated.cast
echo docs/screenshots/scenario-b-dedicated.cast
# The golden text screen of tests/snapshot.rs, drawn the same way.
cargo run --release --quiet -- snapshot assets/captures/scenario-b-dedicated.pcap --end \
  -o tests/golden/scenario-b-dedicated.120x40.txt
echo tests/golden/scenario-b-dedicated.120x40.txt
