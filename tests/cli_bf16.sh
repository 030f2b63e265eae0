#!/usr/bin/env bash
# bf16 convolutions from the command line (a test of its own, issue 23): where oneDNN has them
# (AVX-512 bf16) a bf16 baseline, its configuration, and eval reproducing the last epoch; where it
# has none, `--precision bf16` is refused (exit 2, saying so and what to use) and the test reports
# skipped as a whole.
set -uo pipefail
simclr=$1
source "$(dirname "$0")/harness.sh"
fmnist=${SIMCLR_TEST_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
if [ ! -e "$fmnist/train-images-idx3-ubyte.gz" ]; then echo "skipping: Fashion-MNIST is not installed at $fmnist"; exit 77; fi

if ! "$simclr" --version | grep -q "bf16 convolutions yes"; then
    expect_status 2 "--precision bf16 without bf16 convolutions is refused" "$simclr" baseline --epochs 1 \
        --labeled-per-class 20 --precision bf16 --quiet --out "$work/bf16"
    expect_text "$work/err" "--precision bf16: oneDNN has no bf16 convolution on this CPU (it needs AVX-512)" \
        "the refusal names the flag and says why"
    expect_text "$work/err" "use --precision fp32" "the refusal says what to use"
    if [ ! -e "$work/bf16" ]; then pass "the refused run wrote nothing"; else fail "the refused run left $work/bf16"; fi
    harness_finish || exit 1
    echo "skipping: oneDNN has no bf16 convolution on this CPU ($("$simclr" --version | tail -1))"
    exit 77
fi
expect_status 0 "bf16 baseline" "$simclr" baseline --epochs 1 --labeled-per-class 20 --precision bf16 --quiet \
    --out "$work/bf16"
expect_text "$work/bf16/baseline_config.json" '"precision": "bf16"' "bf16 recorded in the configuration"
expect_status 0 "eval bf16 checkpoint" "$simclr" eval --model "$work/bf16/baseline.safetensors"
expect_text "$work/out" "bf16 convolutions" "eval names the precision"
last_acc=$(tail -1 "$work/bf16/baseline_history.csv" | cut -d, -f4)
eval_acc=$(grep '^accuracy' "$work/out" | awk '{print $2}')
if awk -v a="$last_acc" -v b="$eval_acc" 'BEGIN { exit !(a - b < 0.00006 && b - a < 0.00006) }'; then
    pass "eval of the bf16 checkpoint reproduces the last epoch ($eval_acc)"
else fail "bf16 eval $eval_acc != last epoch $last_acc"; fi
harness_finish
