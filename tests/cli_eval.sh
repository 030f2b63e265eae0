#!/usr/bin/env bash
# The representation commands as a user meets them, on a tiny PNG folder (tests/eval_fixture.sh):
# knn, embed (split and files, streamed over several batches, .npy read back, .csv, --plot,
# --features), linear-eval (label fractions), and every bad input: exit status 2, the flag or file
# named, no partial .npy or .csv left behind.
set -uo pipefail
simclr=$1
source "$(dirname "$0")/harness.sh"
expect_absent() { # expect_absent NAME PATH...
    local name=$1 left=""
    shift
    for path in "$@"; do [ -e "$path" ] && left="$left $path"; done
    if [ -z "$left" ]; then pass "$name"; else fail "$name (left:$left)"; fi
}
# A .npy's shape from its header, read with the shell (numpy's check is cli_embed_numpy.sh).
npy_shape() { head -c 128 "$1" | tr -d '\000' | grep -ao "'shape': ([0-9]*, [0-9]*)" | tr -dc '0-9,' ; }

source "$(dirname "$0")/eval_fixture.sh"
setup_eval_fixture
D=("${dataset_options[@]}")

# knn: the seed's kind of line; k defaults to 200, clamped to the 36-image bank.
expect_status 0 "knn of the baseline" "$simclr" knn --model "$baseline" "${D[@]}"
expect_text "$work/out" "kNN accuracy (k=36, T=0.1): " "knn prints the accuracy with k clamped to the bank"
accuracy=$(grep -o 'T=0.1): [0-9.]*' "$work/out" | grep -o '[0-9.]*$')
if awk -v a="$accuracy" 'BEGIN { exit !(a > 90) }'; then pass "knn separates the colours ($accuracy %)"; else
    fail "knn accuracy $accuracy % (expected > 90)"; fi
expect_status 0 "knn with a bank of 4 per class and k 5" "$simclr" knn --model "$pretrain" "${D[@]}" \
    --labeled-per-class 4 --knn-k 5 --knn-temperature 0.5
expect_text "$work/out" "bank      12 labeled" "the bank follows --labeled-per-class"
expect_text "$work/out" "kNN accuracy (k=5, T=0.5): " "knn reports k and T"
expect_status 0 "knn of a random encoder" "$simclr" knn --model "$baseline" "${D[@]}" --random-init --seed 4
expect_text "$work/out" "random init, seed 4" "knn says the encoder is random"
expect_status 2 "knn: k above the bank" "$simclr" knn --model "$baseline" "${D[@]}" --labeled-per-class 4 --knn-k 13
expect_text "$work/err" "--knn-k 13" "k above the bank names --knn-k"
expect_status 2 "knn: temperature 0" "$simclr" knn --model "$baseline" "${D[@]}" --knn-temperature 0
expect_text "$work/err" "--knn-temperature" "bad temperature names the flag"
expect_status 2 "knn without --model" "$simclr" knn "${D[@]}"
expect_text "$work/err" "--model" "missing --model is named"
expect_status 2 "knn: missing checkpoint" "$simclr" knn --model "$work/none.safetensors" "${D[@]}"
expect_text "$work/err" "$work/none.safetensors" "missing checkpoint is named"
expect_status 2 "knn: image shape does not match" "$simclr" knn --model "$baseline" --dataset folder \
    --data-dir "$data" --image-size 20
expect_text "$work/err" "trained on 16x16x3 images but dataset folder has 20x20x3" "shape mismatch is explained"
expect_status 2 "training: --knn-k above the bank" "$simclr" baseline "${D[@]}" --labeled-per-class 2 --knn-k 7 \
    --epochs 1 --out "$work/never"
expect_text "$work/err" "--knn-k 7" "training refuses a k above its bank"

# embed a split: .npy of (18, 16), a .csv row per image, the PCA picture.
expect_status 0 "embed the test split" "$simclr" embed --model "$baseline" "${D[@]}" --out "$work/test.npy" \
    --plot "$work/test.png" --batch 4
if [ "$(npy_shape "$work/test.npy")" = "18,16" ]; then pass "test.npy is (18, 16)"; else
    fail "test.npy shape '$(npy_shape "$work/test.npy")'"; fi
