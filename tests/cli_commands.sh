#!/usr/bin/env bash
# The command line as a user meets it: help and version, every bad-input path (exit status 2, a
# message naming the flag or file, no partial output), and info/show/augment plus a short
# experiment, eval and predict on the real Fashion-MNIST install (bf16: cli_bf16.sh).
set -uo pipefail
simclr=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
skipped=0 # checks that need what this machine lacks (data, a CPU feature): exit 77 at the end

pass() { passes=$((passes + 1)); echo "ok   - $1"; }
fail() { failures=$((failures + 1)); echo "FAIL - $1"; }

# expect_status STATUS NAME CMD...: runs CMD, checks its exit status, keeps stderr in $work/err.
expect_status() {
    local want=$1 name=$2
    shift 2
    "$@" >"$work/out" 2>"$work/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then pass "$name"; else
        fail "$name (exit $got, expected $want)"; sed 's/^/    /' "$work/err" | head -5; fi
}
expect_text() { # expect_text FILE TEXT NAME
    if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3 (no '$2' in output)"; sed 's/^/    /' "$1" | head -5; fi
}

expect_status 0 "--version" "$simclr" --version
expect_text "$work/out" "simclr " "--version prints the version"
expect_status 0 "--help" "$simclr" --help
for command in info show augment baseline pretrain finetune experiment eval predict knn embed linear-eval download; do
    expect_status 0 "$command --help" "$simclr" "$command" --help
    expect_text "$work/out" "Usage: simclr $command" "$command --help shows usage"
done

# Bad input: exit 2, the flag or file named.
expect_status 2 "unknown command" "$simclr" frobnicate
expect_status 2 "unknown dataset" "$simclr" info --dataset imagenet
expect_text "$work/err" "--dataset" "unknown dataset names the flag"
expect_status 2 "unknown option" "$simclr" info --colour red
expect_text "$work/err" "--colour" "unknown option is named"
# "Did you mean", by edit distance over the command's own option table and the command list
# (issue 27); nothing is suggested when nothing is close or a prefix fits several options.
expect_status 2 "a near-miss option" "$simclr" pretrain --epoch 3
expect_text "$work/err" "simclr pretrain: unknown option '--epoch'; did you mean --epochs? (see simclr pretrain --help)" \
    "a near-miss option gets the real one"
expect_status 2 "a transposed option" "$simclr" eval --modle x
expect_text "$work/err" "unknown option '--modle'; did you mean --model?" "a transposition is one edit"
expect_status 2 "a near-miss command" "$simclr" pretrian
expect_text "$work/err" "simclr: error: unknown command 'pretrian'; did you mean 'pretrain'?" "a near-miss command gets the real one"
expect_status 2 "an ambiguous prefix" "$simclr" pretrain --lab 3
if grep -q "did you mean" "$work/err"; then fail "an ambiguous prefix got a suggestion"; else pass "an ambiguous prefix gets none"; fi
expect_status 2 "a far-off command" "$simclr" frobnicate
if grep -q "did you mean" "$work/err"; then fail "a far-off command got a suggestion"; else pass "a far-off command gets none"; fi
expect_status 2 "non-numeric epochs" "$simclr" baseline --epochs abc
expect_text "$work/err" "--epochs expects an integer" "bad --epochs says what was expected"
expect_status 2 "epochs out of range" "$simclr" baseline --epochs 0
expect_status 2 "temperature out of range" "$simclr" pretrain --temperature -1
expect_status 2 "missing data dir" "$simclr" info --dataset fashion-mnist --data-dir "$work/nowhere"
expect_text "$work/err" "$work/nowhere" "missing data dir is named"
expect_status 2 "stl10 without --data-dir" "$simclr" info --dataset stl10
expect_text "$work/err" "--data-dir" "stl10 asks for --data-dir"

# A truncated STL-10 file is reported by name.
mkdir -p "$work/stl10"
head -c 27648 /dev/zero >"$work/stl10/train_X.bin"
printf '\001\002' >"$work/stl10/train_y.bin"
head -c 27648 /dev/zero >"$work/stl10/test_X.bin"
printf '\001' >"$work/stl10/test_y.bin"
expect_status 2 "truncated STL-10" "$simclr" info --dataset stl10 --data-dir "$work/stl10"
expect_text "$work/err" "train_X.bin" "truncated STL-10 file is named"
expect_status 2 "show on a bad dataset leaves no file" "$simclr" show --dataset stl10 --data-dir "$work/stl10" --out "$work/never.png"
if [ ! -e "$work/never.png" ]; then pass "no partial output"; else fail "partial output left"; fi

# A valid tiny STL-10 (2 train, 1 test image): show writes a 96x96 PNG.
python_free_stl() { # one image whose rows and columns differ
    head -c 55296 /dev/urandom >"$work/stl10/train_X.bin"
}
python_free_stl
expect_status 0 "show STL-10" "$simclr" show --dataset stl10 --data-dir "$work/stl10" --index 1 --out "$work/stl.png"
expect_text "$work/out" "96x96x3" "STL-10 image shape"

fmnist=/usr/share/datasets/fashion-mnist
if [ ! -e "$fmnist/train-images-idx3-ubyte.gz" ]; then
    echo "skipping Fashion-MNIST checks: $fmnist is not installed"
    skipped=$((skipped + 1))
