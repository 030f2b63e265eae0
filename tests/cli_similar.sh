#!/usr/bin/env bash
# Issue 26 as a user meets it, on a CIFAR-10 slice (40 test JPEGs in class folders, symlinked) with
# a decoded PNG of one more image, its mirrored copy and a byte copy of a JPEG, and a tiny model
# trained here: `similar` (a query finds itself first with similarity 1, text and CSV, --in and
# --embeddings give the same neighbours, an unreadable query is named and skipped with exit 2, the
# contact sheet), `dedup` (the byte copy by its SHA-256, the mirrored copy grouped with its
# original, each group's center first with similarity 1), `select` (K distinct paths, the coverage
# radius falling, --labeled images never selected, the outliers least similar first, sheet and
# plot), `embed --plot --mark` (select's subset marked in embed's PCA picture, by path or
# split:index) and every refusal with its whole message: K or N larger than the images, empty folders,
# embeddings of another width. The quality of the threshold is the benchmark's
# (bench/similarity.sh), not this test's. Skipped (77) without the CIFAR-10 folders
# or python3 (which makes the mirrored copy).
set -uo pipefail
simclr=$1
source "$(dirname "$0")/harness.sh"
data=${SIMCLR_CIFAR10_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/cifar10}
if [ ! -d "$data/test" ]; then echo "SKIP: no CIFAR-10 JPEG folders at $data"; exit 77; fi
if ! command -v python3 >/dev/null; then echo "SKIP: python3 is needed to make the mirrored copy"; exit 77; fi
expect_same() { # expect_same FILE EXPECTED-TEXT NAME: the file holds exactly the text
    if [ "$(cat "$1")" = "$2" ]; then pass "$3"; else
        fail "$3"; echo "    expected:"; echo "$2" | sed 's/^/      /' | head -8; echo "    got:"; sed 's/^/      /' "$1" | head -8; fi
}
png_written() { # png_written FILE NAME
    if [ -s "$1" ] && head -c 8 "$1" | grep -q PNG; then pass "$2"; else fail "$2 (no PNG at $1)"; fi
}

for command in similar dedup select; do
    expect_status 0 "$command --help" "$simclr" "$command" --help
    expect_text "$work/out" "Usage: simclr $command --model CHECKPOINT" "$command --help shows its usage"
done
cifar10_slice "$data" "$work/c10" 6 4
model=$work/run/baseline.safetensors
"$simclr" baseline --dataset folder --data-dir "$work/c10" --image-size 32 --steps-per-epoch 1 --epochs 1 --width 8 \
    --labeled-per-class 5 --labeled-batch 5 --quiet --out "$work/run" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
"$simclr" baseline --dataset folder --data-dir "$work/c10" --image-size 32 --steps-per-epoch 1 --epochs 1 --width 16 \
    --labeled-per-class 5 --labeled-batch 5 --quiet --out "$work/wide" >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
# The bank: the 40 test images (symlinks in class folders), one more image decoded to PNG (the
# train split's first), its mirrored copy, and a byte copy of a test JPEG.
bank=$work/bank
cp -r "$work/c10/test" "$bank"
"$simclr" show --dataset folder --data-dir "$work/c10" --split train --index 0 --out "$bank/original.png" >/dev/null 2>&1
python3 "$(dirname "$0")/image_variants.py" "$bank/original.png" "$work" original
cp "$work/original_flip.png" "$bank/original_flip.png"
query=$bank/cat/$(ls "$bank/cat" | head -1)
cp "$(readlink -f "$query")" "$bank/zz_copy.jpg"
count=$(find "$bank" -name '*.jpg' -o -name '*.png' | wc -l)
[ "$count" -eq 43 ] || { echo "the bank holds $count images, expected 43"; exit 1; }

# ---- similar ----
expect_status 0 "similar: CSV" "$simclr" similar --model "$model" --in "$bank" "$query" --top 3 --format csv
# The query and its byte copy (zz_copy.jpg) tie at similarity 1: their features, computed at other
# places of a batch, may differ in the last bits (the AVX2 pass), so either may come first.
first_two=$(sed -n 2,3p "$work/out" | cut -d, -f1,3,4 | sort)
expected=$(printf '%s\n' "$query,$query,1.000000" "$query,$bank/zz_copy.jpg,1.000000" | sort)
if [ "$(head -1 "$work/out")" = "query,rank,path,similarity" ] && [ "$first_two" = "$expected" ]; then
    pass "the query and its byte copy come first, with similarity 1"
