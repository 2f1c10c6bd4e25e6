#!/bin/sh
# glue_share.sh — how much of lib/layers is the layer-object adapter ("glue"):
# the lines from "/* --- the layer object --- */" to the end of each layer
# file, against all lines of lib/layers/*.c and *.h (blank lines included).
#   sh tools/glue_share.sh
set -eu
cd "$(dirname "$0")/../lib/layers"
total=$(cat ./*.c ./*.h | wc -l)
glue=$(awk '/^\/\* --- the layer object --- \*\/$/ { on = 1 } FNR == 1 && FILENAME != last { on = 0; last = FILENAME } on { n++ } END { print n + 0 }' ./*.c)
missing=$(for f in ./*.c; do grep -q '^/\* --- the layer object --- \*/$' "$f" || echo "${f#./}"; done)
echo "glue: $glue of $total lines of lib/layers ($(awk -v g="$glue" -v t="$total" 'BEGIN { printf "%.1f%%", 100 * g / t }'))"
[ -z "$missing" ] || echo "files without a layer-object section: $(echo $missing)"
