# lessons_01_06.sh — bad input to lessons 01 to 06 (issue 13), sourced by
# checks/bad_input.sh (its try, try_safe, fixtures and variables).
#
# Tiny data sets (1, 2, 3 and 50 images, fewer than a batch): lessons 03 to
# 06 adapt to them (exit 0): the sample grid shows the classes there are, a
# batch is at most the whole set, lesson 04 times its batch of 100 on the
# set's images repeated, lesson 05 checks gradients on at most three images
# and never reads past the set. Hostile folder names reach gnuplot only as
# text, through every plot script these lessons use. A --out that cannot
# take files is refused before any work; an output file that is a symlink to
# /dev/full is replaced, not written through; one that cannot be written is
# an error naming it; a plot that is not drawn is a warning, exit 1, and the
# data files are still written.

# What a lesson prints when it starts working: its first section heading.
L0106_WORK_STARTED="^== 1\\."

# l0106_refuse AREA CASE MESSAGE COMMAND...: a lesson refuses its flags: exit
# 2, MESSAGE (an extended regex) on stderr, and no section started (nothing
# was worked out before the refusal).
l0106_refuse() {
    area=$1 what=$2 message=$3
    shift 3
    "$@" > "$WORK/stdout" 2> "$WORK/stderr" < /dev/null
    got=$?
    first=$(grep -m1 . "$WORK/stderr")
    verdict=$(verdict_of 2)
    if [ "$verdict" = ok ] && ! grep -q -E -e "$message" "$WORK/stderr"; then
        verdict="no message matching '$message'"
    elif [ "$verdict" = ok ] && grep -q -E "$L0106_WORK_STARTED" "$WORK/stdout"; then
        verdict="refused only after starting work"
    fi
    row "$area" "$what" "$got" "$first" "$verdict" "$@"
}

# l0106_replaces AREA CASE FILE COMMAND...: FILE is a symlink to /dev/full
# before the command; the command must finish (within a minute), exit 0, and
# leave FILE a regular file with data in it (the symlink replaced).
l0106_replaces() {
    area=$1 what=$2 file=$3
    shift 3
    mkdir -p "$(dirname "$file")" && rm -rf "$file" && ln -s /dev/full "$file"
    timeout 60 "$@" > "$WORK/stdout" 2> "$WORK/stderr" < /dev/null
    got=$?
    first="(exit $got) $(grep -m1 -E "Wrote .*$(basename "$file")" "$WORK/stdout")"
    verdict=$(verdict_of 0)
    if [ "$got" -eq 124 ]; then
        verdict="hung: stopped after 60 s"
    elif [ "$verdict" = ok ] && { [ -L "$file" ] || [ ! -f "$file" ] || [ ! -s "$file" ]; }; then
        verdict="$(basename "$file") is not a regular file with data afterwards"
    fi
    row "$area" "$what" "$got" "$first" "$verdict" "$@"
}

# l0106_unwritable AREA CASE FILE MESSAGE COMMAND...: FILE cannot be written
# (a folder stands in its place, so the final rename fails): the command must
# exit 2 naming FILE on stderr, and print MESSAGE (an extended regex: what it
# had computed by then) on stdout.
l0106_unwritable() {
    area=$1 what=$2 file=$3 message=$4
    shift 4
    mkdir -p "$file"
    "$@" > "$WORK/stdout" 2> "$WORK/stderr" < /dev/null
    got=$?
    first=$(grep -m1 . "$WORK/stderr")
    verdict=$(verdict_of 2)
    if [ "$verdict" = ok ] && ! grep -q -F "$file" "$WORK/stderr"; then
        verdict="the error does not name $file"
    elif [ "$verdict" = ok ] && ! grep -q -E -e "$message" "$WORK/stdout"; then
        verdict="the results were not printed ('$message')"
    elif [ "$verdict" = ok ] && grep -q -E "^Wrote .*$(basename "$file")" "$WORK/stdout"; then
        verdict="it claims to have written $(basename "$file")"
    fi
    row "$area" "$what" "$got" "$first" "$verdict" "$@"
}

# l0106_unplotted AREA CASE OUT CSV COMMAND...: gnuplot fails on every plot
# (LL_PLOTS names a folder without the scripts): exit 1 with a warning, the
# data file OUT/CSV written all the same, and no PNG claimed as written.
l0106_unplotted() {
    area=$1 what=$2 out=$3 csv=$4
    shift 4
    rm -rf "$out"
    env LL_PLOTS="$WORK/l0106-noplots" "$@" --out "$out" > "$WORK/stdout" 2> "$WORK/stderr" < /dev/null
    got=$?
    first=$(grep -m1 "not drawn" "$WORK/stderr")
    verdict=$(verdict_of 1)
    if [ "$verdict" = ok ] && [ -z "$first" ]; then
        verdict="no warning naming the plot"
    elif [ "$verdict" = ok ] && [ ! -s "$out/$csv" ]; then
        verdict="$csv was not written"
    elif [ "$verdict" = ok ] && grep -q -E "^Wrote .*\\.png" "$WORK/stdout"; then
        verdict="it claims a PNG it did not draw"
    fi
    row "$area" "$what" "$got" "$first" "$verdict" "$@" --out "$out"
}

L0106_AREA="lessons 01-06"
L0106_LESSON() { echo "$BUILD/lessons/lesson-$1"; }

