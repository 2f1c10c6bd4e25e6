#!/bin/sh
# gradcheck_gpu.sh — one layer's `gradcheck LAYER --gpu`, as CTest and
# `make check-gpu` run it; run it with sh.
#
#   sh gradcheck_gpu.sh GRADCHECK LAYER [ARG...]
#
# With a GPU the three-way check must pass (exit 0, "PASS: LAYER, three-way").
# Without one, gradcheck must exit 2 saying "no GPU found: <why>", which
# passes here, unless LL_REQUIRE_GPU is set (make check-gpu): then it fails.
set -u
[ $# -ge 2 ] || { echo "usage: sh gradcheck_gpu.sh GRADCHECK LAYER [ARG...]" >&2; exit 2; }
gc=$1
layer=$2
shift 2
out=$("$gc" "$layer" --gpu "$@" 2>&1)
rc=$?
printf '%s\n' "$out"
case $rc in
0)
    if printf '%s\n' "$out" | grep -q "^PASS: $layer, three-way"; then
        exit 0
    fi
    echo "gradcheck_gpu.sh: exit 0 but no 'PASS: $layer, three-way' line" >&2
    exit 1 ;;
2)
    if printf '%s\n' "$out" | grep -q "no GPU found: "; then
        if [ -n "${LL_REQUIRE_GPU:-}" ] && [ "${LL_REQUIRE_GPU}" != 0 ]; then
            echo "gradcheck_gpu.sh: no GPU, and LL_REQUIRE_GPU is set: a failure" >&2
            exit 1
        fi
        echo "gradcheck_gpu.sh: no GPU here: the message above is the expected answer"
        exit 0
    fi
    echo "gradcheck_gpu.sh: $layer --gpu: exit 2 without 'no GPU found' (see above)" >&2
    exit 1 ;;
*)
    echo "gradcheck_gpu.sh: $layer --gpu: exit $rc (see above)" >&2
    exit 1 ;;
esac