else fail "ranks 1 and 2: $first_two"; fi
if [ "$(wc -l <"$work/out")" -eq 4 ]; then pass "K rows per query"; else fail "$(wc -l <"$work/out") lines of CSV"; fi
cp "$work/out" "$work/from_folder.csv"
expect_status 0 "similar: text" "$simclr" similar --model "$model" --in "$bank" "$query" --top 2
expect_text "$work/out" "bank      43 images under $bank (features " "text names the bank"
expect_text "$work/out" "query $query" "text names the query"
if grep -qE "^ +1  1\.0000  ($query|$bank/zz_copy\.jpg)\$" "$work/out"; then pass "text rank 1 is the query or its copy"
else fail "text rank 1"; fi
expect_status 0 "similar: a directory of queries, with a sheet" "$simclr" similar --model "$model" --in "$bank" \
    "$bank/dog" --top 4 --format csv --sheet "$work/sheets/similar.png"
if [ "$(grep -c ',1,' "$work/out")" -eq 4 ]; then pass "every image of the directory is a query"; else fail "queries of a directory"; fi
awk -F, 'NR > 1 && $2 == 1 && ($1 != $3 || $4 != "1.000000") { bad = 1 } END { exit bad }' "$work/out" \
    && pass "each finds itself first" || fail "a query did not find itself first"
png_written "$work/sheets/similar.png" "--sheet draws the queries and their neighbours"
echo "not an image" >"$work/bad.png"
expect_status 2 "similar: an unreadable query" "$simclr" similar --model "$model" --in "$bank" "$work/bad.png" "$query" \
    --top 1 --format csv
expect_text "$work/err" "simclr: $work/bad.png: " "the unreadable query is named"
expect_text "$work/err" "; skipped" "and skipped"
expect_text "$work/err" "simclr: error: 1 of 2 query images could not be read (reported above); the others were searched" \
    "the exit status says so at the end"
if grep -qE "^$query,1,($query|$bank/zz_copy\.jpg),1\.000000\$" "$work/out"; then pass "the readable query is still answered"
else fail "the readable query is still answered"; fi
# The same bank from `simclr embed`: the same neighbours.
"$simclr" embed --model "$model" --out "$work/bank.npy" "$bank" --quiet >/dev/null 2>&1
expect_status 0 "similar --embeddings" "$simclr" similar --model "$model" --embeddings "$work/bank.npy" "$query" --top 3 \
    --format csv
if [ "$(cut -d, -f1-3 "$work/out")" = "$(cut -d, -f1-3 "$work/from_folder.csv")" ] &&
    paste -d, "$work/out" "$work/from_folder.csv" | awk -F, 'NR > 1 { d = $4 - $8; if (d < 0) d = -d; if (d > 1e-5) exit 1 }'; then
    pass "--embeddings finds what --in finds"
else
    fail "--embeddings and --in differ"; paste "$work/out" "$work/from_folder.csv" | head -5
fi

# ---- similar: refusals ----
expect_status 2 "similar: K above the images" "$simclr" similar --model "$model" --in "$bank" "$query" --top 44
expect_same "$work/err" "simclr: error: --top 44: larger than the 43 images under --in $bank" "K too large: the message"
mkdir -p "$work/empty/sub"
expect_status 2 "similar: an empty folder" "$simclr" similar --model "$model" --in "$work/empty" "$query"
expect_same "$work/err" "simclr: error: --in $work/empty: no .png, .jpg or .jpeg image in it (searched recursively)" \
    "empty folder: the message"
"$simclr" embed --model "$work/wide/baseline.safetensors" --out "$work/wide.npy" "$bank" --quiet >/dev/null 2>&1
expect_status 2 "similar: embeddings of another model" "$simclr" similar --model "$model" --embeddings "$work/wide.npy" \
    "$query"