size=$(stat -c %s "$work/test.npy")
if [ "$size" -eq $((128 + 18 * 16 * 4)) ]; then pass "header of 128 bytes + float32 data"; else fail "test.npy has $size bytes"; fi
expect_text "$work/test.csv" "index,source,label,class_name" "csv header"
expect_text "$work/test.csv" "0,test:0,0,blue" "csv names split, index, label and class"
if [ "$(wc -l <"$work/test.csv")" -eq 19 ]; then pass "one csv row per embedding"; else fail "csv rows"; fi
# Every --out file makes its missing folders, as training's --out does (issue 27).
expect_status 0 "embed into a folder that does not exist yet" "$simclr" embed --model "$baseline" "${D[@]}" \
    --out "$work/new/deeper/test.npy" --plot "$work/other/plot.png" --batch 4
if [ -s "$work/new/deeper/test.npy" ] && [ -s "$work/new/deeper/test.csv" ] && [ -s "$work/other/plot.png" ]; then
    pass "embed created the folders of --out and --plot"; else fail "embed did not create the --out folders"; fi
: >"$work/plain-file"
expect_status 2 "--out under a regular file" "$simclr" embed --model "$baseline" "${D[@]}" --out "$work/plain-file/x.npy"
expect_text "$work/err" "--out $work/plain-file/x.npy: $work/plain-file is not a directory" "the error names --out and the folder"
expect_status 2 "a refused embed into a new folder" "$simclr" embed --model "$work/nothing.safetensors" \
    --out "$work/never/made/x.npy"
if [ ! -e "$work/never" ]; then pass "a refused embed makes no folder"; else fail "a refused embed left $work/never"; fi
if head -c 8 "$work/test.png" | grep -q PNG; then pass "--plot writes a PNG"; else fail "--plot wrote no PNG"; fi
expect_status 0 "embed the train split, projection head" "$simclr" embed --model "$pretrain" "${D[@]}" \
    --split train --features projection --out "$work/proj.npy" --quiet
if [ "$(npy_shape "$work/proj.npy")" = "36,16" ]; then pass "projection features are (36, width)"; else
    fail "proj.npy shape '$(npy_shape "$work/proj.npy")'"; fi

