#!/usr/bin/env bash
# A ResNet-18 trained here loads into torchvision.models.resnet18 (tools/resnet_to_torchvision.py,
# the few lines docs/ARCHITECTURE.md shows) and gives the probabilities simclr predict gives, on a
# CIFAR-10 slice. Skipped where Debian's python3-torch / python3-torchvision / python3-pil are not
# installed (scripts/install-deps.sh bench installs them).
set -uo pipefail
simclr=$1
data=${SIMCLR_CIFAR10_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/cifar10}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$data/train" ] || [ ! -d "$data/test" ]; then echo "skipping: no CIFAR-10 folders at $data"; exit 77; fi
if ! /usr/bin/python3 -c "import torch, torchvision, PIL" 2>/dev/null; then
    echo "skipping: no python3-torch / python3-torchvision / python3-pil (scripts/install-deps.sh bench)"; exit 77
fi
source "$here/harness.sh"

cifar10_slice "$data" "$work/c10" 8 4
expect_status 0 "resnet18 pretrain" "$simclr" pretrain --dataset folder --data-dir "$work/c10" --image-size 32 --quiet \
    --unlabeled-batch 6 --labeled-batch 4 --test-batch 20 --steps-per-epoch 2 --knn-k 0 --backbone resnet18 \
    --head-bn --zero-init-residual --epochs 1 --out "$work/r18"
image=$(ls "$work/c10/test/cat/" | head -n 1)
expect_status 0 "resnet18 probe predicts" "$simclr" predict --model "$work/r18/pretrain.safetensors" --top 10 \
    "$work/c10/test/cat/$image"
cp "$work/out" "$work/predict.txt"
expect_status 0 "torchvision loads the checkpoint" /usr/bin/python3 "$here/../tools/resnet_to_torchvision.py" \
    "$work/r18/pretrain.safetensors" "$work/c10/test/cat/$image"
if /usr/bin/python3 - "$work/predict.txt" "$work/out" <<'PY'
import sys
def parse(path):
    line = open(path).read().strip().split(": ", 1)[1]
    return {name: float(p) for name, p in (item.rsplit(" ", 1) for item in line.split(", "))}
ours, theirs = parse(sys.argv[1]), parse(sys.argv[2])
worst = max(abs(ours[k] - theirs[k]) for k in ours)
print(f"worst probability difference {worst:.4g}")
sys.exit(0 if set(ours) == set(theirs) and worst <= 2e-4 else 1)
PY
then pass "torchvision's probabilities match simclr predict"; else fail "torchvision's probabilities differ"; fi

harness_finish