else
    expect_status 0 "info fashion-mnist" "$simclr" info --dataset fashion-mnist
    expect_text "$work/out" "60000" "train split has 60000 images"
    expect_text "$work/out" "10000" "test split has 10000 images"
    expect_text "$work/out" "Ankle boot" "class names listed"
    expect_status 0 "show fashion-mnist" "$simclr" show --split test --index 0 --out "$work/test0.png"
    expect_text "$work/out" "Ankle boot" "first test image is an ankle boot"
    # A folder of class folders opened without --dataset folder gets a hint (issue 27).
    mkdir -p "$work/photos/boots" && cp "$work/test0.png" "$work/photos/boots/a.png"
    expect_status 2 "a folder of images as fashion-mnist" "$simclr" info --data-dir "$work/photos"
    expect_text "$work/err" "$work/photos holds PNG/JPEG images: for a folder of images give --dataset folder" \
        "the error points to --dataset folder"
    # Issue 27: the progress line is redrawn on a terminal, but not under mpirun (whose forwarded
    # output each rank sees as a terminal): one finished line per epoch there.
    if command -v script >/dev/null; then
        progress_run=(baseline --steps-per-epoch 3 --epochs 1 --width 8 --labeled-per-class 5 --labeled-batch 5
                      --threads 2 --knn-k 0)
        script -qec "$(printf '%q ' "$simclr" "${progress_run[@]}" --out "$work/tty")" /dev/null >"$work/tty.log" 2>&1
        script -qec "$(printf '%q ' env OMPI_COMM_WORLD_SIZE=1 "$simclr" "${progress_run[@]}" --out "$work/tty-mpi")" \
            /dev/null >"$work/tty-mpi.log" 2>&1
        if grep -q $'\r\033\[K' "$work/tty.log"; then pass "a terminal gets the redrawn progress line"
        else fail "no redraw on a terminal"; fi
        if grep -q $'\033\[K' "$work/tty-mpi.log"; then fail "under mpirun the progress line was redrawn"
        elif grep -q "3/3 .*ms/step" "$work/tty-mpi.log"; then pass "under mpirun: finished lines only"
        else fail "under mpirun: no finished progress line"; fi
    else
        echo "skipping the terminal progress check: script(1) is missing"; skipped=$((skipped + 1))
    fi
    expect_status 2 "show index out of range" "$simclr" show --split test --index 10000 --out "$work/x.png"
    expect_text "$work/err" "--index" "out-of-range index names the flag"
    expect_status 0 "augment grid" "$simclr" augment --out "$work/grid.png" --n 8 --seed 3
    if [ -s "$work/grid.png" ]; then pass "grid written"; else fail "grid missing"; fi

    # A short experiment: every run, the table, the plots, then eval and predict.
    run="$work/run"
    expect_status 0 "short experiment" "$simclr" experiment --epochs 2 --labeled-per-class 20 \
        --steps-per-epoch 4 --unlabeled-batch 100 --out "$run" --threads 2
    expect_text "$work/out" "Maximal validation accuracy" "experiment prints maxima"
    expect_text "$work/out" "supervised finetuning of the pretrained encoder" "experiment prints the table"
    expect_text "$work/out" "Epoch 2/2" "progress lines"
    expect_text "$work/out" "ms/step" "Keras-like progress line"
    for file in baseline.safetensors pretrain.safetensors finetune.safetensors \
        baseline_history.csv pretrain_history.json finetune_history.csv \
        experiment_config.json val_accuracy.png val_loss.png val_knn_accuracy.png pca_pretrain.png \
        pca_finetune.png; do
        if [ -s "$run/$file" ]; then pass "$file written"; else fail "$file missing"; fi
    done
    expect_text "$run/pretrain_history.csv" "epoch,c_acc,c_loss,p_acc,p_loss,val_p_acc,val_p_loss,lr,val_knn_acc,seconds" "pretrain history columns"
    expect_text "$work/out" "val_knn_acc: " "kNN monitor on the progress line"
    expect_text "$work/out" "Maximal kNN accuracy of the encoder (k=200, T=0.1)" "experiment prints the kNN maxima"
    expect_status 0 "eval finetune" "$simclr" eval --model "$run/finetune.safetensors"
    expect_text "$work/out" "accuracy" "eval prints accuracy"
    expect_status 0 "eval probe" "$simclr" eval --model "$run/pretrain.safetensors"
    expect_status 0 "predict" "$simclr" predict --model "$run/finetune.safetensors" --top 2 "$work/test0.png"
    expect_text "$work/out" "test0.png: " "predict prints class and probability"
    expect_status 2 "predict unreadable image" "$simclr" predict --model "$run/finetune.safetensors" "$work/err"
    expect_text "$work/err" "$work/err" "unreadable image is named"
    expect_status 2 "unknown precision" "$simclr" baseline --precision fp16 --out "$work/x"
    expect_text "$work/err" "--precision" "bad precision names the flag"
    expect_status 2 "finetune from a non-checkpoint" "$simclr" finetune --from "$work/grid.png" --out "$work/ft"
    expect_text "$work/err" "grid.png" "bad checkpoint is named"
fi

echo "$passes passed, $failures failed, $skipped groups skipped"
[ "$failures" -eq 0 ] || exit 1
[ "$skipped" -eq 0 ] || exit 77 # CTest: skipped, not passed
