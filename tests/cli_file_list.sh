#!/usr/bin/env bash
# Issue 25 on the command line: --dataset folder --file-list FILE. A CSV list (path, label, split;
# a quoted path with a comma, a byte order mark and CRLF) of a few real CIFAR-10 JPEGs
# (symlinked from /work/shared/data/cifar10, kept elsewhere than the list: relative paths are
# relative to the list's folder) pretrains; a missing file is named and skipped, --strict refuses
# it; a text list takes its labeled images from --labeled-dir; an empty list, a bad header and
# --file-list with --data-dir exit 2 naming the problem; --resume notices a changed list; eval
# reopens the list from the checkpoint. Skips (exit 77) without the CIFAR-10 JPEG folders.
set -uo pipefail
simclr=$(realpath "$1")
data=${SIMCLR_CIFAR10_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/cifar10}
if [ ! -d "$data/train" ]; then echo "SKIP: no CIFAR-10 JPEG folders at $data"; exit 77; fi
source "$(dirname "$0")/harness.sh"

# Images in $work/images (names of our own, one with a comma), the lists in $work/lists.
mkdir -p "$work/images" "$work/lists"
for class in cat dog; do
    for i in 0000 0001 0002 0003; do ln -s "$data/train/$class/$i.jpg" "$work/images/$class-$i.jpg"; done
    for i in 0000 0001; do ln -s "$data/test/$class/$i.jpg" "$work/images/test-$class-$i.jpg"; done
done
ln -s "$data/train/cat/0004.jpg" "$work/images/cat, the fifth.jpg"
ln -s "$data/train/dog/0004.jpg" "$work/images/extra.jpg"
list=$work/lists/list.csv
{
    printf '\xef\xbb\xbfpath,label,split\r\n'
    for i in 0000 0001 0002 0003; do printf '../images/cat-%s.jpg,cat,\r\n../images/dog-%s.jpg,dog,train\r\n' $i $i; done
    printf '"../images/cat, the fifth.jpg",cat,\r\n'
    for class in cat dog; do printf '../images/test-%s-0000.jpg,%s,test\r\n../images/test-%s-0001.jpg,%s,test\r\n' \
        $class $class $class $class; done
    printf '../images/extra.jpg,,\r\n' # unlabeled
    printf '../images/missing.jpg,dog,\r\n'
} >"$list"
tiny=(--epochs 1 --steps-per-epoch 2 --width 8 --unlabeled-batch 4 --labeled-batch 2 --test-batch 4
      --labeled-per-class 2 --threads 2 --quiet)

expect_status 0 "info on a CSV list" "$simclr" info --dataset folder --file-list "$list"
expect_text "$work/out" "train             9  labeled" "9 train images (the missing one skipped)"
expect_text "$work/out" "test              4  labeled" "4 test images"
expect_text "$work/out" "unlabeled         1  unlabeled" "1 unlabeled image"
expect_text "$work/err" "skipped cannot open image $work/lists/../images/missing.jpg: No such file or directory" \
    "the missing file is named with the reason"
expect_text "$work/err" "1 file of $list skipped" "and counted"

# The index cache (issue 25): the first open reads every header and writes it, the second takes
# every file from it; the default place is $XDG_CACHE_HOME/simclr/index.
expect_status 0 "info with --index-cache" "$simclr" info --dataset folder --file-list "$list" --index-cache "$work/index"
expect_text "$work/err" "index of $list: 0 of 15 files from the cache $work/index/list.csv-" \
    "the first open reads every header"
expect_text "$work/err" "15 read" "all 15 (the missing one too)"
expect_status 0 "info again" "$simclr" info --dataset folder --file-list "$list" --index-cache "$work/index"
expect_text "$work/err" "14 of 15 files from the cache" "the second takes the files from the cache"
expect_status 0 "info with the default cache" env XDG_CACHE_HOME="$work/xdg" "$simclr" info --dataset folder \
    --file-list "$list"
