# gradcheck.sh — issue 13, the gradient checker's command line. Sourced by
# checks/bad_input.sh (try, try_safe, $GC, $WORK and $WORK/afile come from there).
#
# What is refused must be refused before any work: a check too large to
# finish (it is estimated first, lib/gradcheck.h), a --save or --sweep folder
# that cannot take files, a step or a number that is not what the flag wants.
# A refusal that did the work first would take hours here, so `timeout` turns
# it into a failure (status 124) instead of a hang.

# How long a refusal may take: far more than the fraction of a second it needs.
GC_TIMEOUT=20

# gc_says CASE TEXT...: the case just run said each TEXT on stderr.
gc_says() {
    gc_what=$1
    shift
    for gc_text in "$@"; do
        if ! grep -qF -- "$gc_text" "$WORK/stderr"; then
            failures=$((failures + 1))
            echo "bad_input.sh: FAIL: $gc_what: stderr does not say '$gc_text'" >&2
            sed 's/^/    stderr: /' "$WORK/stderr" >&2
        fi
    done
}

# gc_no_work CASE: the case just run printed no report, so it stopped before
# checking anything.
gc_no_work() {
    if [ -s "$WORK/stdout" ]; then
        failures=$((failures + 1))
        echo "bad_input.sh: FAIL: $1: refused only after the work (stdout is not empty)" >&2
        sed 's/^/    stdout: /' "$WORK/stdout" >&2
    fi
}

# --- work that cannot finish ------------------------------------------------

what="an exhaustive check of days (every element of a batch of 1048576)"
try "work" "$what" 2 timeout "$GC_TIMEOUT" "$GC" relu --batch 1048576
gc_says "$what" "element-evaluations" "days" "--force"
gc_no_work "$what"

what="a layer with a million outputs"
try "work" "$what" 2 timeout "$GC_TIMEOUT" "$GC" affine out=1048576
gc_says "$what" "element-evaluations" "--force"
gc_no_work "$what"

what="a layer whose weights alone would fill the memory, refused before they are made"
try "work" "$what" 2 timeout "$GC_TIMEOUT" "$GC" affine out=1048576 --shape 1x2048
gc_says "$what" "limit" "--force"
gc_no_work "$what"

what="an input of 2^31 values (16 GiB in double), never allocated"
try "work" "$what" 2 timeout "$GC_TIMEOUT" "$GC" relu --shape 32768x65536
gc_says "$what" "of memory" "--force"
gc_no_work "$what"

what="--sweep of a check too large: twenty checks"
try "work" "$what" 2 timeout "$GC_TIMEOUT" "$GC" relu --batch 1000 --sweep --save "$WORK/gc-sweep-big"
gc_says "$what" "element-evaluations" "--force"
gc_no_work "$what"

# --- output that cannot be written ------------------------------------------

what="gradcheck with stdout on /dev/full"
try "output" "$what" 1 sh -c '"$0" relu > /dev/full' "$GC"
gc_says "$what" "cannot write standard output"

what="--save under a file, refused before the check"
try "output" "$what" 2 "$GC" relu --save "$WORK/afile/sub"
gc_says "$what" "--save" "afile/sub"
gc_no_work "$what"

what="--save /dev/full (not a folder)"
try "output" "$what" 2 "$GC" relu --save /dev/full
gc_says "$what" "'/dev/full' is not a folder"
gc_no_work "$what"

# 4000 characters: more than LL_PATH_MAX - LL_FILE_NAME_ROOM, refused whole
# instead of cut to another name.
GC_LONG="$WORK/$(printf '%04000d' 0)"
what="--save with a folder name of 4000 characters"
try "output" "$what" 2 "$GC" relu --save "$GC_LONG"
gc_says "$what" "characters long, more than the limit of"
gc_no_work "$what"

what="--sweep into a folder under a file, refused before the twenty checks"
try "output" "$what" 2 "$GC" sigmoid --sweep --save "$WORK/afile/sweep"
gc_says "$what" "--save"
gc_no_work "$what"

# --- flags -------------------------------------------------------------------

what="a step of 1e300"
try "flags" "$what" 2 "$GC" relu --eps 1e300
gc_says "$what" "the step h must be finite and small" "got 1e+300"
if grep -q "seed" "$WORK/stderr"; then
    failures=$((failures + 1))
    echo "bad_input.sh: FAIL: $what: the message blames the seed" >&2
fi

try "flags" "a seed with a space and a minus sign" 2 "$GC" relu --seed " -3"
try "flags" "a seed beyond 2^64 - 1" 2 "$GC" relu --seed 18446744073709551616
try "flags" "a batch with a plus sign" 2 "$GC" relu --batch +5
try "flags" "a shape with a space" 2 "$GC" relu --shape "2x 3"
try "flags" "a shape with a negative size" 2 "$GC" relu --shape 2x-3
try "flags" "a step with a leading space" 2 "$GC" relu --eps " 1e-3"
try "flags" "a layer option with a space before its value" 2 "$GC" affine "out= 4"
try "flags" "a layer option with a minus sign" 2 "$GC" affine out=-4

# --- names that must stay text -------------------------------------------------

GC_HOSTILE="x'.system('touch PWNED').'"
try_safe "injection" "--save into a folder named like gnuplot code" "$GC" relu --save "$GC_HOSTILE"
if [ ! -f "$WORK/run/$GC_HOSTILE/report.csv" ]; then
    failures=$((failures + 1))
    echo "bad_input.sh: FAIL: --save $GC_HOSTILE: no report.csv under that very name" >&2
fi
try_safe "injection" "--sweep into a folder named like gnuplot code" "$GC" relu --sweep --save "$GC_HOSTILE"
try_safe "injection" "--sweep into a folder with an apostrophe" "$GC" relu --sweep --save "Bob's data"
if [ ! -f "$WORK/run/Bob's data/sweep.csv" ]; then
    failures=$((failures + 1))
    echo "bad_input.sh: FAIL: --sweep --save \"Bob's data\": no sweep.csv there" >&2
fi
try_safe "injection" "--save into a folder named like shell code" "$GC" relu --save '$(touch PWNED)`touch PWNED`'
try_safe "injection" "--sweep into a folder named like a gnuplot pipe" "$GC" relu --sweep --save '|touch PWNED'
