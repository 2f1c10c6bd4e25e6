#!/bin/sh
# run.sh — runs the libFuzzer targets one after another (what `make fuzz` calls).
#
#   sh checks/fuzz/run.sh BUILD_DIR SECONDS TARGET...
#
# Each TARGET (idx, npy, model) runs BUILD_DIR/checks/fuzz/fuzz_TARGET for
# SECONDS seconds on BUILD_DIR/corpus/TARGET: a working copy that the checked-in
# seeds (checks/fuzz/corpus/TARGET) are copied into before every run, so what
# the fuzzer adds stays out of the repository but carries over to the next run.
# A crash, leak, undefined behaviour, out-of-memory or hang is saved under
# BUILD_DIR/artifacts/TARGET/ and printed with the command that replays it;
# the full log is BUILD_DIR/logs/TARGET.log. Every target runs even after one
# fails. Exits 0 when none found anything, 1 when one did, 2 on a usage error.
set -u

# Why these limits (docs/fuzzing.md):
# - 4 KiB inputs: the seeds are under 1.5 KiB, every check in the loaders is
#   relative to the sizes a header declares, and small inputs keep each run fast.
MAX_LEN=4096
# - 64 MB per allocation: from a 4 KiB input the loaders may legitimately
#   need a few MB (gzip inflates at most 1032 to 1, then 4 or 8 bytes per
#   pixel); anything near 64 MB means a loader believed a header.
MALLOC_LIMIT_MB=64
# - 1 GiB resident: ASan's quarantine (256 MB) and shadow memory with room to
#   spare, so only a real leak or runaway allocation reaches it.
RSS_LIMIT_MB=1024
# - 10 s per input: a loader takes microseconds; seconds mean a hang.
TIMEOUT_S=10
# What a replay needs too, so that an out-of-memory finding reproduces.
LIMITS="-max_len=$MAX_LEN -malloc_limit_mb=$MALLOC_LIMIT_MB -rss_limit_mb=$RSS_LIMIT_MB -timeout=$TIMEOUT_S"

if [ $# -lt 3 ]; then
    echo "usage: sh checks/fuzz/run.sh BUILD_DIR SECONDS TARGET... (e.g. build/fuzz 60 idx npy model)" >&2
    exit 2
fi
BUILD=$1
SECONDS_EACH=$2
shift 2
case "$SECONDS_EACH" in
    ''|*[!0-9]*|0) echo "run.sh: SECONDS must be a positive whole number, got '$SECONDS_EACH'" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)

failed=""
for t in "$@"; do
    fuzzer="$BUILD/checks/fuzz/fuzz_$t"
    if [ ! -x "$fuzzer" ] || [ ! -d "$HERE/corpus/$t" ]; then
        echo "run.sh: no fuzz target '$t' (expected $fuzzer and $HERE/corpus/$t/)" >&2
        exit 2
    fi
    corpus="$BUILD/corpus/$t"
    artifacts="$BUILD/artifacts/$t"
    log="$BUILD/logs/$t.log"
    mkdir -p "$corpus" "$artifacts" "$BUILD/logs"
    cp "$HERE/corpus/$t"/* "$corpus"/
    dict=""
    [ -f "$HERE/$t.dict" ] && dict="-dict=$HERE/$t.dict"
    echo "== fuzz_$t: ${SECONDS_EACH} s on $corpus ($(ls "$corpus" | wc -l) inputs) =="
    # One process, one job: the machine is shared. OpenBLAS threads would only add noise.
    # shellcheck disable=SC2086 # LIMITS is several words, dict empty or one
    OPENBLAS_NUM_THREADS=1 UBSAN_OPTIONS=print_stacktrace=1 \
        "$fuzzer" -max_total_time="$SECONDS_EACH" $LIMITS -print_final_stats=1 \
        -artifact_prefix="$artifacts/" $dict "$corpus" > "$log" 2>&1
    status=$?
    # The last status line: "#N DONE cov: C ft: F corp: K/S ... exec/s: E ..."
    grep -E '^#[0-9]+' "$log" | tail -n 1
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log"
    if [ $status -ne 0 ]; then
        failed="$failed $t"
        echo "fuzz_$t FAILED (exit $status); the report:" >&2
        grep -E 'ERROR: |SUMMARY: |runtime error: |promise broken|out-of-memory|timeout' "$log" | head -n 20 >&2
        for a in $(grep -oE "Test unit written to [^ ]+" "$log" | sed 's/Test unit written to //'); do
            echo "  input: $a" >&2
            echo "  replay: $fuzzer $LIMITS $a" >&2
        done
        echo "  full log: $log" >&2
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: found problems in:$failed (see above; docs/fuzzing.md says how to turn one into a regression test)" >&2
    exit 1
fi
echo "fuzz: no crash, leak, undefined behaviour, out-of-memory or hang in: $*"
