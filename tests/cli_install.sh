#!/usr/bin/env bash
# The library as a user installs it: `cmake --install` into an empty prefix, then
# examples/embed_image.c compiled against that prefix with pkg-config (shared, and static with
# --static), run on a JPEG with a checkpoint trained here for one step on a tiny CIFAR-10 folder,
# and compared with `simclr predict`. Also checks the SONAME, that libsimclr.so needs neither
# PLplot nor cairo, that it exports only simclr_/SIMCLR_ names, and that the umbrella header
# compiles as C++. Skipped (exit 77) without the CIFAR-10 JPEG folders or a compiler/pkg-config.
set -uo pipefail
simclr=$1
build=$(cd "$(dirname "$simclr")" && pwd)
source_dir=$(cd "$(dirname "$0")/.." && pwd)
cifar=${SIMCLR_CIFAR10_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data/cifar10}
if [ ! -d "$cifar/train" ] || [ ! -d "$cifar/test" ]; then
    echo "skipping: no CIFAR-10 JPEG folders at $cifar (set SIMCLR_CIFAR10_DIR)"; exit 77
fi
for tool in cc pkg-config readelf nm; do
    command -v "$tool" >/dev/null || { echo "skipping: $tool not found"; exit 77; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0
pass() { passes=$((passes + 1)); echo "ok   - $1"; }
fail() { failures=$((failures + 1)); echo "FAIL - $1"; }
check() { # check NAME CMD...: passes when CMD succeeds, shows its output otherwise
    local name=$1
    shift
    if "$@" >"$work/out" 2>&1; then pass "$name"; else fail "$name"; sed 's/^/    /' "$work/out" | head -20; fi
}

prefix=$work/prefix
check "cmake --install into an empty prefix" cmake --install "$build" --prefix "$prefix"
libdir=$(dirname "$(find "$prefix" -name libsimclr.so.0 | head -1)")
for file in "$prefix/bin/simclr" "$libdir/libsimclr.a" "$libdir/pkgconfig/simclr.pc" \
    "$prefix/include/simclr/simclr.h" "$prefix/include/simclr/trained_model.h"; do
    if [ -e "$file" ]; then pass "installed ${file#"$prefix"/}"; else fail "missing ${file#"$prefix"/}"; fi
done
if [ ! -e "$prefix/include/simclr/plot.h" ]; then pass "plot.h (CLI only) not installed"; else fail "plot.h installed"; fi
if readelf -d "$libdir/libsimclr.so.0" | grep -q 'SONAME.*\[libsimclr\.so\.0\]'; then pass "SONAME libsimclr.so.0"; else fail "SONAME"; fi
if readelf -d "$libdir/libsimclr.so.0" | grep NEEDED | grep -qiE 'plplot|cairo'; then
    fail "libsimclr.so needs PLplot or cairo"; else pass "libsimclr.so needs neither PLplot nor cairo"; fi
# (__odr_asan.*: AddressSanitizer's one-definition-rule markers of exported globals.)
nm -D --defined-only "$libdir/libsimclr.so.0" | awk '{print $3}' | grep -vE '^(simclr_|SIMCLR_|__odr_asan\.(simclr_|SIMCLR_))' >"$work/foreign"
if [ ! -s "$work/foreign" ]; then pass "only simclr_/SIMCLR_ symbols exported"; else
    fail "symbols without the prefix exported: $(head -5 "$work/foreign" | tr '\n' ' ')"; fi
if nm -D --defined-only "$libdir/libsimclr.so.0" | grep -q ' simclr_image_jpeg_decode$'; then
    fail "internal simclr_image_jpeg_decode (src/io/image_codecs.h) is exported"; else pass "internal symbols hidden"; fi

export PKG_CONFIG_PATH=$libdir/pkgconfig
# A sanitizer build (make test-sanitize): the program must be built with the same runtime.
sanitize=()
if readelf -d "$libdir/libsimclr.so.0" | grep -q 'NEEDED.*libasan'; then
    sanitize=(-fsanitize=address,undefined)
    export ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0
fi
check "pkg-config knows simclr" pkg-config --exists simclr
if [ "$(pkg-config --variable=includedir simclr)" -ef "$prefix/include" ]; then pass "pkg-config includedir"; else fail "pkg-config includedir"; fi
check "compile the example (shared)" cc -std=c11 -Wall -Wextra -Werror "${sanitize[@]}" "$source_dir/examples/embed_image.c" \
    $(pkg-config --cflags --libs simclr) -o "$work/embed_image"
check "compile the example (static)" cc -std=c11 -Wall -Wextra -Werror "${sanitize[@]}" "$source_dir/examples/embed_image.c" \
    $(pkg-config --cflags simclr) "$libdir/libsimclr.a" $(pkg-config --static --libs simclr | sed 's/-lsimclr\b//') -o "$work/embed_image_static"
if readelf -d "$work/embed_image" | grep -q 'NEEDED.*libsimclr\.so\.0'; then pass "the example links libsimclr.so.0"; else fail "the example does not link libsimclr.so.0"; fi
if command -v c++ >/dev/null; then
    printf '#include <simclr/simclr.h>\nint main() { return simclr_trained_model_feature_dim(nullptr) * 0; }\n' >"$work/umbrella.cpp"
    check "the umbrella header compiles and links as C++" c++ "${sanitize[@]}" "$work/umbrella.cpp" $(pkg-config --cflags --libs simclr) -o "$work/umbrella"
fi

# A tiny folder dataset (symlinks to the first 3 images per class) and a one-step baseline.
for split in train test; do
    for class_dir in "$cifar/$split"/*/; do
        class=$(basename "$class_dir")
        mkdir -p "$work/data/$split/$class"
        for image in $(ls "$class_dir" | head -3); do ln -s "$class_dir$image" "$work/data/$split/$class/$image"; done
    done
done
image=$(ls -d "$cifar"/test/*/ | head -1)$(ls "$(ls -d "$cifar"/test/*/ | head -1)" | head -1)
check "one-step baseline on the tiny folder" "$prefix/bin/simclr" baseline --dataset folder --data-dir "$work/data" \
    --image-size 32 --epochs 1 --steps-per-epoch 1 --labeled-batch 10 --test-batch 30 --quiet --out "$work/run"
