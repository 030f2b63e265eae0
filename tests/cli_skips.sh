#!/usr/bin/env bash
# A test that cannot run must show as skipped, never as passed: with the Fashion-MNIST directory
# pointed nowhere ($SIMCLR_TEST_FASHION_MNIST_DIR), every test that needs it exits 77; every test
# is registered with SKIP_RETURN_CODE 77; and no cmocka test calls skip() directly (it counts as
# a pass: tests use test_skip() and return test_exit_status(), tests/test_support.h).
set -uo pipefail
simclr=$1
build=$(cd "$(dirname "$simclr")" && pwd)
source_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { passes=$((passes + 1)); echo "ok   - $1"; }
fail() { failures=$((failures + 1)); echo "FAIL - $1"; }

export SIMCLR_TEST_FASHION_MNIST_DIR=/nonexistent/fashion-mnist
for test in test_dataset_idx test_resume test_train_fashion_mnist; do
    "$build/tests/$test" >/dev/null 2>&1
    status=$?
    if [ $status -eq 77 ]; then pass "$test without Fashion-MNIST exits 77"; else fail "$test without Fashion-MNIST exits $status"; fi
done
bash "$source_dir/tests/cli_resume.sh" "$simclr" >/dev/null 2>&1
status=$?
if [ $status -eq 77 ]; then pass "cli_resume.sh without Fashion-MNIST exits 77"; else fail "cli_resume.sh without Fashion-MNIST exits $status"; fi

# bf16 tests are their own CTest tests (NAME_bf16): on a CPU without bf16 convolutions (here:
# oneDNN capped to AVX2) the --bf16 run is skipped as a whole and the fp32 run passes on its own.
env -u SIMCLR_TEST_FASHION_MNIST_DIR ONEDNN_MAX_CPU_ISA=AVX2 "$build/tests/test_conv2d" --bf16 >"$work/bf16.out" 2>&1
status=$?
if [ $status -eq 77 ] && grep -q "skipping all 1 bf16 tests" "$work/bf16.out"; then pass "test_conv2d --bf16 without bf16 exits 77"
else fail "test_conv2d --bf16 without bf16 exits $status"; fi
ONEDNN_MAX_CPU_ISA=AVX2 "$build/tests/test_conv2d" >/dev/null 2>&1
status=$?
if [ $status -eq 0 ]; then pass "test_conv2d (fp32) without bf16 passes (exit 0, not 77)"; else fail "test_conv2d without bf16 exits $status"; fi
"$build/tests/test_conv2d" --bogus >/dev/null 2>&1
status=$?
if [ $status -eq 2 ]; then pass "a test executable refuses an unknown argument"; else fail "test_conv2d --bogus exits $status"; fi
registered=$(cd "$build" && ctest -N)
if grep -q "test_conv2d_bf16" <<<"$registered"; then pass "test_conv2d_bf16 is registered with CTest"
else fail "test_conv2d_bf16 is not registered"; fi

bare=$(grep -lE '(^|[^_a-z])skip\(\)' "$source_dir"/tests/test_*.c)
if [ -z "$bare" ]; then pass "no test calls cmocka's skip() directly"; else fail "skip() in: $bare"; fi
for file in $(grep -l 'test_skip(' "$source_dir"/tests/test_*.c); do
    if grep -qE 'test_exit_status\(cmocka_run_group_tests|test_main_with_bf16\(' "$file"; then pass "$(basename "$file") returns test_exit_status"; else
        fail "$(basename "$file") uses test_skip but does not return test_exit_status"; fi
done

missing=$(cd "$build" && ctest --show-only=json-v1 2>/dev/null | /usr/bin/python3 -c '
import json, sys
tests = json.load(sys.stdin)["tests"]
for t in tests:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    if str(props.get("SKIP_RETURN_CODE")) != "77":
        print(t["name"])
print("count", len(tests), file=sys.stderr)
' 2>"$work/count")
if [ $? -ne 0 ]; then fail "ctest --show-only=json-v1 could not be read"
elif [ -z "$missing" ]; then pass "every CTest test has SKIP_RETURN_CODE 77 ($(cat "$work/count"))"; else
    fail "without SKIP_RETURN_CODE 77: $missing"; fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
