# lessons_07_12.sh — bad input to lessons 07 to 13 and the bench (issue 13),
# sourced by checks/bad_input.sh (its try, try_safe, fixtures and variables).
#
# Tiny data sets (1, 2, 3 and 50 images, fewer than a batch): each lesson
# adapts (exit 0) or refuses clearly (exit 2) — lessons 08 and 11 need two
# images for BatchNorm's batch statistics, lesson 09 two for a training set
# and a validation split. Hostile folder names reach gnuplot only as text.
# A plot that fails costs lesson 10 nothing it trained: model.safetensors is
# written first.

# l0712_keeps_model AREA CASE EXPECTED MESSAGE OUT COMMAND...: lesson 10 hit
# a failure after training (a plot): it must exit EXPECTED, say
# MESSAGE (an extended regex) on stderr, and still have written
# OUT/model.safetensors, a model that loads back.
l0712_keeps_model() {
    area=$1 what=$2 want=$3 message=$4 out=$5
    shift 5
    "$@" > "$WORK/stdout" 2> "$WORK/stderr" < /dev/null
    got=$?
    first=$(grep -m1 -E "$message" "$WORK/stderr")
    verdict=$(verdict_of "$want")
    if [ "$verdict" != ok ]; then
        :
    elif [ -z "$first" ]; then
        verdict="no message matching '$message'"
    elif [ ! -s "$out/model.safetensors" ]; then
        verdict="the trained model was not saved"
    elif ! "$L10" --load "$out/model.safetensors" --data "$WORK/n50" --out "$WORK/l0712-load" \
            > /dev/null 2>&1; then
        verdict="the saved model does not load back"
    fi
    row "$area" "$what" "$got" "$first" "$verdict" "$@"
}

# --- fixtures ---------------------------------------------------------------

L0712_HOSTILE="x'.system('touch PWNED').'"
# A data folder whose name is gnuplot code if it were ever pasted into a
# script (lesson 10 puts the data set's name in a plot title).
mkdir -p "$WORK/l0712-data/$L0712_HOSTILE"
cp "$WORK"/n50/* "$WORK/l0712-data/$L0712_HOSTILE/"
# A gnuplot that fails, first in PATH: every plot fails.
mkdir -p "$WORK/l0712-fakegp"
printf '#!/bin/sh\necho "fake gnuplot: failing on purpose" >&2\nexit 1\n' > "$WORK/l0712-fakegp/gnuplot"
chmod +x "$WORK/l0712-fakegp/gnuplot"
# An output folder where train.csv is a folder: the log is refused before
# any training (ll_file_create checks the target).
mkdir -p "$WORK/l0712-logdir/train.csv"

# --- tiny data sets -----------------------------------------------------------

for n in 1 2 3 50; do
    for lesson in 07 08 09 10 11 13; do
        want=0
        case "$lesson-$n" in
        08-1 | 09-1 | 11-1) want=2 ;;
        esac
        try_run "data" "lesson $lesson on $n image(s) (fewer than a batch)" "$want" \
            "$BUILD/lessons/lesson-$lesson" --smoke --data "$WORK/n$n" --out "$WORK/o-$lesson"
    done
done

# --- hostile names into gnuplot -------------------------------------------------

for out in "$L0712_HOSTILE" "Bob's data" '<touch PWNED'; do
    try_safe "plots" "lesson 08 (bn_grid.gp) with --out $out" \
        "$BUILD/lessons/lesson-08" --smoke --data "$WORK/n50" --out "$out"
    try_safe "plots" "lesson 10 with --out $out" "$L10" --smoke --data "$WORK/n50" --out "$out"
done
try_safe "plots" "lesson 10 with a data folder named like gnuplot code (its name is in a title)" \
    "$L10" --smoke --data "$WORK/l0712-data/$L0712_HOSTILE" --out "$WORK/o-10"

# --- results before anything optional ---------------------------------------

l0712_keeps_model "plots" "lesson 10 when gnuplot fails: model.safetensors first, exit 1" 1 \
    "warning: plot .*accuracy\.png not drawn" "$WORK/l0712-fakegp-out" \
    env PATH="$WORK/l0712-fakegp:$PATH" "$L10" --smoke --data "$WORK/n50" --out "$WORK/l0712-fakegp-out"
try "files" "lesson 10 when train.csv is a folder (refused before training)" 2 \
    "$L10" --smoke --data "$WORK/n50" --out "$WORK/l0712-logdir"

# --- flags that do not apply ---------------------------------------------------

try "flags" "--load to a lesson that saves no model" 2 "$BUILD/lessons/lesson-07" --load "$WORK/afile"
try "flags" "--gpu to the bug zoo, which trains no network" 2 "$BUILD/lessons/lesson-12" --gpu
try "flags" "--lr to lesson 13, which trains two networks alike" 2 "$BUILD/lessons/lesson-13" --lr 0.5
for out in "$L0712_HOSTILE" '<touch PWNED'; do
    try_safe "plots" "lesson 13 (its own layer) with --out $out" \
        "$BUILD/lessons/lesson-13" --smoke --data "$WORK/n50" --out "$out"
done
try "flags" "lesson 10 --load with --smoke (a flag of training)" 2 \
    "$L10" --load "$WORK/l10/model.safetensors" --smoke --out "$WORK/o-10"
try "flags" "lesson 10 --load with --lr (a flag of training), even at its default" 2 \
    "$L10" --load "$WORK/l10/model.safetensors" --lr 0.001 --out "$WORK/o-10"
try "flags" "lesson 10 --load with --seed (a flag of training)" 2 \
    "$L10" --load "$WORK/l10/model.safetensors" --seed 3 --out "$WORK/o-10"


# --- the bench ---------------------------------------------------------------------

L0712_BENCH="$BUILD/checks/bench/bench"
if [ -x "$L0712_BENCH" ]; then
    try "bench" "--out under a file, not a folder" 2 "$L0712_BENCH" --quick --out "$WORK/afile/sub"
    for out in "$L0712_HOSTILE" '<touch PWNED'; do
        try_safe "bench" "bench with --out $out" \
            "$L0712_BENCH" --quick --only train --no-torch --data "$WORK/n50" --out "$out"
    done
fi