wide_sha=$(sha256sum "$work/wide/baseline.safetensors" | cut -c1-16)
model_sha=$(sha256sum "$model" | cut -c1-16)
expect_same "$work/err" "simclr: error: --embeddings $work/wide.npy was made by the model $work/wide/baseline.safetensors \
(SHA-256 $wide_sha...), but --model $model is another checkpoint (SHA-256 $model_sha...): give --model \
$work/wide/baseline.safetensors, or embed the images again with this one (simclr embed --model $model)" \
    "another model: both named (embed's FILE.json)"
# Rows without embed's record (saved by other means): only their width can be checked.
rm "$work/wide.json"
expect_status 2 "similar: embeddings of another width" "$simclr" similar --model "$model" --embeddings "$work/wide.npy" \
    "$query"
expect_same "$work/err" "simclr: error: --embeddings $work/wide.npy holds features of 16 floats, but --model $model gives \
encoder features of 8 floats: embed the images with this model and --features (simclr embed --model $model --features \
encoder)" "wrong width: both named"
expect_status 2 "similar: K above the embeddings" "$simclr" similar --model "$model" --embeddings "$work/bank.npy" "$query" \
    --top 50
expect_same "$work/err" "simclr: error: --top 50: larger than the 43 images of --embeddings $work/bank.npy" \
    "K above the embeddings: the message"
mkdir -p "$work/lonely" && cp "$work/bank.npy" "$work/lonely/"
expect_status 2 "similar: embeddings without their .csv" "$simclr" similar --model "$model" --embeddings \
    "$work/lonely/bank.npy" "$query"
expect_same "$work/err" "simclr: error: --embeddings $work/lonely/bank.npy: cannot open $work/lonely/bank.csv, which \
names its rows (simclr embed writes both)" "missing .csv: the message"
head -5 "$work/bank.csv" >"$work/lonely/bank.csv"
expect_status 2 "similar: a .csv naming fewer rows" "$simclr" similar --model "$model" --embeddings \
    "$work/lonely/bank.npy" "$query"
expect_same "$work/err" "simclr: error: --embeddings $work/lonely/bank.npy holds 43 rows but $work/lonely/bank.csv names 4" \
    "short .csv: the message"
expect_status 2 "similar: --in and --embeddings" "$simclr" similar --model "$model" --in "$bank" --embeddings \
    "$work/bank.npy" "$query"
expect_same "$work/err" "simclr: error: simclr similar: give the images to search with --in DIR or --embeddings \
FILE.npy (one of them)" "--in or --embeddings: the message"
expect_status 2 "similar: no query" "$simclr" similar --model "$model" --in "$bank"
expect_text "$work/err" "expected at least one QUERY image" "no query: the message"

# ---- dedup ----
# The mirrored copy's similarity to its original, by similar; dedup at that threshold groups them.
"$simclr" similar --model "$model" --in "$bank" "$bank/original_flip.png" --top 43 --format csv >"$work/flip.csv"
similarity=$(awk -F, -v want="$bank/original.png" '$3 == want { print $4 }' "$work/flip.csv")
[ -n "$similarity" ] || { echo "no similarity of the mirrored copy"; cat "$work/flip.csv" | head; exit 1; }
expect_status 0 "dedup at the mirrored copy's similarity ($similarity)" "$simclr" dedup --model "$model" --in "$bank" \
    --out "$work/groups.csv" --threshold "$similarity" --sheet "$work/sheets/dedup.png"
group_of() { awk -F, -v want="$1" '$2 == want { print $1 }' "$work/groups.csv"; }
if [ -n "$(group_of "$bank/original.png")" ] && [ "$(group_of "$bank/original.png")" = "$(group_of "$bank/original_flip.png")" ]; then
    pass "the mirrored copy is grouped with its original"
else
    fail "the mirrored copy is not grouped with its original"; cat "$work/groups.csv" | head
fi
if [ "$(group_of "$query")" = "$(group_of "$bank/zz_copy.jpg")" ]; then pass "the byte copy is grouped with its original"; else
    fail "the byte copy is not grouped with its original"; fi
expect_text "$work/out" "exact     1 byte copy of another file (SHA-256, " "dedup reports the byte copy"
expect_text "$work/out" "42 distinct images embedded" "the byte copy is not embedded again"
awk -F, 'NR == 1 && $0 != "group,path,similarity" { exit 1 } NR > 1 && $1 != last && $3 != "1.000000" { exit 1 }
    NR > 1 { last = $1 }' "$work/groups.csv" && pass "header, and each group led by its center with similarity 1" ||
    fail "groups.csv: a group without its center first"
