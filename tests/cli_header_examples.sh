#!/usr/bin/env bash
# The public headers' usage examples are code that compiles against the headers as they are: each
# example block (comment lines " *     code", continuation lines indented further) is extracted,
# "..." replaced by an empty statement, wrapped in a function after the declarations it assumes,
# and compiled with -Wall -Werror. A call with the wrong arguments (network.h once showed
# simclr_network_backward with 5) or an old type name fails the test.
set -uo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
command -v cc >/dev/null || { echo "skipping: no C compiler"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passes=0

# What each example assumes is in scope.
prelude() {
    case $1 in
    atomic_file.h) echo 'const char *path = "x"; const void *bytes = ""; size_t size = 0; simclr_error err = {0};' ;;
    network.h) echo 'simclr_tensor_shape input_shape = {28, 28, 1}; simclr_layer_spec specs[5] = {{0}}; simclr_error err = {0};
        uint64_t seed = 0; const float *images = NULL, *d_output = NULL; int batch = 1;' ;;
    plot.h) echo 'const float *train_loss = NULL, *val_loss = NULL; int epochs = 1; simclr_error err = {0};' ;;
    download.h) echo 'simclr_error err = {0};' ;;
    features.h) echo 'simclr_feature_options options = {0}; simclr_dataset ds = {0}; size_t n = 0;
        simclr_feature_sink sink = NULL; void *ctx = NULL; simclr_error err = {0};' ;;
    knn.h) echo 'size_t rows = 1; int dim = 1, classes = 2; float *queries = NULL; size_t n = 0;
        int32_t *predictions = NULL; simclr_knn_config config = simclr_knn_config_default(); simclr_error err = {0};' ;;
    npy.h) echo 'size_t rows = 1, cols = 1, batch_rows = 1; const float *batch = NULL; simclr_error err = {0};' ;;
    pca.h) echo 'int dim = 2; const float *batch = NULL; size_t rows = 0; float *components = NULL;
        double *variances = NULL; float *out = NULL; simclr_error err = {0};' ;;
    safetensors.h) echo 'float *weights = NULL; simclr_error err = {0};' ;;
    *) echo '' ;;
    esac
}

for header in "$source_dir"/include/simclr/*.h; do
    name=$(basename "$header")
    awk '
        /^ \*     [^ ]/ && !inblock { inblock = 1; blocks++ }
        inblock && /^ \*     / { sub(/^ \*     /, ""); print; next }
        { inblock = 0 }
    ' "$header" | grep -v '^{"' | grep -v '^ *"' >"$work/code" # JSON examples are not C
    [ -s "$work/code" ] || continue
    {
        echo '#include <stdio.h>'
        echo '#include <stdlib.h>'
        echo "#include \"simclr/$name\""
        echo 'int header_example(void);'
        echo 'int header_example(void) {'
        prelude "$name"
        sed 's/\.\.\./(void)0;/g' "$work/code"
        echo 'return 0; }'
    } >"$work/example.c"
    if cc -std=c11 -Wall -Wextra -Werror -Wno-unused-variable -Wno-unused-but-set-variable \
        -Wno-unused-parameter -Wno-unused-value -D_POSIX_C_SOURCE=200809L -I"$source_dir/include" \
        -fsyntax-only "$work/example.c" >"$work/out" 2>&1; then
        passes=$((passes + 1)); echo "ok   - the example in $name compiles"
    else
        failures=$((failures + 1)); echo "FAIL - the example in $name does not compile:"
        sed 's/^/    /' "$work/out" | head -20
    fi
done
echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ] && [ "$passes" -gt 0 ]
