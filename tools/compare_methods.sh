#!/usr/bin/env bash
# The issue-13 comparison table: the six methods pretrained on the same CIFAR-10 subset with the
# same encoder, epochs, batch, optimiser and augmentation, then `simclr knn` and
# `simclr linear-eval` on each checkpoint. Prints a Markdown table: method, kNN top-1, linear
# evaluation top-1, the online probe's best test accuracy, pretraining images/s (epoch wall time,
# the per-epoch evaluation included) and peak RSS (/usr/bin/time -v).
#
#   EPOCHS=1 PER_CLASS=200 TEST_PER_CLASS=100 tools/compare_methods.sh
#
# Variables (defaults in brackets):
#   SIMCLR [build/simclr]  DATA [$SIMCLR_CIFAR10_DIR or ../shared/data/cifar10]  OUT [runs/compare-methods]
#   EPOCHS [10]  PER_CLASS: train images per class, 0 = all [0]  TEST_PER_CLASS: 0 = all [0]
#   METHODS ["simclr moco byol simsiam barlow vicreg"]
#   TRAIN_FLAGS: shared by every method (batch, optimiser, augmentation, backbone)
#     ["--unlabeled-batch 240 --labeled-batch 16 --augment simclr --optimizer adamw --learning-rate 0.001
#      --lr-schedule cosine"]; the encoder is the seed's unless it gives --backbone
#   METHOD_FLAGS_<method>: extra flags of one method (e.g. METHOD_FLAGS_moco="--queue-size 8192")
# A subset is a folder of symlinks to the first N JPEGs per class, made under OUT.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
simclr=${SIMCLR:-$root/build/simclr}
data=${DATA:-${SIMCLR_CIFAR10_DIR:-$root/../shared/data/cifar10}}
out=${OUT:-runs/compare-methods}
epochs=${EPOCHS:-10}
per_class=${PER_CLASS:-0}
test_per_class=${TEST_PER_CLASS:-0}
methods=${METHODS:-simclr moco byol simsiam barlow vicreg}
train_flags=${TRAIN_FLAGS:---unlabeled-batch 240 --labeled-batch 16 --augment simclr --optimizer adamw --learning-rate 0.001 --lr-schedule cosine}
[ -x /usr/bin/time ] || { echo "compare_methods: /usr/bin/time (GNU time) is needed for the peak RSS" >&2; exit 2; }
[ -d "$data/train" ] || { echo "compare_methods: no CIFAR-10 JPEG folders at $data" >&2; exit 2; }
mkdir -p "$out"

# The subset (symlinks), or the data itself.
subset=$data
if [ "$per_class" -gt 0 ] || [ "$test_per_class" -gt 0 ]; then
    subset=$out/data
    rm -rf "$subset"
    for split in train test; do
        n=$per_class
        [ "$split" = test ] && n=$test_per_class
        for class_dir in "$data/$split"/*/; do
            class=$(basename "$class_dir")
            mkdir -p "$subset/$split/$class"
            if [ "$n" -gt 0 ]; then files=$(ls "$class_dir" | head -"$n"); else files=$(ls "$class_dir"); fi
            for f in $files; do ln -s "$class_dir$f" "$subset/$split/$class/$f"; done
        done
    done
fi
dataset=(--dataset folder --data-dir "$subset" --image-size 32)

column() { # column CSV NAME: the values of a named column
    awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next } { print $c }' "$1"
}

echo "Pretraining: $epochs epochs, $train_flags, on $subset"
echo
echo "| method | kNN top-1 | linear eval top-1 | probe (best) | images/s | peak RSS |"
echo "|---|---|---|---|---|---|"
for method in $methods; do
    run=$out/$method
    flags_name=METHOD_FLAGS_$method
    # shellcheck disable=SC2086
    /usr/bin/time -v -o "$out/time_$method.txt" "$simclr" pretrain "${dataset[@]}" --method "$method" \
        --epochs "$epochs" $train_flags ${!flags_name:-} --overwrite --out "$run" >"$out/pretrain_$method.txt" 2>&1 ||
        { echo "| $method | pretraining failed: see $out/pretrain_$method.txt | | | | |"; continue; }
    "$simclr" knn --model "$run/pretrain.safetensors" "${dataset[@]}" >"$out/knn_$method.txt" 2>&1 || true
    "$simclr" linear-eval --model "$run/pretrain.safetensors" "${dataset[@]}" >"$out/linear_$method.txt" 2>&1 || true
    knn=$(grep -o '): [0-9.]*%' "$out/knn_$method.txt" | tr -d '): ')
    linear=$(grep -o 'top-1 [0-9.]*%' "$out/linear_$method.txt" | cut -d' ' -f2)
    history=$run/pretrain_history.csv
    probe=$(column "$history" val_p_acc | awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { printf "%.2f%%", 100 * m }')
    seconds=$(column "$history" seconds | awk '{ s += $1 } END { print s }')
    steps=$(grep -o '[0-9]* steps per epoch' "$out/pretrain_$method.txt" | head -1 | cut -d' ' -f1)
    batch=$(grep -o 'batch size is [0-9]* (unlabeled) + [0-9]*' "$out/pretrain_$method.txt" | head -1 |
            awk '{ print $4 + $7 }')
    rate=$(awk -v e="$epochs" -v s="${steps:-0}" -v b="${batch:-0}" -v t="$seconds" \
           'BEGIN { if (t > 0) printf "%.0f", e * s * b / t; else print "?" }')
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f MiB", $2 / 1024 }' "$out/time_$method.txt")
    echo "| $method | ${knn:-failed} | ${linear:-failed} | $probe | $rate | $rss |"
done