png_written "$work/sheets/dedup.png" "dedup --sheet draws the groups"
# At threshold 1 only contents that are the same bytes (or features the same to the last bit) join.
expect_status 0 "dedup at threshold 1, no hashes" "$simclr" dedup --model "$model" --in "$bank" --out "$work/exact.csv" \
    --threshold 1 --hash-radius -1
grep -F -e "$query" -e "$bank/zz_copy.jpg" "$work/exact.csv" | cut -d, -f1 | sort -u >"$work/groups_of_copies"
if [ "$(wc -l <"$work/groups_of_copies")" -eq 1 ] && grep -qF "$bank/zz_copy.jpg,1.000000" "$work/exact.csv"; then
    pass "the byte copy is found by its content hash"; else fail "the byte copy at threshold 1"; cat "$work/exact.csv"; fi
# The difference hash finds the mirrored copy whatever the features say (threshold 1).
expect_status 0 "dedup at threshold 1 with the hashes" "$simclr" dedup --model "$model" --in "$bank" \
    --out "$work/groups.csv" --threshold 1
if [ -n "$(group_of "$bank/original.png")" ] && [ "$(group_of "$bank/original.png")" = "$(group_of "$bank/original_flip.png")" ]; then
    pass "the mirrored copy is grouped by its mirrored difference hash"; else fail "the hash missed the mirrored copy"; fi
