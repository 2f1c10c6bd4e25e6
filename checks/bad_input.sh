#!/bin/sh
# bad_input.sh — every kind of bad input we know of, tried for real.
#
#   sh checks/bad_input.sh BUILD_DIR [--markdown]
#
# Builds broken data sets and model files in a temporary folder, runs the
# lessons and gradcheck of BUILD_DIR on each, and checks what the user sees:
# a non-zero exit status (never 0, never a crash: 128 and above is a signal),
# and a message on stderr. With --markdown it prints the rows of the table in
# docs/bad-input.md (case, command, exit status, first line of stderr), so the
# page can be regenerated from the real program:
#
#   sh checks/bad_input.sh build/f32 --markdown
#
# Exits 0 when every case behaves, 1 when one does not, 2 on a usage error.
set -u

if [ $# -lt 1 ] || [ ! -x "$1/checks/gradcheck" ]; then
    echo "usage: sh checks/bad_input.sh BUILD_DIR [--markdown] (BUILD_DIR/checks/gradcheck must exist)" >&2
    exit 2
fi
BUILD=$(cd "$1" && pwd)
MARKDOWN=0
[ "${2:-}" = "--markdown" ] && MARKDOWN=1
GC="$BUILD/checks/gradcheck"
L05="$BUILD/lessons/lesson-05"
L10="$BUILD/lessons/lesson-10"
FASHION=/usr/share/datasets/fashion-mnist
# The highest status a program exits with by itself; above it the shell
# reports a signal (a crash).
LAST_NORMAL_STATUS=127
# What a run that goes on without gnuplot must print.
NOTICE="gnuplot is not installed"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/layerlab-bad-input.XXXXXX") || exit 2
trap 'rm -rf "$WORK"' EXIT INT TERM
failures=0

# --- fixtures -------------------------------------------------------------

# An IDX header: magic (0, 0, type 0x08 = unsigned byte, number of dims), then
# each dimension as a big-endian 32-bit count.
idx_header() { # dims...
    python3 -c '
import struct, sys
dims = [int(d) for d in sys.argv[1:]]
sys.stdout.buffer.write(bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims))
' "$@"
}

