#!/usr/bin/env bash
# The item analysis fixture cannot drift: re-run the independent Python reference
# (standard library only) and compare with the committed expected.json that the Rust
# test `scoring::items::tests::matches_the_python_reference` reads.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/functions/domain/tests/data/item_analysis"
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
python3 "$dir/reference.py" >"$fresh"
if ! cmp -s "$fresh" "$dir/expected.json"; then
  diff -u "$dir/expected.json" "$fresh" | head -40 >&2
  echo "expected.json differs from what reference.py computes: run" >&2
  echo "  python3 $dir/reference.py > $dir/expected.json" >&2
  echo "and check why before committing" >&2
  exit 1
fi
echo "item analysis reference: expected.json matches reference.py"
