#!/bin/sh
# check-gpu.sh — what `make check-gpu` runs, in each CUDA build tree given:
#
#   sh tools/check-gpu.sh build/gpu32 build/gpu64
#   sh tools/check-gpu.sh --probe build/gpu32     step 1 only
#
#  1. asks the library for the GPU (gradcheck relu --gpu): without one it
#     stops at once, saying "no GPU found: <why>", and exits 1;
#  2. CTest's GPU tests with LL_REQUIRE_GPU=1, so a skip is a failure: the
#     parity suite (twice: with the normal grid, and with one block per launch
#     so every grid-stride loop turns more than once), gradcheck --gpu of the
#     twinned layers, and the --twin-cpu checks of the machinery;
#  3. gradcheck LAYER --gpu for every registered layer, the twinless ones
#     included (they fail: "layer X has no CUDA twin yet"), each report kept
#     in TREE/gradcheck-gpu/LAYER.txt.
# Exits 0 only when everything passed.
set -u
probe_only=0
if [ "${1:-}" = --probe ]; then
    probe_only=1
    shift
fi
[ $# -ge 1 ] || { echo "usage: sh tools/check-gpu.sh [--probe] TREE..." >&2; exit 2; }

# Step 1: is there a GPU? The library's own answer, through gradcheck --gpu.
probe() {
    gc=$1/checks/gradcheck
    if [ ! -x "$gc" ]; then
        echo "make check-gpu: $gc is missing: build the tree first" >&2
        exit 1
    fi
    out=$("$gc" relu --gpu 2>&1)
    if [ $? -ne 0 ] && printf '%s\n' "$out" | grep -q "no GPU found"; then
        why=$(printf '%s\n' "$out" | sed -n 's/.*no GPU found: //p' | head -n 1)
        echo "" >&2
        echo "make check-gpu: no GPU found: $why" >&2
        echo "make check-gpu: FAILED: the GPU checks need an NVIDIA GPU; nothing was checked." >&2
        echo "make check-gpu: (make check runs everything that needs no GPU.)" >&2
        exit 1
    fi
}

status=0
for tree in "$@"; do
    probe "$tree"
    [ $probe_only -eq 1 ] && continue
    gc=$tree/checks/gradcheck
    echo "== GPU tests in $tree =="
    LL_REQUIRE_GPU=1 ctest --test-dir "$tree" --output-on-failure -R 'gpu|twin|test_tensor' || status=1
    echo "== gradcheck LAYER --gpu for every layer in $tree (reports in $tree/gradcheck-gpu/) =="
    mkdir -p "$tree/gradcheck-gpu"
    for layer in $("$gc" --list | sed -n 's/^  \([a-z_][a-z_0-9]*\) .*/\1/p'); do
        report=$tree/gradcheck-gpu/$layer.txt
        if "$gc" "$layer" --gpu > "$report" 2>&1; then
            echo "  pass  $layer"
        else
            echo "  FAIL  $layer: $(tail -n 1 "$report")"
            status=1
        fi
    done
done
[ $probe_only -eq 1 ] && exit 0
if [ $status -ne 0 ]; then
    echo "make check-gpu: FAILED (see above)" >&2
else
    echo "make check-gpu: every GPU check passed"
fi
exit $status
