#!/usr/bin/env bash
# Issue 12 on the command line: the augmentation policies (grids), the optimisers and schedules,
# --recipe, and every bad-input path of them (exit 2, the flag named), on a small real slice of
# CIFAR-10 (the first 12 JPEGs per class of /work/shared/data/cifar10, symlinked).
set -uo pipefail
simclr=$1
data=${SIMCLR_CIFAR10_DIR:-/work/shared/data/cifar10}
if [ ! -d "$data/train" ]; then echo "SKIP: no CIFAR-10 JPEG folders at $data"; exit 77; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { passes=$((passes + 1)); echo "ok   - $1"; }
fail() { failures=$((failures + 1)); echo "FAIL - $1"; }
expect_status() {
    local want=$1 name=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then pass "$name"; else
        fail "$name (exit $got, expected $want)"; sed 's/^/    /' "$work/err" "$work/out" | tail -8; fi
}
expect_text() { # expect_text FILE TEXT NAME
    if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3 (no '$2' in output)"; sed 's/^/    /' "$1" | head -5; fi
}

for split in train test; do
    for class_dir in "$data/$split"/*/; do
        class=$(basename "$class_dir")
        mkdir -p "$work/cifar/$split/$class"
        for f in $(ls "$class_dir" | head -12); do ln -s "$class_dir$f" "$work/cifar/$split/$class/$f"; done
    done
done
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

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
