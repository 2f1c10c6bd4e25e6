#!/bin/sh
# expect_exit.sh — runs a command and fails unless it exits with the expected
# status (and, optionally, prints what it should). For the CTest entries of the
# gradcheck command line; run it with sh.
#
#   sh expect_exit.sh [-o ERE] [-e ERE] [-1] CODE COMMAND [ARG...]
#
#   -o ERE   stdout and stderr together must contain a line matching ERE
#   -e ERE   stderr must contain a line matching ERE
#   -1       stderr must be exactly one line
#   (-o and -e may be given several times; every pattern must match)
#
# Prints the command's stdout and stderr, then each verdict; exits 0 when all
# hold, 1 otherwise, 2 on a usage error of this script itself.
set -u

out_patterns=""
err_patterns=""
one_line=0
nl='
'
while [ $# -gt 0 ]; do
    case "$1" in
    -o) [ $# -ge 2 ] || { echo "expect_exit.sh: -o needs a pattern" >&2; exit 2; }
        out_patterns="$out_patterns$2$nl"; shift 2 ;;
    -e) [ $# -ge 2 ] || { echo "expect_exit.sh: -e needs a pattern" >&2; exit 2; }
        err_patterns="$err_patterns$2$nl"; shift 2 ;;
    -1) one_line=1; shift ;;
    --) shift; break ;;
    -*) echo "expect_exit.sh: unknown option '$1'" >&2; exit 2 ;;
    *) break ;;
    esac
done
if [ $# -lt 2 ]; then
    echo "usage: sh expect_exit.sh [-o ERE] [-e ERE] [-1] CODE COMMAND [ARG...]" >&2
    exit 2
fi
want=$1
shift
case "$want" in
'' | *[!0-9]*) echo "expect_exit.sh: CODE must be a number, got '$want'" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/expect_exit.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
"$@" >"$tmp/out" 2>"$tmp/err"
got=$?

echo "\$ $*"
echo "--- stdout"
cat "$tmp/out"
echo "--- stderr"
cat "$tmp/err"
echo "---"

ok=1
if [ "$got" -eq "$want" ]; then
    echo "ok: exit status $got"
else
    echo "FAILED: exit status $got, expected $want"
    ok=0
fi
cat "$tmp/out" "$tmp/err" >"$tmp/all"

# check_patterns FILE WHAT PATTERNS: every pattern (one a line) must match FILE.
check_patterns() {
    file=$1 what=$2 patterns=$3
    while IFS= read -r pattern; do
        [ -n "$pattern" ] || continue
        if grep -Eq -- "$pattern" "$file"; then
            echo "ok: $what matches /$pattern/"
        else
            echo "FAILED: $what does not match /$pattern/"
            ok=0
        fi
    done <<EOF
$patterns
EOF
}
check_patterns "$tmp/all" "output" "$out_patterns"
check_patterns "$tmp/err" "stderr" "$err_patterns"

if [ "$one_line" -eq 1 ]; then
    lines=$(wc -l <"$tmp/err" | tr -d ' ')
    if [ "$lines" -eq 1 ]; then
        echo "ok: stderr is one line"
    else
        echo "FAILED: stderr has $lines lines, expected exactly one"
        ok=0
    fi
fi

[ "$ok" -eq 1 ]