# Tiny data sets: every lesson that reads data adapts to 1, 2, 3 and 50 images.
for l in 03 04 05 06; do
    for n in 1 2 3 50; do
        try_run "$L0106_AREA" "lesson $l --smoke on $n image(s)" 0 \
            "$(L0106_LESSON "$l")" --smoke --data "$WORK/n$n" --out "$WORK/o-$l"
    done
done

# Hostile --out names, relative (run in $WORK/run), through every plot script
# of these lessons: 01 gemm_speed, 02 activations, 03 images and softmax_bars,
# 04 descent and difference_error, 05 accuracy and loss, 06 optimizer_paths
# and optimizer_losses.
for l in 01 02 03 04 05 06; do
    data=""
    case $l in
    03 | 04 | 06) data="$WORK/n50" ;;
    05) data="$FASHION" ;;
    esac
    for out in "x'.system('touch PWNED').'" "Bob's data" '<touch PWNED' '|touch PWNED'; do
        if [ -n "$data" ]; then
            try_safe "$L0106_AREA" "lesson $l --out $out" "$(L0106_LESSON "$l")" --smoke \
                --data "$data" --out "$out"
        else
            try_safe "$L0106_AREA" "lesson $l --out $out" "$(L0106_LESSON "$l")" --smoke --out "$out"
        fi
    done
done

# A data folder with an apostrophe: its name is in lesson 05's plot titles.
rm -rf "$WORK/Bob's data" && cp -r "$WORK/n50" "$WORK/Bob's data"
try_run "$L0106_AREA" "lesson 05 --data of a folder named with an apostrophe" 0 \
    "$L05" --smoke --data "$WORK/Bob's data" --out "$WORK/o-05"

# Flags: only digits for --seed, and flags that do not apply are refused.
l0106_refuse "$L0106_AREA" "--seed with a space and a minus" "digits only" \
    "$(L0106_LESSON 01)" --seed " -3"
l0106_refuse "$L0106_AREA" "--seed with a plus" "digits only" "$(L0106_LESSON 01)" --seed +3
l0106_refuse "$L0106_AREA" "--data to lesson 01, which reads no data" "reads no data" \
    "$(L0106_LESSON 01)" --data "$WORK/n50"
l0106_refuse "$L0106_AREA" "--data to lesson 02, which reads no data" "reads no data" \
    "$(L0106_LESSON 02)" --data "$WORK/n50"
l0106_refuse "$L0106_AREA" "--lr to lesson 06, which compares several rates" "--lr" \
    "$(L0106_LESSON 06)" --lr 0.1
l0106_refuse "$L0106_AREA" "--gpu to lesson 04, which trains no network with it" "--gpu" \
    "$(L0106_LESSON 04)" --gpu

# --out that cannot take files: refused before any work, naming why.
l0106_refuse "$L0106_AREA" "--out naming an existing file" "afile" \
    "$(L0106_LESSON 01)" --smoke --out "$WORK/afile"
l0106_refuse "$L0106_AREA" "--out /dev/full" "/dev/full" "$(L0106_LESSON 05)" --smoke --out /dev/full
l0106_refuse "$L0106_AREA" "--out of 5000 characters" "characters long.*limit" \
    "$(L0106_LESSON 03)" --smoke --out "$WORK/$(printf '%05000d' 0)"

# An output file that is a symlink to /dev/full is replaced by the real file:
# no hang, no silent loss (the CSV of lesson 01, the training log of lesson 05).
l0106_replaces "$L0106_AREA" "lesson 01: gemm.csv a symlink to /dev/full" "$WORK/o-sym01/gemm.csv" \
    "$(L0106_LESSON 01)" --smoke --out "$WORK/o-sym01"
l0106_replaces "$L0106_AREA" "lesson 05: train.csv a symlink to /dev/full" "$WORK/o-sym05/train.csv" \
    "$L05" --smoke --data "$WORK/n50" --out "$WORK/o-sym05"

# An output file that cannot be written (a folder in its way): an error
# naming it, after the work it could do was done and printed (lessons 05 and
# 06 write their iteration logs after training, so training is not lost).
l0106_unwritable "$L0106_AREA" "lesson 02: activations.csv cannot be written" \
    "$WORK/o-unw02/activations.csv" "Six activations" \
    "$(L0106_LESSON 02)" --smoke --out "$WORK/o-unw02"
l0106_unwritable "$L0106_AREA" "lesson 05: iterations.csv cannot be written after training" \
    "$WORK/o-unw05/iterations.csv" "test accuracy [0-9.]+, train" \
    "$L05" --smoke --data "$WORK/n50" --out "$WORK/o-unw05"
l0106_unwritable "$L0106_AREA" "lesson 06: one iteration log cannot be written, the race goes on" \
    "$WORK/o-unw06/iterations_sgd.csv" "Wrote .*losses\.csv" \
    "$(L0106_LESSON 06)" --smoke --data "$WORK/n50" --out "$WORK/o-unw06"

# gnuplot fails on every plot: a warning each, exit 1, the data still written.
mkdir -p "$WORK/l0106-noplots"
l0106_unplotted "$L0106_AREA" "lesson 02: no plot can be drawn" "$WORK/o-np02" activations.csv \
    "$(L0106_LESSON 02)" --smoke
l0106_unplotted "$L0106_AREA" "lesson 06: no plot can be drawn" "$WORK/o-np06" losses.csv \
    "$(L0106_LESSON 06)" --smoke --data "$WORK/n50"
