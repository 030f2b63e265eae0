#!/usr/bin/env bash
# No convolution on oneDNN's reference kernels (issue 23). oneDNN falls back to its "ref:"
# implementation, hundreds of times slower, when no jit kernel takes a primitive's layouts on the
# CPU's ISA (nChw16c on an AVX2 CPU did, for every convolution). With ONEDNN_VERBOSE=1 oneDNN
# prints one line per primitive it executes; this runs training and inference of each backbone
# (the seed's model on a one-channel and a three-channel dataset, ResNet-18 with the CIFAR stem)
# as this CPU runs them, and as oneDNN runs them on an AVX2 and an SSE4.1 CPU
# (ONEDNN_MAX_CPU_ISA), and fails on any convolution executed by a "ref:" kernel, naming it.
# The ISAs this CPU does not reach are capped to what it has, and said.
set -uo pipefail
simclr=$1
source "$(dirname "$0")/harness.sh"
fmnist=${SIMCLR_TEST_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
data=${SIMCLR_CIFAR10_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/cifar10}
have_fmnist=0; [ -e "$fmnist/train-images-idx3-ubyte.gz" ] && have_fmnist=1
have_cifar=0; [ -d "$data/train" ] && [ -d "$data/test" ] && have_cifar=1
if [ $have_fmnist -eq 0 ] && [ $have_cifar -eq 0 ]; then
    echo "skipping: neither Fashion-MNIST ($fmnist) nor CIFAR-10 ($data) is here"; exit 77
fi
[ $have_cifar -eq 1 ] && cifar10_slice "$data" "$work/c10" 4 2
cifar=(--dataset folder --data-dir "$work/c10" --image-size 32)

# check_convolutions ISA NAME: the ONEDNN_VERBOSE lines in $work/out ran convolutions, none on ref:.
check_convolutions() {
    local convolutions reference
    convolutions=$(grep "exec" "$work/out" | grep ",convolution," || true)
    reference=$(grep ",ref:" <<<"$convolutions" || true)
    if [ -z "$convolutions" ]; then fail "$1 $2: no convolution in oneDNN's verbose output"
    elif [ -n "$reference" ]; then
        fail "$1 $2: $(wc -l <<<"$reference") convolutions on reference kernels"
        head -3 <<<"$reference" | sed 's/^/    /'
    else pass "$1 $2: $(wc -l <<<"$convolutions") convolutions, none on a reference kernel ($(cut -d, -f5 <<<"$convolutions" | sort -u | tr '\n' ' '))"; fi
}

for isa in native AVX2 SSE41; do
    cap=(); [ "$isa" != native ] && cap=(ONEDNN_MAX_CPU_ISA=$isa)
    run=(env "${cap[@]}" ONEDNN_VERBOSE=1 "$simclr")
    echo "# $isa: $(env "${cap[@]}" "$simclr" --version | tail -1)"
    if [ $have_fmnist -eq 1 ]; then
        expect_status 0 "$isa: seed model, Fashion-MNIST, pretrain" "${run[@]}" pretrain --quiet --epochs 1 \
            --steps-per-epoch 1 --width 16 --labeled-per-class 4 --unlabeled-batch 16 --labeled-batch 8 \
            --test-batch 100 --knn-k 0 --out "$work/fm-$isa"
        check_convolutions "$isa" "seed model 28x28x1, training and evaluation"
    fi
    if [ $have_cifar -eq 1 ]; then
        expect_status 0 "$isa: seed model, CIFAR-10 slice, baseline" "${run[@]}" baseline --quiet "${cifar[@]}" \
            --epochs 1 --steps-per-epoch 1 --width 16 --labeled-batch 8 --out "$work/seed-$isa"
        check_convolutions "$isa" "seed model 32x32x3, training and evaluation"
        expect_status 0 "$isa: ResNet-18, CIFAR-10 slice, pretrain" "${run[@]}" pretrain --quiet "${cifar[@]}" \
            --backbone resnet18 --epochs 1 --steps-per-epoch 1 --unlabeled-batch 6 --labeled-batch 4 \
            --test-batch 20 --out "$work/r18-$isa"
        check_convolutions "$isa" "ResNet-18 32x32x3, training, evaluation and the kNN monitor"
        expect_status 0 "$isa: ResNet-18 predict" "${run[@]}" predict --model "$work/r18-$isa/pretrain.safetensors" \
            "$work/c10/test"
        check_convolutions "$isa" "ResNet-18 inference (predict)"
    fi
done
# Where reference kernels cannot be avoided (here: forced), inference says so too.
if [ $have_cifar -eq 1 ]; then
    expect_status 0 "knn with a forced reference layout" env ONEDNN_MAX_CPU_ISA=AVX2 SIMCLR_CONV_LAYOUT=nChw16c \
        "$simclr" knn --model "$work/seed-native/baseline.safetensors" --labeled-per-class 2
    expect_text "$work/err" "warning: oneDNN has only its reference kernels for" "knn warns of reference kernels"
    expect_text "$work/err" "(oneDNN ISA avx2, feature maps nChw16c, as SIMCLR_CONV_LAYOUT forces)" \
        "the warning names the ISA and the forced layout"
fi
harness_finish
