#!/usr/bin/env bash
# Issue 14: data-parallel pretraining on one machine, N=2 ranks x 1 thread against 1 process x 2
# threads (and 1 x 1 for reference), the seed's model on a CIFAR-10 slice (32x32x3), the same global
# batch. Per configuration: seconds per step (epoch 2 of 2, the first one warms oneDNN up; the test
# split is 10 images, its evaluation is inside the epoch's time), images/s of the global batch, and
# the seconds rank 0 spent inside collectives (its waits for the slower rank included).
#   bench/mpi_scaling.sh [build/simclr]
# Knobs (environment): BENCH_STEPS (10), BENCH_UNLABELED (500), BENCH_LABELED (25), BENCH_WIDTH
# (128), BENCH_EXTRA (more pretrain options, e.g. "--backbone resnet18"), SIMCLR_CIFAR10_DIR.
# Times on a machine others use are not figures for the docs.
set -euo pipefail
simclr=${1:-build/simclr}
here=$(cd "$(dirname "$0")" && pwd)
data=${SIMCLR_CIFAR10_DIR:-$(cd "$here/../.." && pwd)/shared/data/cifar10}
steps=${BENCH_STEPS:-10}
unlabeled=${BENCH_UNLABELED:-500}
labeled=${BENCH_LABELED:-25}
width=${BENCH_WIDTH:-128}
command -v mpirun >/dev/null || { echo "mpi_scaling: no mpirun (apt-get install openmpi-bin)" >&2; exit 2; }
[ -d "$data/train" ] || { echo "mpi_scaling: no CIFAR-10 folders at $data" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
per_class=$(( (unlabeled + labeled) * steps / 10 + 10 ))
source "$here/../tests/cifar10_slice.sh"
cifar10_slice "$data" "$work/c10" "$per_class" 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
options=(pretrain --dataset folder --data-dir "$work/c10" --image-size 32 --width "$width" --knn-k 0
         --unlabeled-batch "$unlabeled" --labeled-batch "$labeled" --test-batch 10 --epochs 2
         --steps-per-epoch "$steps" --force ${BENCH_EXTRA:-})
echo "| configuration | s/step | images/s | communication s/step (rank 0) | of the step |"
echo "|---|---|---|---|---|"
run() { # run LABEL RANKS THREADS
    local label=$1 ranks=$2 threads=$3 out="$work/run_$2x$3"
    if [ "$ranks" -eq 1 ]; then
        OMP_NUM_THREADS=$threads "$simclr" "${options[@]}" --threads "$threads" --out "$out" >"$out.log" 2>&1
    else
        mpirun --oversubscribe --bind-to core -np "$ranks" -x OMP_NUM_THREADS="$threads" \
            "$simclr" "${options[@]}" --threads "$threads" --out "$out" >"$out.log" 2>&1
    fi
    local seconds communication
    seconds=$(awk -F, 'NR == 3 { print $NF }' "$out/pretrain_history.csv")
    communication=$(grep "communication (rank 0)" "$out.log" | tail -1 | awk "{ print \$4 }" || true)
    awk -v label="$label" -v s="$seconds" -v c="${communication:-0}" -v n="$steps" -v b=$((unlabeled + labeled)) \
        'BEGIN { printf "| %s | %.3f | %.1f | %.4f | %.1f %% |\n", label, s / n, b * n / s, c / n, 100 * c / s }'
}
run "1 process x 1 thread" 1 1
run "1 process x 2 threads" 1 2
run "2 ranks x 1 thread" 2 1
