#!/usr/bin/env bash
# Issue 26: how well `simclr dedup --threshold T` tells near-duplicates from distinct images. The
# first BENCH_PER_CLASS test images of each CIFAR-10 class (as PNG, `simclr show`) go into one
# folder with, for the first BENCH_VARIANTS of them, three near-duplicates each
# (tests/image_variants.py: mirrored, 10% cut from every side and scaled back, colour-shifted).
# For each threshold: the share of each kind of copy that dedup groups with its original (recall)
# and the share of originals grouped with another original (false merges: distinct images; a few
# CIFAR-10 test images may really be near-duplicates of each other).
#   bench/similar_dedup_threshold.sh [build/simclr] [CHECKPOINT]
# Without CHECKPOINT a model is trained first on a training slice (BENCH_TRAIN_PER_CLASS images a
# class) with BENCH_TRAIN (the training command and its options; default: the tests' tiny
# baseline). Knobs: BENCH_PER_CLASS (20), BENCH_VARIANTS (50), BENCH_FEATURES (encoder),
# BENCH_THRESHOLDS, SIMCLR_CIFAR10_DIR.
set -euo pipefail
simclr=${1:-build/simclr}
checkpoint=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
data=${SIMCLR_CIFAR10_DIR:-$(cd "$here/../.." && pwd)/shared/data/cifar10}
per_class=${BENCH_PER_CLASS:-20}
variants=${BENCH_VARIANTS:-50}
features=${BENCH_FEATURES:-encoder}
thresholds=${BENCH_THRESHOLDS:-0.80 0.85 0.90 0.92 0.94 0.95 0.96 0.97 0.98 0.99 0.995}
train=${BENCH_TRAIN:-baseline --steps-per-epoch 1 --epochs 1 --width 8 --labeled-per-class 5 --labeled-batch 5}
[ -d "$data/test" ] || { echo "similar_dedup_threshold: no CIFAR-10 folders at $data" >&2; exit 2; }
command -v python3 >/dev/null || { echo "similar_dedup_threshold: python3 is needed" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$here/../tests/cifar10_slice.sh"
set +o pipefail # the slice's `ls | head` ends ls early
cifar10_slice "$data" "$work/c10" "${BENCH_TRAIN_PER_CLASS:-$per_class}" "$per_class"
set -o pipefail
if [ -z "$checkpoint" ]; then
    # shellcheck disable=SC2086 # BENCH_TRAIN is a list of words
    "$simclr" $train --dataset folder --data-dir "$work/c10" --image-size 32 --quiet --force --out "$work/run" \
        >"$work/train.log" 2>&1 || { cat "$work/train.log"; exit 1; }
    checkpoint=$(ls "$work"/run/*.safetensors | head -1)
fi
mkdir -p "$work/images"
originals=$((per_class * 10))
for ((i = 0; i < originals; i++)); do
    name=$(printf 'o%04d' "$i")
    "$simclr" show --dataset folder --data-dir "$work/c10" --split test --index "$i" \
        --out "$work/images/$name.png" >/dev/null 2>&1
    if [ "$i" -lt "$variants" ]; then python3 "$here/../tests/image_variants.py" "$work/images/$name.png" "$work/images" "$name"; fi
done
echo "model: $checkpoint ($features features); $originals CIFAR-10 test images, $variants of them with 3 copies each"
echo
echo "| threshold | mirrored | cropped 10% | colour-shifted | originals merged with another |"
echo "|---|---|---|---|---|"
for t in $thresholds; do
    "$simclr" dedup --model "$checkpoint" --features "$features" --in "$work/images" --out "$work/groups.csv" \
        --threshold "$t" --quiet >/dev/null
    python3 - "$work/groups.csv" "$t" "$variants" "$originals" <<'PY'
import csv, os, sys
path, threshold, variants, originals = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
group = {}
for row in csv.DictReader(open(path)):
    group[os.path.basename(row["path"])] = row["group"]
def share(kind):
    hits = sum(1 for i in range(variants)
               if "o%04d.png" % i in group and group.get("o%04d_%s.png" % (i, kind)) == group["o%04d.png" % i])
    return "%d%%" % round(100 * hits / variants)
members = {}
for name, g in group.items():
    if "_" not in name:
        members.setdefault(g, []).append(name)
merged = sum(len(names) for names in members.values() if len(names) > 1)
print("| %s | %s | %s | %s | %d%% (%d) |" % (threshold, share("flip"), share("crop"), share("colour"),
                                           round(100 * merged / originals), merged))
PY
done
