#!/usr/bin/env bash
# `simclr embed` output read by NumPy itself: numpy.load gives the (N, D) float32 array, equal to
# what `embed` of the same images as files gives. Skipped (77) without NumPy in /usr/bin/python3.
set -uo pipefail
simclr=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    echo "skipping: /usr/bin/python3 has no numpy"
    exit 77
fi
source "$(dirname "$0")/eval_fixture.sh"
setup_eval_fixture
"$simclr" embed --model "$baseline" "${dataset_options[@]}" --out "$work/test.npy" --batch 5 --quiet >/dev/null &&
    "$simclr" embed --model "$baseline" --out "$work/files.npy" --batch 7 --quiet "$data/test" >/dev/null ||
    { echo "FAIL - embed"; exit 1; }
/usr/bin/python3 - "$work" <<'PY'
import csv, sys
import numpy as np
work = sys.argv[1]
test = np.load(work + "/test.npy")
files = np.load(work + "/files.npy")
assert test.shape == (18, 16) and test.dtype == np.float32, (test.shape, test.dtype)
assert files.shape == (18, 16), files.shape
assert np.isfinite(test).all() and (test >= 0).all()  # ReLU features
# The split rows and the file rows are the same images (the folder reader and the directory walk
# both go in class then name order).
rows = list(csv.DictReader(open(work + "/files.csv")))
assert [r["index"] for r in rows] == [str(i) for i in range(18)]
# Batches of 5 and of 7 round differently inside the convolutions: equal to float32 precision.
assert np.allclose(test, files, rtol=1e-5, atol=1e-6), np.abs(test - files).max()
labels = [r["class_name"] for r in csv.DictReader(open(work + "/test.csv"))]
assert labels[:6] == ["blue"] * 6, labels
print("ok   - numpy.load: (18, 16) float32, split and file embeddings agree")
PY
