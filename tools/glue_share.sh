#!/bin/sh
# glue_share.sh — how much of lib/layers is the layer-object adapter ("glue").
#
#   sh tools/glue_share.sh
#
# Glue: the lines from "/* --- the layer object --- */" to the end of each
# layer file (the object's struct, its ops, setup, constructor and
# descriptor), against all lines of lib/layers/*.c and *.h, blank lines and
# comments included. Printed beside it: the hooks that say what the gradient
# checker must know about a layer's maths (valid inputs, degenerate shapes),
# which some files keep in a section of that name just above the object.
set -eu
cd "$(dirname "$0")/../lib/layers"
total=$(cat ./*.c ./*.h | wc -l)
count() { # lines from the line equal to $1 up to the line equal to $2 (or the end)
    awk -v from="$1" -v to="$2" '
        FNR == 1 { on = 0 }
        to != "" && $0 == to { on = 0 }
        $0 == from { on = 1 }
        on { n++ }
        END { print n + 0 }' ./*.c
}
glue=$(count '/* --- the layer object --- */' '')
hooks=$(count '/* --- what the gradient checker needs to know: the hooks of the descriptor' \
              '/* --- the layer object --- */')
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }
echo "glue (layer objects): $glue of $total lines of lib/layers ($(pct "$glue" "$total"))"
echo "checker hooks beside them: $hooks lines ($(pct "$hooks" "$total")); both: $(pct $((glue + hooks)) "$total")"
missing=$(for f in ./*.c; do grep -q '^/\* --- the layer object --- \*/$' "$f" || echo "${f#./}"; done)
[ -z "$missing" ] || echo "files without a layer-object section (helpers): $(echo $missing)"
