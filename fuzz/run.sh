#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + LeakSanitizer + UBSan) into build-fuzz/
# through CMake (-DSIMCLR_FUZZ=ON: the library's own source lists, CMakeLists.txt) and runs each
# for a bounded time and/or number of executions, then prints a summary table.
#
#   fuzz/run.sh [TARGET...]              fuzz each target (default: all)
#   fuzz/run.sh --replay [TARGET...]     run the seed corpora and fuzz/regressions/ once, no fuzzing
#   fuzz/run.sh --make-corpus            regenerate the committed seeds fuzz/corpus/ (make_corpus.c)
#
# Environment:
#   FUZZ_SECONDS   seconds per target (-max_total_time; default 60, 0 = no time limit)
#   FUZZ_RUNS      executions per target (-runs; default: no limit). With both set, whichever
#                  comes first ends the run: `FUZZ_RUNS=1000000 FUZZ_SECONDS=0` runs exactly 1e6.
#   FUZZ_OUT       build and output folder (default build-fuzz)
#   FUZZ_JOBS      parallel compile jobs (default 1; `make fuzz` and `make fuzz-replay` pass JOBS)
#   FUZZ_NICE      run the build and the fuzzers under `nice -n FUZZ_NICE` (default 0: not niced)
#   FUZZ_ARGS      extra libFuzzer flags, e.g. "-max_len=65536" or "-jobs=2"
#
# fuzz/<target>.dict, when present, is passed as the libFuzzer dictionary.
# Each target fuzzes a working corpus FUZZ_OUT/corpus/<target>/ (kept between runs; new inputs go
# there) seeded from the committed fuzz/corpus/<target>/ and fuzz/regressions/<target>/, which
# are only read. The targets run one after the other, with OMP_NUM_THREADS=1 unless it is set.
# A crash, leak, timeout or out-of-memory is saved as FUZZ_OUT/crashes/<target>/<kind>-<sha1>;
# the script then exits non-zero. To keep one as a regression test, copy it into
# fuzz/regressions/<target>/ (tests/test_fuzz_regressions.c replays that folder in `make test`).
set -u
cd "$(dirname "$0")/.."

# Every fuzz/fuzz_<target>.c is a target (CMakeLists.txt globs the same files).
ALL_TARGETS=""
for source in fuzz/fuzz_*.c; do
    source=${source#fuzz/fuzz_}
    ALL_TARGETS+="${ALL_TARGETS:+ }${source%.c}"
done
OUT=${FUZZ_OUT:-build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
RUNS=${FUZZ_RUNS:-}
JOBS=${FUZZ_JOBS:-1}
NICE=${FUZZ_NICE:-0}
EXTRA=${FUZZ_ARGS:-}

niced() {
    if [ "$NICE" != 0 ]; then nice -n "$NICE" "$@"; else "$@"; fi
}

mode=fuzz
case "${1:-}" in
--make-corpus)
    mkdir -p "$OUT"
    niced clang -std=c11 -O1 -g -Wall -Wextra -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
        $(pkg-config --cflags libpng) fuzz/make_corpus.c -o "$OUT/make_corpus" \
        $(pkg-config --libs libpng) -ljpeg -lz || exit 1
    exec "$OUT/make_corpus"
    ;;
--replay) mode=replay; shift ;;
-h | --help) sed -n '2,25p' "$0"; exit 0 ;;
esac

targets=${*:-$ALL_TARGETS}
for target in $targets; do
    case " $ALL_TARGETS " in
    *" $target "*) ;;
    *) echo "fuzz/run.sh: unknown target '$target' (expected: $ALL_TARGETS)" >&2; exit 2 ;;
    esac
done

if ! command -v clang >/dev/null; then
    echo "fuzz/run.sh: clang is missing (scripts/install-deps.sh fuzz)" >&2
    exit 2
fi
# CC is read when the folder is first configured; CMakeLists.txt refuses a non-clang compiler.
# MPI is left out: no target parses with it.
mkdir -p "$OUT"
CC=clang niced cmake -S . -B "$OUT" -DSIMCLR_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug -DSIMCLR_MPI=OFF \
    >"$OUT/configure.log" 2>&1 || { cat "$OUT/configure.log" >&2; exit 1; }
niced cmake --build "$OUT" -j"$JOBS" --target $(printf 'fuzz_%s ' $targets) || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

failed=0
summary=""
for target in $targets; do
    binary="$OUT/fuzz_$target"
    crashes="$OUT/crashes/$target"
    work="$OUT/corpus/$target"
    log="$OUT/logs/$target.log"
    mkdir -p "$crashes" "$work" "$OUT/logs"
    seeds=("fuzz/corpus/$target")
    [ -d "fuzz/regressions/$target" ] && seeds+=("fuzz/regressions/$target")
    flags=(-print_final_stats=1 -timeout=25 -rss_limit_mb=2560 -artifact_prefix="$crashes/")
    [ -f "fuzz/$target.dict" ] && flags+=(-dict="fuzz/$target.dict")
    # --help output of the option parser would flood the log.
    [ "$target" = options ] && flags+=(-close_fd_mask=1)
    if [ "$mode" = replay ]; then
        # The files themselves, not their folders: libFuzzer then runs each input once and writes
        # nothing (given folders it would add what it finds to the committed seeds).
        mapfile -t dirs < <(find "${seeds[@]}" -type f | sort)
    else
        [ "$SECONDS_PER_TARGET" != 0 ] && flags+=(-max_total_time="$SECONDS_PER_TARGET")
        [ -n "$RUNS" ] && flags+=(-runs="$RUNS")
        dirs=("$work" "${seeds[@]}")
    fi
    echo "== fuzz_$target ${flags[*]} $EXTRA ${dirs[*]}"
    start=$(date +%s)
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    niced "$binary" "${flags[@]}" $EXTRA "${dirs[@]}" >"$log" 2>&1
    status=$?
    elapsed=$(($(date +%s) - start))
    # A crashed target cannot remove its scratch folder (fuzz/fuzz_common.h): remove those whose
    # process is gone.
    for scratch in /dev/shm/simclr-fuzz-* "${TMPDIR:-/tmp}"/simclr-fuzz-*; do
        [ -d "$scratch" ] || continue
        pid=${scratch##*/simclr-fuzz-}
        pid=${pid%%-*}
        case "$pid" in *[!0-9]* | "") continue ;; esac
        kill -0 "$pid" 2>/dev/null || rm -rf "$scratch"
    done
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    # The inputs in the working corpus after fuzzing; those replayed with --replay.
    if [ "$mode" = replay ]; then corpus=$(find "${seeds[@]}" -type f | wc -l)
    else corpus=$(find "$work" -type f | wc -l); fi
    result=ok
    if [ "$status" != 0 ]; then
        result="FAILED (exit $status)"
        failed=1
        grep -E "^==[0-9]+==ERROR|SUMMARY|fuzz check failed|runtime error|Test unit written" \
            "$log" | head -n 12
        echo "   full log: $log"
    fi
    summary+=$(printf '%-12s %8s %12s %8s %8s  %s' "$target" "$elapsed" "${executions:-?}" \
        "${per_second:-?}" "$corpus" "$result")$'\n'
done

echo
printf '%-12s %8s %12s %8s %8s  %s\n' target seconds executions exec/s corpus result
printf '%s' "$summary"
if [ "$failed" != 0 ]; then
    echo "Crashing inputs are in $OUT/crashes/<target>/; reproduce with $OUT/fuzz_<target> FILE."
    exit 1
fi