expect_text "$work/out" "or difference hashes within 10 bits" "dedup reports the hash radius"
# A crop at a corner (the top-left 90 % of each side, scaled back) is found by the region hashes
# (the corner region of the original), not by the whole images' hashes.
mkdir -p "$work/crops"
cp "$bank/original.png" "$work/original_corner.png" "$work/crops/"
cp "$bank"/cat/* "$bank"/ship/* "$work/crops/" 2>/dev/null
expect_status 0 "dedup of a corner crop, hashes only" "$simclr" dedup --model "$model" --in "$work/crops" \
    --out "$work/crops.csv" --threshold 1
crop_group() { awk -F, -v want="$work/crops/$1" '$2 == want { print $1 }' "$work/crops.csv"; }
if [ -n "$(crop_group original.png)" ] && [ "$(crop_group original.png)" = "$(crop_group original_corner.png)" ]; then
    pass "the corner crop is grouped with its original by a region hash"; else fail "the region hashes missed the corner crop"; cat "$work/crops.csv"; fi
expect_text "$work/out" "whole images against whole images and 9 regions (0.9 of the side)" "dedup reports the regions"
expect_status 0 "dedup of a corner crop, whole-image hashes" "$simclr" dedup --model "$model" --in "$work/crops" \
    --out "$work/crops.csv" --threshold 1 --hash-crops none --hash-radius 4
if [ -z "$(crop_group original_corner.png)" ]; then pass "the whole images' hashes alone miss the corner crop"; else
    fail "the whole-image hash found the corner crop (the test image no longer shows the regions' use)"; fi
# --match-threshold: a radius wide enough to join unrelated images, each pair then checked by
# aligning the two images' thumbnails: the crop stays with its original, the others go.
expect_status 0 "dedup of a corner crop, a wide radius, no check" "$simclr" dedup --model "$model" --in "$work/crops" \
    --out "$work/crops.csv" --threshold 1 --hash-radius 26 --match-threshold 0
unchecked=$(($(wc -l <"$work/crops.csv") - 1))
if [ "$unchecked" -gt 2 ]; then pass "radius 26 alone joins unrelated images ($unchecked images grouped)"
else fail "radius 26 joined only $unchecked images: the test no longer shows the check"; fi
expect_status 0 "dedup of a corner crop, a wide radius checked by alignment" "$simclr" dedup --model "$model" \
    --in "$work/crops" --out "$work/crops.csv" --threshold 1 --hash-radius 26 --match-threshold 0.9
if [ -n "$(crop_group original.png)" ] && [ "$(crop_group original.png)" = "$(crop_group original_corner.png)" ] &&
    [ "$(($(wc -l <"$work/crops.csv") - 1))" -eq 2 ]; then
    pass "checked, the crop alone stays with its original"; else fail "the aligned check"; cat "$work/crops.csv"; fi
expect_text "$work/out" "the hashes found, each joined only when the images correlate at 0.9 or more" \
    "dedup reports the checked pairs"
expect_status 2 "dedup: --match-threshold out of range" "$simclr" dedup --model "$model" --in "$bank" \
    --out "$work/never.csv" --match-threshold 1.5
expect_text "$work/err" "--match-threshold" "naming the flag"
expect_status 2 "dedup: a bad --hash-crops" "$simclr" dedup --model "$model" --in "$bank" --out "$work/never.csv" \
    --hash-crops 0.9,1.2
expect_same "$work/err" "simclr: error: --hash-crops 0.9,1.2: expected none or fractions of the side in (0, 1), comma-separated (0.9,0.8)" \
    "dedup: the bad --hash-crops message"
expect_status 2 "dedup: a bad --hash-crop-positions" "$simclr" dedup --model "$model" --in "$bank" --out "$work/never.csv" \
    --hash-crop-positions 4
expect_text "$work/err" "--hash-crop-positions" "the bad positions are named"
expect_status 2 "dedup: an empty folder" "$simclr" dedup --model "$model" --in "$work/empty" --out "$work/never.csv"
expect_same "$work/err" "simclr: error: --in $work/empty: no .png, .jpg or .jpeg image in it (searched recursively)" \
    "dedup: empty folder message"
expect_status 2 "dedup: --threshold out of range" "$simclr" dedup --model "$model" --in "$bank" --out "$work/never.csv" \
    --threshold 1.5
expect_text "$work/err" "--threshold" "the bad threshold is named"
expect_status 2 "dedup without --out" "$simclr" dedup --model "$model" --in "$bank"
expect_same "$work/err" "simclr: error: simclr dedup: --model CHECKPOINT, --in DIR and --out FILE.csv are required" \
    "dedup: the required options"
if [ ! -e "$work/never.csv" ]; then pass "refused dedups write nothing"; else fail "a refused dedup wrote $work/never.csv"; fi

# ---- select ----
expect_status 0 "select 5" "$simclr" select --model "$model" --in "$bank" --n 5 --out "$work/subset.csv" \
    --outliers 3 --outliers-out "$work/outliers.csv" --sheet "$work/sheets/select.png" --plot "$work/sheets/pca.png"
expect_text "$work/out" "selected  5 by k-center (" "select reports the count"
expect_text "$work/out" "coverage radius " "select reports the coverage radius"
if [ "$(head -1 "$work/subset.csv")" = "path,radius" ] && [ "$(tail -n +2 "$work/subset.csv" | cut -d, -f1 | sort -u | wc -l)" -eq 5 ]; then
    pass "subset.csv: 5 distinct paths"; else fail "subset.csv"; cat "$work/subset.csv"; fi
awk -F, 'NR > 2 && $2 > last + 1e-6 { exit 1 } NR > 1 { last = $2 }' "$work/subset.csv" \
    && pass "the radius never grows" || fail "the radius grew"
radius=$(tail -1 "$work/subset.csv" | cut -d, -f2)
expect_text "$work/out" "coverage radius $(printf '%.4f' "$radius")" "the printed radius is the last row's"
if [ "$(head -1 "$work/outliers.csv")" = "path,nearest,similarity" ] && [ "$(wc -l <"$work/outliers.csv")" -eq 4 ]; then
    pass "outliers.csv: 3 rows"; else fail "outliers.csv"; cat "$work/outliers.csv"; fi
awk -F, 'NR > 2 && $3 < last { exit 1 } NR > 1 { last = $3 }' "$work/outliers.csv" \
    && pass "the least similar outlier first" || fail "outliers out of order"
png_written "$work/sheets/select.png" "select --sheet"
png_written "$work/sheets/pca.png" "select --plot"
expect_status 0 "select every image" "$simclr" select --model "$model" --in "$bank" --n 43 --out "$work/all.csv"
if [ "$(tail -n +2 "$work/all.csv" | cut -d, -f1 | sort -u | wc -l)" -eq 43 ]; then pass "43 distinct paths of 43"; else
    fail "select every image: repeats"; fi
printf '%s\n\n%s\n' "$query" "$bank/dog/$(ls "$bank/dog" | head -1)" >"$work/labeled.txt"
expect_status 0 "select from labeled images" "$simclr" select --model "$model" --in "$bank" --n 5 --out "$work/more.csv" \
    --labeled "$work/labeled.txt"
expect_text "$work/out" "labeled   2 images of $work/labeled.txt" "the labeled images are read"
if grep -qF -e "$query," -e "$bank/dog/$(ls "$bank/dog" | head -1)," "$work/more.csv"; then
    fail "a labeled image was selected again"; else pass "labeled images are not selected again"; fi
expect_status 0 "select from a subset.csv" "$simclr" select --model "$model" --in "$bank" --n 2 --out "$work/next.csv" \
    --labeled "$work/subset.csv"
if grep -qF -f <(tail -n +2 "$work/subset.csv" | cut -d, -f1 | sed 's/$/,/') "$work/next.csv"; then
    fail "--labeled subset.csv: selected again"; else pass "--labeled takes select's own subset.csv"; fi
expect_status 2 "select: K above the images" "$simclr" select --model "$model" --in "$bank" --n 44 --out "$work/never.csv"
expect_same "$work/err" "simclr: error: --n 44: larger than the 43 images under --in $bank" "select: K too large"
expect_status 2 "select: N above the images" "$simclr" select --model "$model" --in "$bank" --n 2 --out "$work/never.csv" \
    --outliers 50 --outliers-out "$work/never-o.csv"
expect_same "$work/err" "simclr: error: --outliers 50: larger than the 43 images under --in $bank" "select: N too large"
expect_status 2 "select: an empty folder" "$simclr" select --model "$model" --in "$work/empty" --n 1 --out "$work/never.csv"
expect_same "$work/err" "simclr: error: --in $work/empty: no .png, .jpg or .jpeg image in it (searched recursively)" \
    "select: empty folder message"
expect_status 2 "select: --outliers alone" "$simclr" select --model "$model" --in "$bank" --n 2 --out "$work/never.csv" \
    --outliers 2
expect_same "$work/err" "simclr: error: simclr select: --outliers N and --outliers-out FILE.csv go together" \
    "--outliers needs --outliers-out"
printf '%s\n' "$work/nothing.png" >"$work/missing.txt"
expect_status 2 "select: a labeled image that is missing" "$simclr" select --model "$model" --in "$bank" --n 2 \
    --out "$work/never.csv" --labeled "$work/missing.txt"
expect_text "$work/err" "simclr: error: --labeled $work/missing.txt: " "the labeled list is named"
expect_text "$work/err" "$work/nothing.png" "and the missing image"
if [ ! -e "$work/never.csv" ] && [ ! -e "$work/never-o.csv" ]; then pass "refused selects write nothing"; else
    fail "a refused select wrote a file"; fi

# ---- embed --plot --mark: select's subset marked in embed's PCA picture ----
expect_status 0 "embed --plot" "$simclr" embed --model "$model" --out "$work/plotted.npy" "$bank" --quiet \
    --plot "$work/sheets/embed.png"
png_written "$work/sheets/embed.png" "embed --plot"
expect_status 0 "embed --plot --mark subset.csv" "$simclr" embed --model "$model" --out "$work/plotted.npy" "$bank" \
    --quiet --plot "$work/sheets/embed_marked.png" --mark "$work/subset.csv"
png_written "$work/sheets/embed_marked.png" "embed --plot --mark"
expect_text "$work/out" "plot      $work/sheets/embed_marked.png (5 images marked, listed in $work/subset.csv)" \
    "the 5 selected images are marked"
if cmp -s "$work/sheets/embed.png" "$work/sheets/embed_marked.png"; then fail "--mark left the plot as it was"; else
    pass "the marked plot differs from the unmarked one"; fi
# One path a line, written otherwise than embed found them (a doubled slash: --in DIR/): the same files.
tail -n +2 "$work/subset.csv" | cut -d, -f1 | sed "s|^$bank/|$bank//|" >"$work/marked.txt"
expect_status 0 "embed --mark: paths one a line, written otherwise" "$simclr" embed --model "$model" \
    --out "$work/plotted.npy" "$bank" --quiet --plot "$work/sheets/embed_marked2.png" --mark "$work/marked.txt"
expect_text "$work/out" "(5 images marked, listed in $work/marked.txt)" "the same 5 images are marked"
# A dataset split's rows by FILE.csv's source, split:index.
printf 'test:0\ntest:3\n' >"$work/rows.txt"
expect_status 0 "embed --split --mark split:index" "$simclr" embed --model "$model" --out "$work/split.npy" \
    --split test --quiet --plot "$work/sheets/split_marked.png" --mark "$work/rows.txt"
expect_text "$work/out" "(2 images marked, listed in $work/rows.txt)" "split rows are marked by split:index"
printf 'test:0\ntest:40\ntrain:1\n' >"$work/rows.txt"
expect_status 2 "embed --split --mark: a row past the split" "$simclr" embed --model "$model" --out "$work/never.npy" \
    --split test --quiet --plot "$work/sheets/never.png" --mark "$work/rows.txt"
expect_same "$work/err" "simclr: error: --mark $work/rows.txt: test:40 names no row of the test split (test:0 to \
test:39, as FILE.csv names them) (2 of the 3 entries it lists name none)" "a row past the split: the message"
# Refusals: a listed path not embedded, --mark without --plot, an empty or unreadable list.
expect_status 2 "embed --mark: a path that was not embedded" "$simclr" embed --model "$model" --out "$work/never.npy" \
    "$bank" --quiet --plot "$work/sheets/never.png" --mark "$work/missing.txt"
expect_same "$work/err" "simclr: error: --mark $work/missing.txt: $work/nothing.png is not among the 43 images embedded" \
    "a path not embedded: the file and the path named"
expect_status 2 "embed --mark without --plot" "$simclr" embed --model "$model" --out "$work/never.npy" "$bank" --quiet \
    --mark "$work/subset.csv"
expect_same "$work/err" "simclr: error: simclr embed: --mark $work/subset.csv marks images in the --plot picture: give \
--plot FILE.png too" "--mark without --plot: the message"
: >"$work/empty.txt"
expect_status 2 "embed --mark: an empty list" "$simclr" embed --model "$model" --out "$work/never.npy" "$bank" --quiet \
    --plot "$work/sheets/never.png" --mark "$work/empty.txt"
expect_same "$work/err" "simclr: error: --mark $work/empty.txt: no image path in it (one a line)" \
    "an empty list: the message"
expect_status 2 "embed --mark: a list that cannot be read" "$simclr" embed --model "$model" --out "$work/never.npy" \
    "$bank" --quiet --plot "$work/sheets/never.png" --mark "$work/no-such-list.txt"
expect_same "$work/err" "simclr: error: --mark $work/no-such-list.txt: cannot open it: No such file or directory" \
    "an unreadable list: the message"
if [ ! -e "$work/never.npy" ] && [ ! -e "$work/never.csv" ] && [ ! -e "$work/sheets/never.png" ]; then
    pass "refused embeds write nothing"; else fail "a refused embed wrote a file"; fi

# ---- the approximate index ----
if [ "${SIMCLR_TEST_FAISS:-0}" = 1 ]; then
    expect_status 0 "similar --index hnsw" "$simclr" similar --model "$model" --in "$bank" "$bank/dog" --top 3 \
        --format csv --index hnsw
    awk -F, 'NR > 1 && $2 == 1 && $1 != $3 { bad = 1 } END { exit bad }' "$work/out" \
        && pass "hnsw: each query finds itself first" || fail "hnsw: a query did not find itself first"
    expect_status 0 "similar --index hnsw, text" "$simclr" similar --model "$model" --in "$bank" "$query" --top 2 --index hnsw
    expect_text "$work/out" "index     approximate: HNSW graph (faiss; M 32, efSearch 128; built in " "hnsw is reported"
else
    expect_status 2 "similar --index hnsw without faiss" "$simclr" similar --model "$model" --in "$bank" "$query" \
        --index hnsw
    expect_text "$work/err" "--index hnsw: this simclr was built without faiss" "hnsw without faiss: said plainly"
fi
expect_status 0 "similar: exact by default on a small bank" "$simclr" similar --model "$model" --in "$bank" "$query" --top 2
expect_text "$work/out" "index     exact (every image compared)" "exact is reported"

# ---- the embedding cache ----
# The runs above kept the bank's embeddings beside the model; with --cache-dir a fresh one here.
if ls "$work/run/embedding_cache/"*.index >/dev/null 2>&1; then pass "a cache beside --model by default"; else
    fail "no embedding_cache/ beside the model"; fi
cache=$work/cache
select_csv() { # select_csv NAME [OPTIONS...]: select 6 with outliers into $work/NAME.csv
    local name=$1; shift
    "$simclr" select --model "$model" --in "$bank" --n 6 --out "$work/$name.csv" --outliers 3 \
        --outliers-out "$work/$name-outliers.csv" "$@" >"$work/out" 2>"$work/err"
}
select_csv uncached --no-cache
if grep -q "cache" "$work/err"; then fail "--no-cache mentions a cache"; else pass "--no-cache: no cache"; fi
select_csv first --cache-dir "$cache"
expect_text "$work/err" "0 of 43 images from the cache $cache/" "the first run embeds everything"
expect_text "$work/err" "43 embedded (cache updated)" "and writes the cache"
select_csv second --cache-dir "$cache"
expect_text "$work/err" "43 of 43 images from the cache $cache/" "the second run embeds nothing"
expect_text "$work/err" ", 0 embedded" "and leaves the cache as it is"
if cmp -s "$work/uncached.csv" "$work/second.csv" && cmp -s "$work/uncached-outliers.csv" "$work/second-outliers.csv"
then pass "cached embeddings select what fresh ones do"; else fail "the cache changed the selection"; fi
# A changed file (another image under the same name) is embedded again; the others come from the cache.
changed=$bank/$(cd "$bank" && ls -d */ | head -1)$(ls "$bank/$(cd "$bank" && ls -d */ | head -1)" | tail -1)
rm "$changed" && cp "$work/original_flip.png" "$changed"
select_csv fresh --no-cache
select_csv third --cache-dir "$cache"
expect_text "$work/err" "42 of 43 images from the cache" "a changed file is embedded again"
if cmp -s "$work/fresh.csv" "$work/third.csv"; then pass "and the selection is the fresh one"; else
    fail "a changed file kept its old embedding"; fi
