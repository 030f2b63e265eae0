#!/usr/bin/env bash
# The representation table of a finished (or running) experiment: kNN and linear-evaluation
# accuracy of each encoder (random init, baseline, pretrained, finetuned; those whose checkpoint
# exists) and the PCA picture of its test embeddings.
#
#   tools/evaluate_encoders.sh SIMCLR RUN_DIR OUT_DIR LABELED_PER_CLASS DATASET_OPTIONS...
#   e.g. tools/evaluate_encoders.sh build/simclr runs/cifar10 runs/cifar10/eval 250 \
#            --dataset folder --data-dir ../shared/data/cifar10 --image-size 32
#
# Writes OUT_DIR/{knn,linear,embed}_<encoder>.txt and pca_<encoder>.png and prints a Markdown
# table. "random" is the baseline checkpoint's architecture with fresh Keras init (--seed 0).
set -uo pipefail
simclr=$1 run=$2 out=$3 per_class=$4
shift 4
mkdir -p "$out"
echo "| encoder | kNN top-1 | linear eval top-1 | top-5 |"
echo "|---|---|---|---|"
for name in random baseline pretrain finetune; do
    case $name in
        random) checkpoint=$run/baseline.safetensors; model=(--model "$checkpoint" --random-init --seed 0) ;;
        *) checkpoint=$run/$name.safetensors; model=(--model "$checkpoint") ;;
    esac
    [ -e "$checkpoint" ] || continue
    "$simclr" knn "${model[@]}" "$@" --labeled-per-class "$per_class" >"$out/knn_$name.txt" 2>&1 || { cat "$out/knn_$name.txt"; exit 1; }
    "$simclr" linear-eval "${model[@]}" "$@" --labeled-per-class "$per_class" >"$out/linear_$name.txt" 2>&1 ||
        { cat "$out/linear_$name.txt"; exit 1; }
    "$simclr" embed "${model[@]}" "$@" --split test --out "$out/test_$name.npy" --plot "$out/pca_$name.png" \
        --quiet >"$out/embed_$name.txt" 2>&1 || { cat "$out/embed_$name.txt"; exit 1; }
    rm -f "$out/test_$name.npy" "$out/test_$name.csv"
    knn=$(grep -o '): [0-9.]*%' "$out/knn_$name.txt" | tr -d '): ')
    top1=$(grep -o 'top-1 [0-9.]*%' "$out/linear_$name.txt" | cut -d' ' -f2)
    top5=$(grep -o 'top-[0-9]* [0-9.]*%$' "$out/linear_$name.txt" | cut -d' ' -f2)
    epochs=$(grep -o '[0-9]* epochs' "$out/knn_$name.txt" | head -1)
    echo "| $name${epochs:+ ($epochs)} | $knn | $top1 | $top5 |"
done
