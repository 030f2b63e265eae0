#!/usr/bin/env bash
# Issue 13 on the command line: every --method trains a few steps on a small real slice of CIFAR-10
# (the first 12 JPEGs per class of /work/shared/data/cifar10, symlinked) with a finite loss, the
# probe and kNN columns in its history and its own tensors in the checkpoint; a run stopped after
# epoch 1 of 2 and resumed ends with the uninterrupted run's tensors, bit for bit; and the bad
# input (a method's flag with another method, a queue larger than memory, resuming with another
# method) exits 2 naming the flags, before anything is written.
set -uo pipefail
simclr=$1
data=${SIMCLR_CIFAR10_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/cifar10}
if [ ! -d "$data/train" ]; then echo "SKIP: no CIFAR-10 JPEG folders at $data"; exit 77; fi
source "$(dirname "$0")/harness.sh"

cifar10_slice "$data" "$work/cifar" 12 12
cifar=(--dataset folder --data-dir "$work/cifar" --image-size 32)
small=(--unlabeled-batch 16 --labeled-batch 4 --test-batch 60 --width 16 --depth 2 --steps-per-epoch 3 --quiet)

# The tensor bytes of a safetensors file (everything after its JSON header): equal for two runs
# that trained the same weights, whatever their metadata (paths, seconds) says.
tensor_bytes() {
    local header
    header=$(od -An -t u8 -N 8 "$1" | tr -d ' ')
    tail -c +$((8 + header + 1)) "$1"
}
has_tensor() { grep -a -q -- "\"$2" "$1"; } # has_tensor FILE NAME-PREFIX

expect_status 0 "pretrain --help" "$simclr" pretrain --help
expect_text "$work/out" "--method simclr|moco|byol|simsiam|barlow|vicreg" "--help lists the methods"
expect_text "$work/out" "--ema-momentum" "--help lists --ema-momentum"
expect_text "$work/out" "moco 0.99, byol 0.996" "--help gives the EMA defaults"

declare -A extra=([simclr]="" [moco]="--queue-size 64" [byol]="" [simsiam]="" [barlow]="" [vicreg]="")
declare -A tensors=([simclr]="" [moco]="moco.queue key_encoder. key_head." [byol]="target_encoder. target_head. predictor. optimizer.predictor.m"
                    [simsiam]="predictor. optimizer.predictor.m" [barlow]="" [vicreg]="")
for method in simclr moco byol simsiam barlow vicreg; do
    # shellcheck disable=SC2086
    expect_status 0 "$method: 2 epochs" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method $method ${extra[$method]} --epochs 2 --out "$work/$method"
    history="$work/$method/pretrain_history.csv"
    expect_text "$history" "val_p_acc" "$method: history has the probe columns"
    expect_text "$history" "val_knn_acc" "$method: history has the kNN column"
    loss=$(awk -F, 'NR == 3 { print $3 }' "$history")
    if awk -v l="$loss" 'BEGIN { exit !(l == l + 0 && l != "nan" && l != "inf" && l != "-inf") }'; then
        pass "$method: loss finite ($loss)"; else fail "$method: loss '$loss'"; fi
    expect_text "$work/$method/pretrain_config.json" "\"method\": \"$method\"" "$method: the config records the method"
    for tensor in ${tensors[$method]}; do
        if has_tensor "$work/$method/pretrain.safetensors" "$tensor"; then pass "$method: checkpoint holds $tensor*"
        else fail "$method: no $tensor* in the checkpoint"; fi
    done
    if [ "$method" = simclr ] || [ "$method" = barlow ] || [ "$method" = vicreg ]; then
        if ! has_tensor "$work/$method/pretrain.safetensors" "target_"; then pass "$method: no target network saved"
        else fail "$method: a target network in the checkpoint"; fi
    fi
done
expect_text "$work/moco/pretrain.safetensors" '"moco.queue_position":"48"' "moco: ring position saved (2 x 3 steps x 40 keys through 64 rows: 240 mod 64)"
expect_text "$work/moco/pretrain_config.json" '"temperature": 0.2,' "moco: temperature 0.2 by default"