# A damaged cache is named and rebuilt.
rows=$(ls "$cache"/*.f32)
printf '\x7f' | dd of="$rows" bs=1 seek=100 conv=notrunc status=none
select_csv damaged --cache-dir "$cache"
expect_text "$work/err" "simclr: embedding cache $rows: its SHA-256 is not the one recorded; rebuilding it" \
    "a damaged cache is named"
expect_text "$work/err" "0 of 43 images from the cache" "and rebuilt"
if cmp -s "$work/fresh.csv" "$work/damaged.csv"; then pass "the rebuilt cache selects as fresh embeddings do"; else
    fail "a damaged cache changed the selection"; fi
head -c 1000 "$rows" >"$work/short" && mv "$work/short" "$rows"
select_csv truncated --cache-dir "$cache"
expect_text "$work/err" "simclr: embedding cache $rows: expected 1376 bytes (43 rows of 8 floats); rebuilding it" \
    "a truncated cache is named and rebuilt"
# similar reads the same cache.
expect_status 0 "similar through the cache" "$simclr" similar --model "$model" --in "$bank" "$query" --top 3 \
    --format csv --cache-dir "$cache"
expect_text "$work/err" "43 of 43 images from the cache" "similar reuses the cache"
# Another model with the same cache directory: not reused.
"$simclr" select --model "$work/wide/baseline.safetensors" --in "$bank" --n 2 --out "$work/wide.csv" \
    --cache-dir "$cache" >"$work/out" 2>"$work/err"
expect_text "$work/err" "0 of 43 images from the cache" "another model's cache is not reused"
"$simclr" select --model "$model" --in "$bank" --n 2 --out "$work/back.csv" --cache-dir "$cache" >"$work/out" 2>"$work/err"
expect_text "$work/err" "0 of 43 images from the cache" "a cache holds the last model's embeddings (one per folder)"

harness_finish
