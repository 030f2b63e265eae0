#!/usr/bin/env bash
# The suite as other CPUs run it (issue 23), on this machine (`make test-other-cpus`, and CI):
# a build for x86-64-v3 (AVX2 + FMA) with no AVX-512 clone of the project's own loops
# (-DSIMCLR_MULTIVERSION=OFF), its tests with oneDNN capped to AVX2 (ONEDNN_MAX_CPU_ISA=AVX2:
# the kernels, layouts and rounding of an AVX2-only CPU such as AMD Zen 3; bf16 tests then report
# skipped). The reference-kernel check (tests/cli_kernels.sh, under the AVX2 and SSE4.1 caps too)
# runs in every `make test`.
# On a CPU without AVX2 the build cannot run; it says so and stops (exit 77).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-avx2}
if ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo; then
    echo "test-other-cpus: this CPU has no AVX2 + FMA, so a build for x86-64-v3 cannot run here"; exit 77
fi
scripts/install-deps.sh
# Without faiss too (-DSIMCLR_FAISS=OFF): cli_similar then checks that --index hnsw says so.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIMCLR_ARCH=x86-64-v3 -DSIMCLR_MULTIVERSION=OFF \
    -DSIMCLR_FAISS=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-2}"
cd "$build"
# What the CPU decides: every unit, gradient and parity test, the training and resume tests
# (test_train_fashion_mnist, test_resume, test_knn_monitor: the seed's model) and a short
# ResNet-18 run from the command line (cli_resnet), and the similarity commands (cli_similar: the
# search's sgemm and heaps, and the build without faiss). The rest of the command-line checks (option
# parsing, files, downloads, MPI plumbing, installation, Python) pass or fail the same on any
# CPU and ran in the native pass; cli_kernels there already runs under the AVX2 and SSE4.1 caps.
ONEDNN_MAX_CPU_ISA=AVX2 ctest --output-on-failure -R '^(test_.*|cli_resnet|cli_similar)$' \
    -E '^(test_download|test_fuzz_regressions)$'