# A data folder with the four Fashion-MNIST files, to be broken one at a time.
fresh_data() { # dir
    mkdir -p "$1" && cp "$FASHION"/*.gz "$1"/
}

make_fixtures() {
    fresh_data "$WORK/truncated"
    head -c 100000 "$FASHION/train-images-idx3-ubyte.gz" > "$WORK/truncated/train-images-idx3-ubyte.gz"

    fresh_data "$WORK/swapped"
    cp "$FASHION/train-labels-idx1-ubyte.gz" "$WORK/swapped/train-images-idx3-ubyte.gz"

    fresh_data "$WORK/counts"
    cp "$FASHION/t10k-labels-idx1-ubyte.gz" "$WORK/counts/train-labels-idx1-ubyte.gz"

    fresh_data "$WORK/notgzip"
    printf 'this is not gzip data, just text with a .gz name\n' > "$WORK/notgzip/train-images-idx3-ubyte.gz"

    fresh_data "$WORK/empty"
    : > "$WORK/empty/t10k-labels-idx1-ubyte.gz"

    # Raw (uncompressed) files of 10 images: labels with a class 12, images of
    # 32x32 for training against 28x28 for testing, and a header claiming far
    # more images than the file holds.
    mkdir -p "$WORK/label12" "$WORK/sizes" "$WORK/huge"
    for d in label12 sizes huge; do
        { idx_header 10 28 28; head -c 7840 /dev/zero; } > "$WORK/$d/t10k-images-idx3-ubyte"
        { idx_header 10; printf '\000\001\002\003\004\005\006\007\010\011'; } > "$WORK/$d/t10k-labels-idx1-ubyte"
        cp "$WORK/$d/t10k-images-idx3-ubyte" "$WORK/$d/train-images-idx3-ubyte"
        cp "$WORK/$d/t10k-labels-idx1-ubyte" "$WORK/$d/train-labels-idx1-ubyte"
    done
    { idx_header 10; printf '\000\001\002\014\004\005\006\007\010\011'; } > "$WORK/label12/train-labels-idx1-ubyte"
    { idx_header 10 32 32; head -c 10240 /dev/zero; } > "$WORK/sizes/train-images-idx3-ubyte"
    { idx_header 2000000000 28 28; head -c 7840 /dev/zero; } > "$WORK/huge/train-images-idx3-ubyte"

    # Lesson 10's model, saved by a smoke run, then damaged three ways.
    "$L10" --smoke --out "$WORK/l10" > /dev/null 2>&1 || {
        echo "bad_input.sh: lesson-10 --smoke failed, cannot make the model fixtures" >&2
        exit 2
    }
    MODEL="$WORK/l10/model.safetensors"
    head -c 5000 "$MODEL" > "$WORK/truncated.safetensors"
    printf 'not a model' > "$WORK/garbage.safetensors"
    # The same file with its first weight renamed: a model of another network.
    python3 - "$MODEL" "$WORK/renamed.safetensors" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
header["conv9.W"] = header.pop("conv0.W")
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
EOF
    # The same file with one weight's shape changed (and its size kept).
    python3 - "$MODEL" "$WORK/reshaped.safetensors" <<'EOF'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
shape = header["affine5.W"]["shape"]
header["affine5.W"]["shape"] = [shape[1], shape[0]]
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
EOF
    # A file where a folder should be: mkdir fails even for root, which
    # ignores permission bits.
    : > "$WORK/afile"

    # Tiny data sets: the first 1, 2, 3 and 50 images (fewer than a batch of
    # 100) of Fashion-MNIST, for both training and testing. Every lesson must
    # work on them or refuse clearly, and never read past them.
    for n in 1 2 3 50; do
        tiny_data "$WORK/n$n" "$n"
    done
}

# A data folder holding the first n images and labels of Fashion-MNIST, raw
# (uncompressed), as both training and test set.
tiny_data() { # dir n
    mkdir -p "$1"
    python3 - "$FASHION" "$1" "$2" <<'EOF'
import gzip, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for kind, dims in (("images-idx3-ubyte", 3), ("labels-idx1-ubyte", 1)):
    raw = gzip.open("%s/train-%s.gz" % (src, kind)).read()
    shape = list(struct.unpack(">%dI" % dims, raw[4:4 + 4 * dims]))
    per = 1
    for d in shape[1:]:
        per *= d
    shape[0] = n
    body = raw[4 + 4 * dims:4 + 4 * dims + n * per]
    out = raw[:4] + struct.pack(">%dI" % dims, *shape) + body
    for split in ("train", "t10k"):
        open("%s/%s-%s" % (dst, split, kind), "wb").write(out)
EOF
}

# The marker a successful injection would create (in the folder the programs
# run in); its existence after any case is a failure.
PWNED_NAME=PWNED

# --- one case -------------------------------------------------------------

# row AREA CASE STATUS FIRST VERDICT COMMAND...: counts a verdict other than
# ok as a failure (with the case's stderr) and prints the table row
# (--markdown) or the verdict line. Every kind of case ends here.
row() {
    area=$1 what=$2 got=$3 first=$4 verdict=$5
    shift 5
    shown=$(printf '%s' "$*" | sed "s|$WORK|TMP|g; s|$BUILD/checks/||g; s|$BUILD/lessons/||g")
    first=$(printf '%s' "$first" | sed "s|$WORK|TMP|g; s|$BUILD|BUILD|g; s/^ *//")
    if [ "$verdict" != ok ]; then
        failures=$((failures + 1))
        echo "bad_input.sh: FAIL: $what: $verdict" >&2
        sed 's/^/    stderr: /' "$WORK/stderr" >&2
    fi
    if [ "$MARKDOWN" -eq 1 ]; then
        # A command may hold '|' and '`': escaped pipes, and a code span
        # opened with two backticks.
        printf '| %s | %s | `` %s `` | %s | %s |\n' "$area" "$what" \
            "$(printf '%s' "$shown" | sed 's/|/\\|/g')" "$got" "$(printf '%s' "$first" | sed 's/|/\\|/g')"
    else
        echo "$verdict: $what (exit $got)"
    fi
}

# What a sanitizer (ASan, UBSan, LSan) prints when it finds something.
SANITIZER_REPORT="Sanitizer|runtime error:"

