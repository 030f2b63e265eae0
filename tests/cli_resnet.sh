#!/usr/bin/env bash
# ResNet backbones from the command line (issue 11): a short ResNet-18 pretraining run on a
# CIFAR-10 slice (2 steps), eval and predict on its checkpoint, resume, finetune from it, the
# refusals (a stem that does not fit the image, widths out of range, a checkpoint of another
# backbone: exit 2, the flag named). cli_resnet_torchvision.sh loads such a checkpoint into
# torchvision.models.resnet18.
set -uo pipefail
simclr=$1
data=${SIMCLR_CIFAR10_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/cifar10}
if [ ! -d "$data/train" ] || [ ! -d "$data/test" ]; then
    echo "skipping: no CIFAR-10 folders at $data"
    exit 77
fi
source "$(dirname "$0")/harness.sh"

# A slice: 8 train and 4 test images per class, as symlinks.
cifar10_slice "$data" "$work/c10" 8 4
common=(--dataset folder --data-dir "$work/c10" --image-size 32 --quiet)
small=(--unlabeled-batch 6 --labeled-batch 4 --test-batch 20 --steps-per-epoch 2)

# Bad input first: exit 2 before any allocation, the flag named.
expect_status 2 "imagenet stem on 28x28" "$simclr" pretrain --dataset folder --data-dir "$work/c10" --image-size 28 \
    --backbone resnet18 --stem imagenet --epochs 1 --out "$work/bad"
expect_text "$work/err" "--stem imagenet" "the stem that does not fit is named"
expect_text "$work/err" "28x28" "the image size is named"
expect_status 2 "head wider than 8192" "$simclr" pretrain "${common[@]}" --backbone resnet18 --head-hidden 9000 --out "$work/bad"
expect_text "$work/err" "--head-hidden" "the head width is named"
expect_status 2 "unknown backbone" "$simclr" pretrain "${common[@]}" --backbone resnet101 --out "$work/bad"
expect_text "$work/err" "--backbone" "the backbone flag is named"
expect_status 2 "--head-bn with --no-head-bn" "$simclr" pretrain "${common[@]}" --backbone resnet18 --head-bn --no-head-bn --out "$work/bad"
expect_text "$work/err" "--no-head-bn" "the conflicting flags are named"

# --recipe simclr gives a ResNet the paper's BatchNorm head; --no-head-bn takes it away.
expect_status 0 "resnet18 with --recipe simclr" "$simclr" pretrain "${common[@]}" "${small[@]}" --backbone resnet18 \
    --recipe simclr --epochs 1 --steps-per-epoch 1 --knn-k 0 --out "$work/r18-recipe"
expect_text "$work/r18-recipe/pretrain_config.json" '"head_bn": 1' "the recipe adds BatchNorm to a ResNet's head"
if grep -q "LARS on the seed's encoder" "$work/err"; then fail "the seed-encoder LARS notice printed for a ResNet"; else pass "no seed-encoder LARS notice for a ResNet"; fi

# Pretraining, eval, predict.
expect_status 0 "resnet18 pretrain" "$simclr" pretrain "${common[@]}" "${small[@]}" --backbone resnet18 \
    --head-bn --zero-init-residual --epochs 1 --out "$work/r18"
expect_text "$work/r18/pretrain_history.csv" "val_p_acc" "history written"
expect_text "$work/r18/pretrain_config.json" '"backbone": "resnet18"' "config records the backbone"
expect_text "$work/r18/pretrain_config.json" '"stem": "cifar"' "config records the automatic stem"
expect_status 0 "eval of the resnet18 probe" "$simclr" eval --model "$work/r18/pretrain.safetensors" \
    --dataset folder --data-dir "$work/c10" --image-size 32
expect_text "$work/out" "accuracy" "eval prints the accuracy"
# Evaluation runs the encoder in inference mode (batchnorm on the running statistics): an image's
# features do not depend on the batch it comes in, and `simclr knn` on the checkpoint gives the
# run's own last val_knn_acc (the monitor's bank and queries in inference mode too).
for b in 3 40; do
    expect_status 0 "embed the test split in batches of $b" "$simclr" embed --model "$work/r18/pretrain.safetensors" \
        --dataset folder --data-dir "$work/c10" --image-size 32 --split test --batch "$b" --out "$work/e$b.npy"