# Exact resume: epoch 1 of 2, then --resume with --epochs 2. BYOL's EMA momentum follows the run's
# total steps, so its first epoch must know there are two: it is stopped with --stop-after-steps instead.
for method in simclr moco simsiam barlow vicreg; do
    # shellcheck disable=SC2086
    "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method $method ${extra[$method]} --epochs 1 --out "$work/resumed-$method" >/dev/null 2>&1
    # shellcheck disable=SC2086
    expect_status 0 "$method: --resume to epoch 2" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method $method ${extra[$method]} --epochs 2 --resume "$work/resumed-$method"
    if cmp -s <(tensor_bytes "$work/$method/pretrain.safetensors") <(tensor_bytes "$work/resumed-$method/pretrain.safetensors"); then
        pass "$method: resumed run's tensors equal the uninterrupted run's, bit for bit"
    else fail "$method: resumed tensors differ"; fi
done
byol_steps=(--unlabeled-batch 16 --labeled-batch 4 --test-batch 60 --width 16 --depth 2 --steps-per-epoch 24 --quiet --method byol --epochs 2)
expect_status 0 "byol: 2 epochs of 24 steps" "$simclr" pretrain "${cifar[@]}" "${byol_steps[@]}" --out "$work/byol-straight"
# Stopped after 30 of its 48 steps (in epoch 2), as an interruption stops it.
"$simclr" pretrain "${cifar[@]}" "${byol_steps[@]}" --stop-after-steps 30 --out "$work/byol-stopped" >/dev/null 2>"$work/err"
status=$?
if [ $status -eq 130 ]; then
    pass "byol: --stop-after-steps saves and exits 130"
    expect_status 0 "byol: --resume after the stop" "$simclr" pretrain "${cifar[@]}" "${byol_steps[@]}" --resume "$work/byol-stopped"
    if cmp -s <(tensor_bytes "$work/byol-straight/pretrain.safetensors") <(tensor_bytes "$work/byol-stopped/pretrain.safetensors"); then
        pass "byol: resumed run's tensors (target networks, predictor) equal the uninterrupted run's"
    else fail "byol: resumed tensors differ"; fi
else fail "byol: --stop-after-steps 30 (exit $status)"; cat "$work/err"; fi

# ---- bad input ----
expect_status 2 "--queue-size with byol" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method byol --queue-size 128 --out "$work/bad"
expect_text "$work/err" "--queue-size applies to --method moco, not --method byol" "names the flag and both methods"
expect_status 2 "--loss with moco" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method moco --loss nt-xent --out "$work/bad"
expect_text "$work/err" "--loss applies to --method simclr, not --method moco" "--loss names simclr"
expect_status 2 "--temperature with barlow" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method barlow --temperature 0.3 --out "$work/bad"
expect_status 2 "--predictor-hidden with vicreg" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method vicreg --predictor-hidden 8 --out "$work/bad"
expect_status 2 "--vicreg-weights malformed" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method vicreg --vicreg-weights 25,25 --out "$work/bad"
expect_text "$work/err" "INV,VAR,COV" "malformed weights say what was expected"
expect_status 2 "--method with baseline" "$simclr" baseline "${cifar[@]}" "${small[@]}" --method byol --out "$work/bad"
expect_status 2 "unknown method" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method dino --out "$work/bad"
SIMCLR_MEMORY_LIMIT=$((512 * 1024 * 1024)) expect_status 2 "queue larger than memory" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method moco --queue-size 10000000 --out "$work/bad"
expect_text "$work/err" "--queue-size" "the memory refusal names --queue-size"
if [ ! -e "$work/bad" ]; then pass "nothing written after bad input"; else fail "bad input wrote $work/bad"; fi
expect_status 2 "resume with another method" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --method byol --epochs 3 --resume "$work/resumed-moco"
expect_text "$work/err" "--method: the run in $work/resumed-moco used moco, this command gives byol" "resume names the checkpoint's method"

harness_finish