# verdict_of WANT: the verdict on the last run ($got, $WORK/stdout and
# $WORK/stderr): a crash, a sanitizer report, another status, or a failure
# without a message on stderr are not ok.
verdict_of() {
    if [ "$got" -gt "$LAST_NORMAL_STATUS" ]; then
        echo "CRASH (status $got)"
    elif grep -q -E "$SANITIZER_REPORT" "$WORK/stderr" "$WORK/stdout"; then
        echo "sanitizer report"
    elif [ "$got" -ne "$1" ]; then
        echo "exit $got, expected $1"
    elif [ "$1" -ne 0 ] && [ -z "$(grep -m1 . "$WORK/stderr")" ]; then
        echo "no message"
    else
        echo ok
    fi
}

# try AREA CASE EXPECTED_STATUS COMMAND... : runs the command, checks the
# status and that stderr says something, and prints a table row (--markdown)
# or a verdict line.
try() {
    area=$1 what=$2 want=$3
    shift 3
    "$@" > "$WORK/stdout" 2> "$WORK/stderr" < /dev/null
    got=$?
    # A failure speaks on stderr; a run that succeeds despite the problem
    # (no gnuplot) says so in its output.
    if [ "$want" -eq 0 ]; then
        first=$(grep -m1 -i "$NOTICE" "$WORK/stdout")
    else
        first=$(grep -m1 . "$WORK/stderr")
    fi
    verdict=$(verdict_of "$want")
    [ "$verdict" = ok ] && [ -z "$first" ] && verdict="no message"
    row "$area" "$what" "$got" "$first" "$verdict" "$@"
}

# try_run AREA CASE EXPECTED COMMAND...: like try, for cases that must also
# succeed: exit 0 (its last line of output is shown), or EXPECTED with a
# message on stderr; never a crash, never a sanitizer report.
try_run() {
    area=$1 what=$2 want=$3
    shift 3
    "$@" > "$WORK/stdout" 2> "$WORK/stderr" < /dev/null
    got=$?
    if [ "$want" -eq 0 ]; then
        first="(exit 0) $(grep . "$WORK/stdout" | tail -n 1)"
    else
        first=$(grep -m1 . "$WORK/stderr")
    fi
    row "$area" "$what" "$got" "$first" "$(verdict_of "$want")" "$@"
}

# try_safe AREA CASE COMMAND... : a hostile string that must be taken as plain
# text: the command may succeed (0) or refuse (2 with a message), but must not
# crash, and no file named $PWNED_NAME may appear (the programs run in $WORK/run).
try_safe() {
    area=$1 what=$2
    shift 2
    (cd "$WORK/run" && "$@") > "$WORK/stdout" 2> "$WORK/stderr" < /dev/null
    got=$?
    first=$(grep -m1 . "$WORK/stderr")
    [ "$got" -eq 0 ] && first="(exit 0: the string was taken as text)"
    verdict=ok
    if [ -n "$(find "$WORK" -name "$PWNED_NAME*" 2>/dev/null)" ]; then
        verdict="INJECTION: $(find "$WORK" -name "$PWNED_NAME*" | head -1) was created"
        find "$WORK" -name "$PWNED_NAME*" -exec rm -rf {} + 2>/dev/null
    elif [ "$got" -gt "$LAST_NORMAL_STATUS" ]; then
        verdict="CRASH (status $got)"
    elif [ "$got" -ne 0 ] && [ "$got" -ne 2 ]; then
        verdict="exit $got, expected 0 or 2"
    elif [ "$got" -ne 0 ] && [ -z "$first" ]; then
        verdict="no message"
    fi
    row "$area" "$what" "$got" "$first" "$verdict" "$@"
}

# --- the cases ------------------------------------------------------------

make_fixtures
mkdir -p "$WORK/run"

try "data" "--data names a folder that does not exist" 2 "$L05" --smoke --data "$WORK/nonexistent" --out "$WORK/o"
try "data" "a gzip file cut short" 2 "$L05" --smoke --data "$WORK/truncated" --out "$WORK/o"
try "data" "a labels file where the images belong (wrong magic)" 2 "$L05" --smoke --data "$WORK/swapped" --out "$WORK/o"
try "data" "60000 images but 10000 labels" 2 "$L05" --smoke --data "$WORK/counts" --out "$WORK/o"
try "data" "a .gz file that is not gzip" 2 "$L05" --smoke --data "$WORK/notgzip" --out "$WORK/o"
try "data" "an empty file" 2 "$L05" --smoke --data "$WORK/empty" --out "$WORK/o"
try "data" "a label outside 0..9" 2 "$L05" --smoke --data "$WORK/label12" --out "$WORK/o"
try "data" "training images 32x32, test images 28x28" 2 "$L05" --smoke --data "$WORK/sizes" --out "$WORK/o"
try "data" "a header claiming 2e9 images in a small file" 2 "$L05" --smoke --data "$WORK/huge" --out "$WORK/o"
try "data" "LL_DATA set to a folder that does not exist" 2 env LL_DATA="$WORK/nowhere" "$L05" --smoke --out "$WORK/o"

