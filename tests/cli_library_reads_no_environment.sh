#!/usr/bin/env bash
# Issue 24: the library has no hidden state from the environment: only the command line
# (src/cli) reads environment variables, and hands their values to the library as options
# (simclr_network_options, simclr_train_config.memory_limit, ...).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$(dirname "$0")/harness.sh"
readers=$(grep -rn --include='*.c' --include='*.h' -E '\b(getenv|secure_getenv)\s*\(' "$root/src" | grep -v "^$root/src/cli/" || true)
if [ -z "$readers" ]; then pass "no getenv outside src/cli"; else fail "getenv below the command line:"; echo "$readers"; fi
# And the CLI does read them: a bad value is refused by name (on Fashion-MNIST, the default).
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    echo "skipping the CLI check: Fashion-MNIST is not installed"; harness_finish || exit 1; exit 77; fi
expect_status 2 "a bad SIMCLR_MEMORY_LIMIT is refused" env SIMCLR_MEMORY_LIMIT=lots "$1" baseline --epochs 1 \
    --steps-per-epoch 1 --width 8 --labeled-per-class 5 --labeled-batch 5 --quiet --out "$work/run"
expect_text "$work/err" "SIMCLR_MEMORY_LIMIT 'lots': expected a number of bytes" "naming the variable"
harness_finish
