#!/usr/bin/env bash
# The Python package: its pytest suite (python/tests: the same embeddings as the C API to 1e-6)
# against the build tree's libsimclr.so, then `pip install` into a fresh venv against a library
# installed with `cmake --install` into an empty prefix, and `import simclr` there, with no
# SIMCLR_LIBRARY and no LD_LIBRARY_PATH (the prefix recorded at install is used), giving the
# same embedding as the C example. Skipped (exit 77) without /usr/bin/python3 with numpy, pytest
# and venv.
set -uo pipefail
simclr=$1
build=$(cd "$(dirname "$simclr")" && pwd)
source_dir=$(cd "$(dirname "$0")/.." && pwd)
python=${SIMCLR_PYTHON:-/usr/bin/python3}
if ! "$python" -c "import numpy, pytest, venv, ensurepip" 2>/dev/null; then
    echo "skipping: $python with numpy, pytest and venv is needed"; exit 77
fi
# A sanitizer build (make test-sanitize): Python is not instrumented, so the runtime is preloaded.
if readelf -d "$build/libsimclr.so.0" 2>/dev/null | grep -q 'NEEDED.*libasan'; then
    export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { passes=$((passes + 1)); echo "ok   - $1"; }
fail() { failures=$((failures + 1)); echo "FAIL - $1"; }

export SIMCLR_BINARY=$build/simclr SIMCLR_EXAMPLE=$build/examples/embed_image
if SIMCLR_LIBRARY=$build/libsimclr.so.0 PYTHONPATH=$source_dir/python:$source_dir/python/tests \
    "$python" -m pytest -q -p no:cacheprovider "$source_dir/python/tests" >"$work/out" 2>&1; then
    pass "pytest python/tests"; tail -1 "$work/out"
else
    fail "pytest python/tests"; tail -40 "$work/out"
fi
if grep -q skipped "$work/out"; then fail "pytest skipped tests"; fi

# As a user installs it: the library into a prefix, the package into a venv.
prefix=$work/prefix
if cmake --install "$build" --prefix "$prefix" >"$work/out" 2>&1; then pass "cmake --install"; else fail "cmake --install"; cat "$work/out"; fi
cp -r "$source_dir/python" "$work/package" # pip builds in the source folder: keep the tree clean
rm -rf "$work/package/build" "$work/package/"*.egg-info
"$python" -m venv --system-site-packages "$work/venv"
# --no-build-isolation: build with the venv's setuptools (Debian's), so no index is needed.
if SIMCLR_PREFIX=$prefix "$work/venv/bin/pip" install --no-build-isolation --no-deps -q "$work/package" >"$work/out" 2>&1; then
    pass "pip install ./python into a venv"
else
    fail "pip install ./python"; tail -20 "$work/out"
fi
mkdir -p "$work/data"
SIMCLR_LIBRARY=$build/libsimclr.so.0 PYTHONPATH=$source_dir/python/tests "$python" - "$work/data" <<'PY'
import sys
import numpy as np
from conftest import write_png
import os
root = sys.argv[1]
rng = np.random.default_rng(1)
for split in ("train", "test"):
    for name in ("a", "b"):
        os.makedirs(os.path.join(root, split, name))
        for i in range(3):
            write_png(os.path.join(root, split, name, "%d.png" % i),
                      rng.integers(0, 256, size=(12, 12, 3), dtype=np.uint8))
PY
"$prefix/bin/simclr" baseline --dataset folder --data-dir "$work/data" --image-size 12 --epochs 1 \
    --steps-per-epoch 1 --labeled-batch 6 --test-batch 6 --width 8 --quiet --out "$work/run" >"$work/out" 2>&1 \
    || { fail "train a checkpoint"; cat "$work/out"; }
image=$work/data/test/b/2.png
"$build/examples/embed_image" "$work/run/baseline.safetensors" "$image" >"$work/example.txt" 2>&1 \
    || { fail "the C example"; cat "$work/example.txt"; }
cd "$work" && env -u SIMCLR_LIBRARY -u LD_LIBRARY_PATH -u PYTHONPATH "$work/venv/bin/python" - \
    "$work/run/baseline.safetensors" "$image" "$work/example.txt" >"$work/out" 2>&1 <<'PY'
import sys
import numpy as np
import simclr
from simclr import _library
model = simclr.load(sys.argv[1])
embedding = model.embed([sys.argv[2]])
expected = np.array(open(sys.argv[3]).read().splitlines()[1].split(":", 1)[1].split(), dtype=np.float32)
assert simclr.__file__.startswith(sys.prefix), simclr.__file__
assert _library.candidates()[0][1] == "the install prefix recorded at install", _library.candidates()
print("max |python - C| =", float(np.abs(embedding[0] - expected).max()))
np.testing.assert_allclose(embedding[0], expected, rtol=0, atol=1e-6)
PY
if [ $? -eq 0 ]; then pass "import simclr in the venv: the C example's embedding to 1e-6 ($(cat "$work/out"))"; else
    fail "import simclr in the venv"; cat "$work/out"; fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
