# The checks the command-line tests share (sourced, not a test itself: CTest registers cli_*.sh):
# a temporary $work removed at exit, pass/fail counters, and
#   expect_status STATUS NAME COMMAND...   runs COMMAND (stdout -> $work/out, stderr -> $work/err)
#   expect_text FILE TEXT NAME             FILE contains TEXT
#   harness_finish                         prints "N passed, N failed" and exits non-zero on a failure
#   cifar10_slice SOURCE TARGET TRAIN TEST a CIFAR-10 slice of symlinks (tests/cifar10_slice.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { passes=$((passes + 1)); echo "ok   - $1"; }
fail() { failures=$((failures + 1)); echo "FAIL - $1"; }
expect_status() {
    local want=$1 name=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then pass "$name"; else
        fail "$name (exit $got, expected $want)"; sed 's/^/    /' "$work/err" "$work/out" | tail -12; fi
}
expect_text() { # expect_text FILE TEXT NAME
    if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3 (no '$2' in output)"; sed 's/^/    /' "$1" | head -5; fi
}
harness_finish() {
    echo "$passes passed, $failures failed"
    [ "$failures" -eq 0 ]
}
source "$(dirname "${BASH_SOURCE[0]}")/cifar10_slice.sh"