model=$work/run/baseline.safetensors
export LD_LIBRARY_PATH=$libdir
check "the example embeds a JPEG" "$work/embed_image" "$model" "$image" "$image"
cp "$work/out" "$work/example.txt"
check "the statically linked example runs" "$work/embed_image_static" "$model" "$image" "$image"
if cmp -s "$work/out" "$work/example.txt"; then pass "static and shared example agree"; else fail "static and shared example differ"; fi
dim=$(awk '/ embedding /{print NF - 3; exit}' "$work/example.txt")
if [ "$dim" = 128 ]; then pass "embedding has feature_dim 128 values"; else fail "embedding has $dim values, expected 128"; fi
if [ "$(sed -n 2p "$work/example.txt" | cut -d: -f2)" = "$(sed -n 4p "$work/example.txt" | cut -d: -f2)" ]; then
    pass "same image, same embedding"; else fail "same image embedded twice differs"; fi
check "simclr predict on the same image" "$prefix/bin/simclr" predict --model "$model" "$image"
if [ "$(cat "$work/out")" = "$(head -1 "$work/example.txt")" ]; then pass "the example's class and probability match simclr predict"; else
    fail "example '$(head -1 "$work/example.txt")' vs predict '$(cat "$work/out")'"; fi
"$work/embed_image" "$model" "$work/nowhere.jpg" >"$work/out" 2>&1
status=$?
if [ "$status" = 2 ] && grep -q "nowhere.jpg" "$work/out"; then pass "a missing image: exit 2, file named"; else fail "missing image: exit $status"; fi

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