# embed files and directories: 18 images in batches of 8 (three batches, the last partial).
mkdir -p "$work/files/sub"
cp "$data"/test/red/*.png "$work/files/sub/"
cp "$data"/train/green/0*.png "$work/files/"
expect_status 0 "embed files over several batches" "$simclr" embed --model "$baseline" --out "$work/files.npy" \
    --batch 8 "$work/files" "$data/test/blue/00.png" "$data/test/blue/01.png"
if [ "$(npy_shape "$work/files.npy")" = "18,16" ]; then pass "files.npy is (18, 16)"; else
    fail "files.npy shape '$(npy_shape "$work/files.npy")'"; fi
expect_text "$work/files.csv" "17,$data/test/blue/01.png,," "file rows carry the path and no label"
expect_text "$work/files.csv" "0,$work/files/00.png,," "directories are searched in name order"
# The same image from its file (row 16: 10 green, 6 red, then blue/00) and from the split (row 0).
row_from_split=$(od -An -tf4 -j128 -N64 "$work/test.npy" | tr -s ' \n' ' ')
row_from_file=$(od -An -tf4 -j$((128 + 16 * 64)) -N64 "$work/files.npy" | tr -s ' \n' ' ')
# (to float32 precision: batches of 4 and of 8 round differently inside the convolutions)
if awk -v a="$row_from_split" -v b="$row_from_file" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
        for (i = 1; i <= n; i++) { d = x[i] - y[i]; if (d < 0) d = -d; if (d > 1e-5 + 1e-5 * (x[i] < 0 ? -x[i] : x[i])) exit 1 }
        exit n != 16 }'; then pass "a file and its split row give the same features"; else
    fail "file and split features differ: $row_from_split vs $row_from_file"; fi

# Bad input for embed: nothing left behind.
printf '' >"$work/files/empty.png"
expect_status 2 "embed: an empty image among the files" "$simclr" embed --model "$baseline" --out "$work/bad.npy" \
    --batch 8 "$work/files"
expect_text "$work/err" "$work/files/empty.png" "the empty image is named"
expect_absent "no partial .npy or .csv" "$work/bad.npy" "$work/bad.csv"
if ls "$work" | grep -q '\.tmp\.'; then fail "temporary files left"; else pass "no temporary files left"; fi
rm "$work/files/empty.png"
echo "not an image" >"$work/notes.png"
expect_status 2 "embed: an unreadable image" "$simclr" embed --model "$baseline" --out "$work/bad.npy" "$work/notes.png"
expect_text "$work/err" "$work/notes.png" "the unreadable image is named"
expect_status 2 "embed: a missing file" "$simclr" embed --model "$baseline" --out "$work/bad.npy" "$work/nothing.png"
expect_text "$work/err" "$work/nothing.png" "the missing file is named"
expect_status 2 "embed: --out whose folder cannot be made" "$simclr" embed --model "$baseline" "${D[@]}" \
    --out "$work/notes.png/dir/x.npy"
expect_text "$work/err" "--out" "unwritable --out is named"
chmod 555 "$work/files"
if [ "$(id -u)" -ne 0 ]; then
    expect_status 2 "embed: --out in a read-only directory" "$simclr" embed --model "$baseline" "${D[@]}" \
        --out "$work/files/x.npy"
    expect_text "$work/err" "not writable" "read-only --out is explained"
fi
chmod 755 "$work/files"
expect_status 2 "embed: --out not .npy" "$simclr" embed --model "$baseline" "${D[@]}" --out "$work/x.txt"
expect_text "$work/err" "ending in .npy" "--out must end in .npy"
expect_status 2 "embed without --out" "$simclr" embed --model "$baseline" "${D[@]}"
expect_status 2 "embed: --split and files" "$simclr" embed --model "$baseline" --split test --out "$work/x.npy" \
    "$work/files"
expect_status 2 "embed: projection of a baseline" "$simclr" embed --model "$baseline" "${D[@]}" \
    --features projection --out "$work/x.npy"
expect_text "$work/err" "--features projection" "projection without a head names the flag"
expect_status 2 "embed: missing split" "$simclr" embed --model "$baseline" "${D[@]}" --split unlabeled \
    --out "$work/x.npy"
expect_text "$work/err" "--split unlabeled" "a split the dataset lacks is named"
expect_status 2 "embed: shape mismatch" "$simclr" embed --model "$baseline" --dataset folder --data-dir "$data" \
    --image-size 12 --out "$work/x.npy"
expect_absent "no output after refused embeds" "$work/x.npy" "$work/x.csv"

# linear-eval: top-1 and top-5 (top-3 with three classes), fractions.
expect_status 0 "linear-eval" "$simclr" linear-eval --model "$baseline" "${D[@]}"
expect_text "$work/out" "Linear evaluation accuracy: top-1 " "linear-eval prints top-1"
expect_text "$work/out" "top-3 100.00%" "top-k is capped at the class count"
expect_text "$work/out" "(converged)" "L-BFGS converges"
expect_status 0 "linear-eval at 50 % of the labels" "$simclr" linear-eval --model "$pretrain" "${D[@]}" \
    --label-fraction 0.5
expect_text "$work/out" "train     18 labeled" "half of the 36 labels"
expect_status 0 "linear-eval with 2 per class, random init" "$simclr" linear-eval --model "$pretrain" "${D[@]}" \
    --labeled-per-class 2 --random-init
expect_text "$work/out" "train     6 labeled" "2 per class"
for fraction in 0 1.5 -0.1; do
    expect_status 2 "linear-eval: --label-fraction $fraction" "$simclr" linear-eval --model "$baseline" "${D[@]}" \
        --label-fraction "$fraction"
    expect_text "$work/err" "--label-fraction" "bad fraction $fraction names the flag"
done
expect_status 2 "linear-eval: fraction and per-class" "$simclr" linear-eval --model "$baseline" "${D[@]}" \
    --label-fraction 0.5 --labeled-per-class 2
expect_status 2 "linear-eval: more per class than there are" "$simclr" linear-eval --model "$baseline" "${D[@]}" \
    --labeled-per-class 13
expect_text "$work/err" "--labeled-per-class 13" "too many per class is named"

harness_finish
