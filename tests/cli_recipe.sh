#!/usr/bin/env bash
# Issue 12 on the command line: the augmentation policies (grids), the optimisers and schedules,
# --recipe, and every bad-input path of them (exit 2, the flag named), on a small real slice of
# CIFAR-10 (the first 12 JPEGs per class of /work/shared/data/cifar10, symlinked).
set -uo pipefail
simclr=$1
data=${SIMCLR_CIFAR10_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/cifar10}
if [ ! -d "$data/train" ]; then echo "SKIP: no CIFAR-10 JPEG folders at $data"; exit 77; fi
source "$(dirname "$0")/harness.sh"

cifar10_slice "$data" "$work/cifar" 12 12
cifar=(--dataset folder --data-dir "$work/cifar" --image-size 32)

# ---- augmentation policies ----
for policy in seed simclr byol; do
    expect_status 0 "augment --augment $policy" "$simclr" augment "${cifar[@]}" --augment $policy --n 4 --out "$work/grid_$policy.png"
    if [ -s "$work/grid_$policy.png" ]; then pass "$policy grid written"; else fail "$policy grid missing"; fi
done
if ! cmp -s "$work/grid_simclr.png" "$work/grid_byol.png"; then pass "simclr and byol grids differ"; else fail "simclr grid equals byol grid"; fi
expect_status 0 "augment at 96 px (blur on)" "$simclr" augment --dataset folder --data-dir "$work/cifar" --image-size 96 --augment simclr --n 2 --out "$work/grid96.png"
expect_status 2 "probability above 1" "$simclr" augment "${cifar[@]}" --augment simclr --grayscale-probability 1.5 --out "$work/x.png"
expect_text "$work/err" "--grayscale-probability" "probability flag named"
expect_status 2 "negative blur probability" "$simclr" augment "${cifar[@]}" --augment byol --blur-probability 1,-0.2 --out "$work/x.png"
expect_text "$work/err" "--blur-probability" "blur probability flag named"
expect_status 2 "scales out of order" "$simclr" augment "${cifar[@]}" --augment simclr --crop-scale 0.9,0.2 --out "$work/x.png"
expect_text "$work/err" "--crop-scale" "crop scale flag named"
expect_status 2 "crop larger than the image" "$simclr" augment "${cifar[@]}" --augment simclr --crop-scale 0.5,1.5 --out "$work/x.png"
expect_text "$work/err" "larger than the image" "crop larger than the image explained"
expect_status 2 "ratios out of order" "$simclr" augment "${cifar[@]}" --augment simclr --crop-ratio 1.3,0.7 --out "$work/x.png"
expect_text "$work/err" "--crop-ratio" "crop ratio flag named"
expect_status 2 "malformed pair" "$simclr" augment "${cifar[@]}" --augment simclr --crop-ratio 0.7 --out "$work/x.png"
expect_text "$work/err" "MIN,MAX" "malformed pair says what was expected"
expect_status 2 "policy flag with the seed pipeline" "$simclr" augment "${cifar[@]}" --color-strength 0.5 --out "$work/x.png"
expect_text "$work/err" "--color-strength" "seed pipeline refuses a policy flag"
expect_status 2 "unknown policy" "$simclr" augment "${cifar[@]}" --augment moco --out "$work/x.png"
if [ ! -e "$work/x.png" ]; then pass "no grid after bad input"; else fail "grid written despite bad input"; fi

# ---- optimisers, schedules, --recipe ----
small=(--unlabeled-batch 16 --labeled-batch 4 --test-batch 60 --width 16 --depth 2 --quiet)
expect_status 0 "pretrain --help" "$simclr" pretrain --help
expect_text "$work/out" "--recipe seed|simclr" "--help lists --recipe"
expect_text "$work/out" "lars at 0.3 with --lr-scaling linear" "--help says what the simclr recipe sets"
expect_text "$work/out" "--optimizer adam|adamw|sgd|lars" "--help lists the optimisers"
expect_status 2 "negative weight decay" "$simclr" pretrain "${cifar[@]}" --optimizer sgd --weight-decay -0.1 --out "$work/r"
expect_text "$work/err" "--weight-decay" "negative weight decay names the flag"
expect_status 2 "warm-up longer than the run" "$simclr" pretrain "${cifar[@]}" --epochs 2 --warmup-epochs 3 --out "$work/r"
expect_text "$work/err" "--warmup-epochs 3 is longer than the run" "long warm-up names the flag"
expect_status 2 "weight decay with adam" "$simclr" baseline "${cifar[@]}" --weight-decay 0.01 --out "$work/r"
expect_text "$work/err" "--optimizer adamw" "weight decay with adam points to adamw"
expect_status 2 "nesterov with adamw" "$simclr" baseline "${cifar[@]}" --optimizer adamw --nesterov --out "$work/r"
expect_text "$work/err" "--nesterov" "nesterov with adamw names the flag"
expect_status 2 "unknown optimizer" "$simclr" baseline "${cifar[@]}" --optimizer rmsprop --out "$work/r"
expect_text "$work/err" "--optimizer" "unknown optimizer names the flag"
expect_status 2 "unknown recipe" "$simclr" pretrain "${cifar[@]}" --recipe moco --out "$work/r"
expect_status 2 "unknown schedule" "$simclr" pretrain "${cifar[@]}" --lr-schedule step --out "$work/r"

