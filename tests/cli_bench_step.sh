#!/usr/bin/env bash
# Issue 24: the bench times training's own step. simclr_bench takes the training commands'
# options (the same table) and steps the run they describe: its first step's metrics must equal
# the first epoch's metrics of a one-step training run with the same options (pretraining with
# several methods, optimizers and losses, and the baseline), to the last digit the history
# writes. Also: the bench refuses the options that describe a run's files, and times random
# images when no dataset is given. Needs the real Fashion-MNIST for the comparisons (skips
# otherwise).
set -uo pipefail
simclr=$1
bench=$(dirname "$simclr")/simclr_bench
source "$(dirname "$0")/harness.sh"

fmnist=${SIMCLR_TEST_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
if [ ! -e "$fmnist/train-images-idx3-ubyte.gz" ]; then
    echo "skipping: Fashion-MNIST is not installed in $fmnist"; exit 77 # CTest: skipped
fi
if [ ! -x "$bench" ]; then echo "FAIL - $bench is not built"; exit 1; fi
common=(--data-dir "$fmnist" --labeled-per-class 10 --unlabeled-batch 48 --labeled-batch 16 --width 16
        --epochs 1 --steps-per-epoch 1 --threads 2)

# The first history row's value of each metric the bench reports, as "name value" lines.
history_metrics() { # history_metrics CSV NAME...
    local csv=$1; shift
    awk -F, -v names="$*" 'NR == 1 { for (i = 1; i <= NF; i++) column[$i] = i }
        NR == 2 { n = split(names, list, " "); for (k = 1; k <= n; k++) print list[k], $column[list[k]] }' "$csv"
}
bench_metrics() { # bench_metrics OUTPUT NAME...: the JSON line's first_step values
    local out=$1; shift
    local json
    json=$(tail -n 1 "$out")
    local name
    for name in "$@"; do
        printf '%s %s\n' "$name" "$(printf '%s' "$json" | sed -n "s/.*\"first_step\": {[^}]*\"$name\": \([^,}]*\).*/\1/p")"
    done
}

compare_first_step() { # compare_first_step NAME COMMAND MODE METRICS -- OPTIONS...
    local name=$1 command=$2 mode=$3 metrics=$4
    shift 5
    local out=$work/$name
    if ! "$simclr" "$command" "${common[@]}" "$@" --knn-k 0 --quiet --out "$out" >"$work/out" 2>"$work/err"; then
        fail "$name: simclr $command failed"; sed 's/^/    /' "$work/err" | tail -5; return
    fi
    if ! "$bench" --mode "$mode" "${common[@]}" "$@" --steps 1 --warmup 0 >"$work/bench" 2>"$work/err"; then
        fail "$name: simclr_bench failed"; sed 's/^/    /' "$work/err" | tail -5; return
    fi
    # shellcheck disable=SC2086
    history_metrics "$out/${command}_history.csv" $metrics >"$work/want"
    # shellcheck disable=SC2086
    bench_metrics "$work/bench" $metrics >"$work/got"
    if [ -s "$work/want" ] && ! grep -q ' $' "$work/got" && cmp -s "$work/want" "$work/got"; then
        pass "$name: the bench's first step equals training's ($(tr '\n' ' ' <"$work/got"))"
    else
        fail "$name: first step differs"; paste "$work/want" "$work/got" | sed 's/^/    /'
    fi
}

compare_first_step pretrain-seed pretrain pretrain "c_acc c_loss p_acc p_loss" --
compare_first_step pretrain-ntxent-sgd pretrain pretrain "c_acc c_loss p_acc p_loss" -- \
    --loss nt-xent --optimizer sgd --learning-rate 0.05 --lr-schedule cosine
compare_first_step pretrain-byol-lars pretrain pretrain "c_acc c_loss p_acc p_loss" -- \
    --method byol --optimizer lars --learning-rate 0.3 --augment byol
compare_first_step pretrain-moco pretrain pretrain "c_acc c_loss p_acc p_loss" -- --method moco --queue-size 256
compare_first_step pretrain-resnet18 pretrain pretrain "c_acc c_loss p_acc p_loss" -- \
    --backbone resnet18 --width 8 --recipe simclr --unlabeled-batch 16 --labeled-batch 8
compare_first_step baseline baseline baseline "acc loss" --

# A later step of the bench is a later step of the run: its metrics differ from the first's.
if "$bench" --mode pretrain "${common[@]}" --steps 2 --warmup 0 >"$work/two" 2>"$work/err"; then
    pass "two steps run"
else fail "two steps"; sed 's/^/    /' "$work/err" | tail -5; fi

# Refusals: options about a run's files, evaluation or another command; --shape with a dataset.
expect_status 2 "--out refused" "$bench" --mode pretrain "${common[@]}" --out "$work/x"
expect_text "$work/err" "--out" "the refusal names --out"
expect_status 2 "--knn-k refused" "$bench" --mode pretrain "${common[@]}" --knn-k 5
expect_status 2 "--method with --mode baseline refused" "$bench" --mode baseline "${common[@]}" --method byol
expect_text "$work/err" "--method" "the refusal names --method"
expect_status 2 "--shape with --data-dir refused" "$bench" --mode pretrain "${common[@]}" --shape 28x28x1
expect_status 2 "a bad --mode refused" "$bench" --mode train
expect_status 2 "--breakdown outside pretrain refused" "$bench" --mode baseline --breakdown

# Random images (no dataset): every mode runs and reports its work.
small=(--shape 16x16x3 --unlabeled-batch 16 --labeled-batch 4 --test-batch 8 --width 8 --threads 2 --steps 1 --warmup 1)
for mode in pretrain baseline inference augment read; do
    expect_status 0 "random images, --mode $mode" "$bench" --mode "$mode" "${small[@]}"
    expect_text "$work/out" "\"mode\": \"$mode\", " "--mode $mode's JSON line"
    expect_text "$work/out" '"dataset": "synthetic"' "--mode $mode on random images says so"
done
# --mode read on a folder dataset, in memory and streamed (--cache-budget as training takes it).
data=${SIMCLR_CIFAR10_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/cifar10}
if [ -d "$data/train" ]; then
    cifar10_slice "$data" "$work/c10" 10 2
    folder=(--dataset folder --data-dir "$work/c10" --image-size 32 --unlabeled-batch 32 --labeled-batch 8
            --threads 2 --steps 1 --warmup 0 --mode read)
    expect_status 0 "--mode read, in memory" "$bench" "${folder[@]}"
    expect_text "$work/out" '"streamed": false' "in memory says so"
    expect_status 0 "--mode read, streamed" "$bench" "${folder[@]}" --cache-budget 1
    expect_text "$work/out" '"streamed": true' "streamed says so"
    expect_text "$work/err" "streamed from disk" "the choice is told as training tells it"
else
    echo "skip - --mode read on a folder dataset (no CIFAR-10 folders at $data)"
fi
expect_status 0 "--breakdown" "$bench" --mode pretrain "${small[@]}" --breakdown
expect_text "$work/out" "encoder" "--breakdown lists the encoder's layers"
harness_finish
