#!/bin/sh
# run.sh — builds layerlab's CUDA code for the CPU emulator and runs the GPU
# tests on it (see emu.cpp for what that does and does not show).
#
#   sh tools/cuda-emu/run.sh [f32|f64] [BUILD_DIR]
#
# Builds, without CMake, into BUILD_DIR (default build/cudaemu32 or
# build/cudaemu64): the CPU library, the .cu files of lib/gpu/ rewritten by transform.py
# and compiled by g++ against include/, test_gpu_parity and gradcheck. Then
# runs test_gpu_parity (also with LL_CUDA_MAX_BLOCKS=1) and gradcheck LAYER
# --gpu for every layer with a twin; with LL_EMU_LESSONS=1 also lessons 05 and
# 11 with --smoke --gpu. Exit status 0 when all of that passed.
set -eu
prec=${1:-f32}
case $prec in
f32) def="" ;;
f64) def="-DLL_DOUBLE" ;;
*) echo "usage: sh tools/cuda-emu/run.sh [f32|f64] [BUILD_DIR]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/../.." && pwd)
emu=$root/tools/cuda-emu
out=${2:-$root/build/cudaemu${prec#f}}
mkdir -p "$out/obj" "$out/src"
cflags="-std=c11 -O1 -g -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -DLL_HAVE_CUDA $def -I$root/lib -I/usr/include/x86_64-linux-gnu"
cxxflags="-std=c++20 -O1 -g -Wall -Werror -Wno-unused-function -Wno-format-truncation -DLL_HAVE_CUDA $def -I$emu/include -I$root/lib/gpu -I$root/lib"

# The one list of layers (lib/layers/list.h), as CMake reads it: every
# layer's header into one generated include, and the modules that live in a
# lesson's folder (lesson 13's swish) beside lib/layers/*.c.
list=$(grep -oE 'X\([a-z0-9_]+, *(gpu|cpu)\)' "$root/lib/layers/list.h")
mkdir -p "$out/generated"
modules=""
: >"$out/generated/ll_layer_headers.h"
for name in $(echo "$list" | sed 's/X(\([a-z0-9_]*\),.*/\1/'); do
    if [ -f "$root/lib/layers/$name.c" ]; then
        module=$root/lib/layers/$name
    else
        module=$(ls "$root"/lessons/*/"$name.c" | sed 's/\.c$//')
        modules="$modules $module.c"
    fi
    echo "#include \"$module.h\"" >>"$out/generated/ll_layer_headers.h"
done
cflags="$cflags -I$out/generated"
cxxflags="$cxxflags -I$out/generated"
twinned=$(echo "$list" | sed -n 's/X(\([a-z0-9_]*\), *gpu)/\1/p')

objs=""
for f in "$root"/lib/*.c "$root"/lib/layers/*.c $modules; do
    o=$out/obj/$(echo "${f#$root/}" | tr / _).o
    gcc $cflags -DLL_PLOTS_DIR="\"$root/plots\"" -c "$f" -o "$o"
    objs="$objs $o"
done
for f in "$root"/lib/gpu/*.cu "$root"/lib/gpu/*.cuh; do
    python3 "$emu/transform.py" "$f" "$out/src/$(basename "$f")"
done
for f in "$out"/src/*.cu; do
    o=$out/obj/gpu_$(basename "$f" .cu).o
    g++ $cxxflags -x c++ -c "$f" -o "$o"
    objs="$objs $o"
done
g++ $cxxflags -c "$emu/emu.cpp" -o "$out/obj/emu.o"
objs="$objs $out/obj/emu.o"
libs="-lopenblas -lz -lm -lpthread"
gcc $cflags -I"$root/checks" -c "$root/checks/test_gpu_parity.c" -o "$out/obj/test_gpu_parity.o"
gcc $cflags -I"$root/checks" -c "$root/checks/testutil.c" -o "$out/obj/testutil.o"
gcc $cflags -c "$root/checks/gradcheck_main.c" -o "$out/obj/gradcheck_main.o"
g++ -o "$out/test_gpu_parity" "$out/obj/test_gpu_parity.o" "$out/obj/testutil.o" $objs -lcmocka $libs
g++ -o "$out/gradcheck" "$out/obj/gradcheck_main.o" $objs $libs

status=0
export OPENBLAS_NUM_THREADS=1
echo "== test_gpu_parity on the CPU emulator ($prec) =="
LL_REQUIRE_GPU=1 "$out/test_gpu_parity" || status=1
echo "== test_gpu_parity on the CPU emulator ($prec), one block per launch =="
LL_REQUIRE_GPU=1 LL_CUDA_MAX_BLOCKS=1 "$out/test_gpu_parity" > "$out/one-block.txt" 2>&1 || {
    cat "$out/one-block.txt"; status=1; }
tail -n 3 "$out/one-block.txt"
echo "== gradcheck LAYER --gpu on the CPU emulator ($prec) =="
for layer in $twinned; do
    if "$out/gradcheck" "$layer" --gpu > "$out/gradcheck-$layer.txt" 2>&1; then
        echo "  pass  $layer"
    else
        echo "  FAIL  $layer: $(tail -n 1 "$out/gradcheck-$layer.txt")"
        status=1
    fi
done

# With LL_EMU_LESSONS=1: the lessons that train, --smoke --gpu, on the
# emulator (a few minutes each: every block is 256 real threads, so grids are
# capped at 8 blocks here). lesson-05's mini-batch losses must equal those of
# the same run on the CPU; lesson-11 --gpu compares the devices itself.
if [ "${LL_EMU_LESSONS:-0}" = 1 ]; then
    echo "== lessons --smoke --gpu on the CPU emulator ($prec) =="
    for n in 05-backprop 11-deep-cnn; do
        num=${n%%-*}
        gcc $cflags -c "$root/lessons/$n/main.c" -o "$out/obj/lesson-$num.o"
        g++ -o "$out/lesson-$num" "$out/obj/lesson-$num.o" $objs $libs
        if LL_CUDA_MAX_BLOCKS=8 "$out/lesson-$num" --smoke --gpu --out "$out/lesson-$num-gpu" \
            > "$out/lesson-$num-gpu.txt" 2>&1; then
            echo "  pass  lesson-$num --smoke --gpu"
        else
            echo "  FAIL  lesson-$num --smoke --gpu: $(tail -n 1 "$out/lesson-$num-gpu.txt")"
            status=1
        fi
    done
    "$out/lesson-05" --smoke --out "$out/lesson-05-cpu" > "$out/lesson-05-cpu.txt" 2>&1 || status=1
    if cmp -s "$out/lesson-05-cpu/iterations.csv" "$out/lesson-05-gpu/iterations.csv"; then
        echo "  pass  lesson-05: the same mini-batch losses on the CPU and the emulated GPU"
    else
        echo "  FAIL  lesson-05: iterations.csv differs between the CPU and the emulated GPU"
        status=1
    fi
    grep -A1 "Relative difference" "$out/lesson-11-gpu.txt" | sed 's/^/  /'
fi
exit $status