expect_status 0 "pretrain --recipe simclr" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --recipe simclr --epochs 2 --steps-per-epoch 3 --out "$work/simclr"
expect_text "$work/err" "warm-up is 10% of the run (0.2 epochs)" "short run: the warm-up clamp is announced"
expect_text "$work/err" "LARS on the seed's encoder, which has no BatchNorm" "LARS on the seed's encoder: the divergence notice"
expect_text "$work/simclr/pretrain_config.json" '"head_bn": 0' "the recipe leaves the seed's head without BatchNorm"
expect_text "$work/simclr/pretrain_config.json" '"settings": "lars momentum=0.9 nesterov=0 weight_decay=1e-06 trust_coefficient=0.001 lr_schedule=cosine warmup_epochs=0.2 lr_scaling=linear"' "recipe: lars, cosine, warm-up, linear scaling"
expect_text "$work/simclr/pretrain_config.json" '"contrastive": "simclr color_strength=0.5' "recipe: simclr augmentation at strength 0.5 for 32 px"
expect_text "$work/simclr/pretrain_config.json" '"temperature": 0.5,' "recipe: temperature 0.5 for 32 px"
expect_text "$work/simclr/pretrain_config.json" '"loss": "nt-xent"' "recipe: NT-Xent"
expect_text "$work/simclr/pretrain_history.csv" "val_p_loss,lr," "history has the lr column"
# lr at the last step of epoch 1 (step 2 of 6, 1 warm-up step... 0.2 x 3 = 0.6 -> 1 step):
# base 0.3 x 20 / 256 = 0.0234375, cosine over 5 steps: step 2 is 1/5 of the way.
lr1=$(awk -F, 'NR == 2 { print $8 }' "$work/simclr/pretrain_history.csv")
want=$(awk 'BEGIN { printf "%.6f", 0.0234375 * 0.5 * (1 + cos(3.141592653589793 / 5)) }')
if [ "$(printf "%.6f" "$lr1")" = "$want" ]; then pass "history lr is the schedule's ($lr1)"; else fail "history lr $lr1, expected $want"; fi
expect_status 0 "recipe overridden by flags" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --recipe simclr --optimizer sgd --nesterov --temperature 0.2 --augment byol --warmup-epochs 0 --epochs 1 --steps-per-epoch 2 --out "$work/override"
expect_text "$work/override/pretrain_config.json" '"settings": "sgd momentum=0.9 nesterov=1 weight_decay=1e-06 lr_schedule=cosine warmup_epochs=0 lr_scaling=linear"' "flags override the recipe, the rest stays"
expect_text "$work/override/pretrain_config.json" '"temperature": 0.2,' "--temperature overrides the recipe"
expect_text "$work/override/pretrain_config.json" '"contrastive": "byol' "--augment overrides the recipe"
expect_status 2 "resume with another optimizer" "$simclr" pretrain "${cifar[@]}" "${small[@]}" --recipe simclr --optimizer adamw --epochs 2 --steps-per-epoch 3 --resume "$work/simclr"
expect_text "$work/err" "used lars momentum" "resume names the recorded optimizer"
expect_status 0 "baseline with adamw and sqrt scaling" "$simclr" baseline "${cifar[@]}" "${small[@]}" --optimizer adamw --weight-decay 0.05 --lr-scaling sqrt --epochs 1 --out "$work/adamw"
expect_text "$work/adamw/baseline_history.csv" "val_loss,lr," "baseline history has the lr column"
lr=$(awk -F, 'NR == 2 { print $6 }' "$work/adamw/baseline_history.csv")
if [ "$(printf "%.6f" "$lr")" = "0.002000" ]; then pass "sqrt scaling: 0.001 x sqrt(4)"; else fail "sqrt scaling gave lr $lr"; fi

harness_finish
