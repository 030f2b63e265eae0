#!/usr/bin/env bash
# Issue 26's benchmark (docs/RESULTS.md, "After training: duplicates, selection, search"):
#   bench/similarity.sh [build/simclr] CHECKPOINT [PARTS]
# runs bench/similarity_quality.py (PARTS: dedup,select,search,hnsw; all by default) in a venv of its
# own (build-bench/venv-similar: NumPy, Pillow, faiss-cpu, scikit-learn from PyPI, made once) on
# the CIFAR-10 JPEG folders (SIMCLR_CIFAR10_DIR, default ../shared/data/cifar10), with the
# library of the same build for simclr.similar. CHECKPOINT: a pretrained encoder, as in
# docs/RESULTS.md:
#   build/simclr pretrain --dataset folder --data-dir ../shared/data/cifar10 --image-size 32 \
#       --labeled-per-class 250 --precision bf16 --out /work/runs/cifar10-pretrain
# SIMCLR_DEDUP_CROP=central cuts the dedup part's crops 5 % off each side, as the bench did before
# (default random: the same size anywhere in the image).
# Takes about 15 minutes on 2 cores (dedup alone: about 10); run it alone (it is timed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
simclr=$(readlink -f "${1:-build/simclr}")
checkpoint=${2:?usage: bench/similarity.sh [build/simclr] CHECKPOINT [PARTS]}
parts=${3:-dedup,select,search,hnsw}
data=${SIMCLR_CIFAR10_DIR:-$(cd "$here/../.." && pwd)/shared/data/cifar10}
[ -d "$data/train" ] && [ -d "$data/test" ] || { echo "similarity.sh: no CIFAR-10 folders at $data" >&2; exit 2; }
venv=${BENCH_VENV:-$here/../build-bench/venv-similar}
if ! "$venv/bin/python" -c 'import numpy, PIL, faiss, sklearn' 2>/dev/null; then
    echo "similarity.sh: installing NumPy, Pillow, faiss-cpu and scikit-learn into $venv (once)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --progress-bar off numpy pillow faiss-cpu scikit-learn
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# bench/similarity.sh on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
     "$(date -u +%Y-%m-%d); checkpoint $checkpoint"
SIMCLR_LIBRARY=$(dirname "$simclr") "$venv/bin/python" "$here/similarity_quality.py" --simclr "$simclr" \
    --model "$checkpoint" --data "$data" --work "$work" --parts "$parts" --crop "${SIMCLR_DEDUP_CROP:-random}"
