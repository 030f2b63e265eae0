# cifar10_slice SOURCE TARGET TRAIN TEST: TARGET/{train,test}/CLASS/ with symlinks to the first
# TRAIN (TEST) images of each class of the CIFAR-10 folders SOURCE: a small real dataset, nothing
# copied. Sourced by tests/harness.sh and bench/mpi_scaling.sh.
cifar10_slice() {
    local source=$1 target=$2 split count class_dir class f
    for split in train test; do
        count=$([ "$split" = train ] && echo "$3" || echo "$4")
        for class_dir in "$source/$split"/*/; do
            class=$(basename "$class_dir")
            mkdir -p "$target/$split/$class"
            ls "$class_dir" | head -n "$count" | while read -r f; do ln -s "$class_dir$f" "$target/$split/$class/$f"; done
        done
    done
}