done
if /usr/bin/python3 - "$work/e3.npy" "$work/e40.npy" <<'PY'
import array, sys
def load(path):  # a float32 (N, D) .npy file, without NumPy
    data = open(path, "rb").read()
    header = int.from_bytes(data[8:10], "little")
    values = array.array("f")
    values.frombytes(data[10 + header:])
    return values
a, b = load(sys.argv[1]), load(sys.argv[2])
scale = max(abs(x) for x in b)
worst = max(abs(x - y) for x, y in zip(a, b))
print(f"  {len(a)} values, largest |difference| {worst:.3g} of largest |value| {scale:.3g}")
sys.exit(0 if len(a) == len(b) and len(a) > 0 and worst <= 1e-4 * scale else 1)
PY
then pass "ResNet features do not depend on the batch (inference mode)"; else fail "ResNet features depend on the batch"; fi
expect_status 0 "knn of the resnet18 checkpoint" "$simclr" knn --model "$work/r18/pretrain.safetensors" \
    --dataset folder --data-dir "$work/c10" --image-size 32
knn_cli=$(sed -n 's/^kNN accuracy .*: \([0-9.]*\)%$/\1/p' "$work/out")
knn_run=$(tail -n 1 "$work/r18/pretrain_history.csv" | /usr/bin/python3 -c "
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
print(f'{100 * float(rows[-1][rows[0].index(\"val_knn_acc\")]):.2f}')" "$work/r18/pretrain_history.csv")
if [ -n "$knn_cli" ] && [ "$knn_cli" = "$knn_run" ]; then pass "simclr knn gives the run's last val_knn_acc ($knn_cli %)"
else fail "simclr knn $knn_cli % against the run's val_knn_acc $knn_run %"; fi
image=$(ls "$work/c10/test/cat/" | head -n 1)
expect_status 0 "predict with the resnet18 probe" "$simclr" predict --model "$work/r18/pretrain.safetensors" --top 10 \
    "$work/c10/test/cat/$image"

# Resume one more epoch with the same options; with another backbone it is refused.
expect_status 0 "resume resnet18" "$simclr" pretrain "${common[@]}" "${small[@]}" --backbone resnet18 \
    --head-bn --zero-init-residual --epochs 2 --resume "$work/r18"
rows=$(($(wc -l <"$work/r18/pretrain_history.csv") - 1))
if [ "$rows" -eq 2 ]; then pass "resumed to 2 epochs"; else fail "history has $rows epochs after resume"; fi
expect_status 2 "resume with another backbone" "$simclr" pretrain "${common[@]}" "${small[@]}" --backbone resnet34 \
    --epochs 3 --resume "$work/r18"
expect_text "$work/err" "resnet18" "the checkpoint's backbone is named"

# Finetuning from it: the checkpoint's architecture is used (--backbone may repeat it); another
# --backbone is refused.
expect_status 0 "finetune from resnet18" "$simclr" finetune "${common[@]}" "${small[@]}" --backbone resnet18 \
    --epochs 1 --from "$work/r18/pretrain.safetensors" --out "$work/ft"
if head -c 65536 "$work/ft/finetune.safetensors" | tr -d '\0' | grep -aF '"model.backbone":"resnet18"' >/dev/null; then
    pass "finetune keeps the checkpoint's backbone"; else fail "finetune checkpoint is not a resnet18"; fi
expect_status 2 "finetune a seed encoder from resnet18" "$simclr" finetune "${common[@]}" "${small[@]}" --epochs 1 \
    --backbone seed --from "$work/r18/pretrain.safetensors" --out "$work/ft_seed"
expect_text "$work/err" "--from" "the refused checkpoint's flag is named"
expect_text "$work/err" "resnet18" "the refused checkpoint's backbone is named"

harness_finish