expect_text "$work/err" "from the cache $work/xdg/simclr/index/list.csv-" "in \$XDG_CACHE_HOME/simclr/index"
expect_status 0 "--no-index-cache" env XDG_CACHE_HOME="$work/none" "$simclr" info --dataset folder --file-list \
    "$list" --no-index-cache
if [ ! -e "$work/none" ] && ! grep -q "index of" "$work/err"; then pass "--no-index-cache writes no cache"
else fail "--no-index-cache wrote a cache or reported one"; fi
expect_status 2 "--index-cache with --no-index-cache" "$simclr" info --dataset folder --file-list "$list" \
    --index-cache "$work/index" --no-index-cache
expect_text "$work/err" "give one of them" "is refused"

expect_status 0 "pretrain on a CSV list" "$simclr" pretrain --dataset folder --file-list "$list" "${tiny[@]}" \
    --out "$work/run"
expect_text "$work/err" "missing.jpg: No such file or directory" "pretrain names the missing file"
expect_text "$work/run/pretrain_config.json" "\"data_dir\": \"$list\"" "the run records the list"
expect_text "$work/run/pretrain_config.json" "\"file_list\": \"$list\"" "the run records --file-list"
expect_status 2 "--strict refuses the missing file" "$simclr" pretrain --dataset folder --file-list "$list" \
    "${tiny[@]}" --strict --out "$work/strict"
expect_text "$work/err" "missing.jpg: No such file or directory (--strict refuses" "naming it"
if [ ! -e "$work/strict" ]; then pass "a refused run writes nothing"; else fail "the refused run wrote $work/strict"; fi

expect_status 0 "eval reopens the list from the checkpoint" "$simclr" eval --model "$work/run/pretrain.safetensors"
expect_text "$work/out" "folder test split, 4 images ($list)" "on the list's test split"

cp "$list" "$work/list.before"
printf '../images/cat-0003.jpg,cat,test\r\n' >>"$list"
expect_status 2 "--resume notices a changed list" "$simclr" pretrain --resume "$work/run" --epochs 2
expect_text "$work/err" "dataset files (SHA-256 of names and sizes)" "by its fingerprint"
cp "$work/list.before" "$list"
printf '../images/cat-0000.jpg,cat,\r\n' >>"$list"
expect_status 0 "a path listed again is skipped" "$simclr" info --dataset folder --file-list "$list"
expect_text "$work/err" "cat-0000.jpg: listed again on line 17 of $list (first on line 2)" "naming both lines"
cp "$work/list.before" "$list"

# A text list: unlabeled images, the labeled ones from --labeled-dir.
(cd "$work/images" && ls cat-*.jpg dog-*.jpg) >"$work/images/photos.txt"
expect_status 0 "a text list alone is unlabeled images only" "$simclr" info --dataset folder --file-list \
    "$work/images/photos.txt"
cifar10_slice "$data" "$work/labeled" 2 2
expect_status 0 "a text list with --labeled-dir" "$simclr" info --dataset folder --file-list \
    "$work/images/photos.txt" --labeled-dir "$work/labeled"
expect_text "$work/out" "unlabeled         8  unlabeled" "its 8 images are the unlabeled split"

# Bad lists and options: exit 2, naming the list or the flag.
: >"$work/lists/empty.csv"
expect_status 2 "an empty list" "$simclr" info --dataset folder --file-list "$work/lists/empty.csv"
expect_text "$work/err" "$work/lists/empty.csv: no image path in it" "names the list"
printf 'path,class\n../images/cat-0000.jpg,cat\n' >"$work/lists/header.csv"
expect_status 2 "a bad header" "$simclr" info --dataset folder --file-list "$work/lists/header.csv"
expect_text "$work/err" "header.csv: line 1: unknown column 'class'" "names the column"
expect_status 2 "--file-list with --data-dir" "$simclr" info --dataset folder --file-list "$list" --data-dir "$work"
expect_text "$work/err" "give --file-list or --data-dir, not both" "says which to give"
expect_status 2 "--file-list without --dataset folder" "$simclr" info --file-list "$list"
expect_text "$work/err" "read by --dataset folder" "says to give --dataset folder"
harness_finish