try "model" "--load of a file that does not exist" 2 "$L10" --load "$WORK/none.safetensors" --out "$WORK/o"
try "model" "--load of a model cut short" 2 "$L10" --load "$WORK/truncated.safetensors" --out "$WORK/o"
try "model" "--load of a file that is not safetensors" 2 "$L10" --load "$WORK/garbage.safetensors" --out "$WORK/o"
try "model" "--load of a model with another network's names" 2 "$L10" --load "$WORK/renamed.safetensors" --out "$WORK/o"
try "model" "--load of a model with a weight of another shape" 2 "$L10" --load "$WORK/reshaped.safetensors" --out "$WORK/o"

try "flags" "an unknown lesson option" 2 "$L05" --bogus
try "flags" "a negative seed" 2 "$L05" --seed -3
try "flags" "a seed that is not a number" 2 "$L05" --seed abc
try "flags" "an option without its value" 2 "$L05" --data
try "flags" "--full and --smoke together" 2 "$L05" --full --smoke
try "flags" "--out under a file, not a folder" 2 "$L05" --smoke --out "$WORK/afile/sub"
try "flags" "--lr that is not a positive number" 2 "$L05" --lr -1
try "flags" "--lr to a lesson that compares several rates" 2 "$BUILD/lessons/lesson-07" --lr 0.1
try "flags" "gradcheck of an unknown layer" 2 "$GC" convolution
try "flags" "gradcheck with no layer" 2 "$GC"
try "flags" "a layer option that does not exist" 2 "$GC" conv strides=2
try "flags" "a layer option with a bad value" 2 "$GC" affine out=0
try "flags" "a step that is not positive" 2 "$GC" relu --eps 0
try "flags" "a step that is not a number" 2 "$GC" relu --eps tiny
try "flags" "--save under a file, not a folder" 2 "$GC" relu --save "$WORK/afile/sub"

try "shapes" "a shape with a zero" 2 "$GC" relu --shape 0x3
try "shapes" "a shape that is not AxBxCxD" 2 "$GC" relu --shape 3by4
try "shapes" "a shape with five dimensions" 2 "$GC" relu --shape 2x2x2x2x2
try "shapes" "a kernel larger than the padded input" 2 "$GC" conv kernel=9 --shape 1x1x4x4
try "shapes" "groups that do not divide the channels" 2 "$GC" groupnorm groups=3
try "shapes" "a reshape to a different number of elements" 2 "$GC" reshape --shape 2x6 shape=5x2

try "training" "a learning rate so large that the loss becomes NaN" 1 "$L05" --smoke --lr 1e100 --out "$WORK/o"

# CUDA_VISIBLE_DEVICES= hides every GPU, so these mean the same on a GPU machine.
try "gpu" "gradcheck --gpu with no GPU (or a build without CUDA)" 2 env CUDA_VISIBLE_DEVICES= "$GC" relu --gpu
try "gpu" "lesson --gpu with no GPU (or a build without CUDA)" 2 env CUDA_VISIBLE_DEVICES= "$L05" --smoke --gpu --out "$WORK/o"
try "gpu" "--gpu to a lesson that trains no network" 2 "$BUILD/lessons/lesson-03" --gpu

try "plots" "gnuplot missing from PATH (still exits 0: the data is written)" 0 env PATH=/nonexistent "$L05" --smoke --out "$WORK/o"

# The cases of each area of issue 13 live in their own file, sourced here
# (they use row, try, try_run, try_safe, verdict_of and the fixtures above).
for cases in "$(dirname "$0")"/bad_input.d/*.sh; do
    [ -f "$cases" ] && . "$cases"
done

if [ "$MARKDOWN" -eq 0 ]; then
    echo "bad_input.sh: $failures case(s) misbehaved"
fi
[ "$failures" -eq 0 ]
