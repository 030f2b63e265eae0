#!/usr/bin/env bash
# The suite as other CPUs run it (issue 23), on this machine (`make test-other-cpus`, and CI):
# a build for x86-64-v3 (AVX2 + FMA) with no AVX-512 clone of the project's own loops
# (-DSIMCLR_MULTIVERSION=OFF), its test suite with oneDNN capped to AVX2
# (ONEDNN_MAX_CPU_ISA=AVX2: the kernels, layouts and rounding of an AVX2-only CPU such as AMD Zen 3;
# bf16 tests then report skipped), which includes tests/cli_kernels.sh: no convolution of training
# or inference on oneDNN's reference kernels, natively, under the AVX2 cap and under SSE4.1's.
# On a CPU without AVX2 the build cannot run; it says so and stops (exit 77).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-avx2}
if ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo; then
    echo "test-other-cpus: this CPU has no AVX2 + FMA, so a build for x86-64-v3 cannot run here"; exit 77
fi
scripts/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIMCLR_ARCH=x86-64-v3 -DSIMCLR_MULTIVERSION=OFF >/dev/null
cmake --build "$build" -j "${JOBS:-2}"
cd "$build"
# Everything whose arithmetic or kernels the CPU decides; left out (they pass or fail the same on
# any CPU, and the native pass ran them): the downloads, MPI's process plumbing, installation, the
# Python package, the header examples and the fuzz regressions.
ONEDNN_MAX_CPU_ISA=AVX2 ctest --output-on-failure \
    -E '^(cli_download|cli_download_full_disk|test_download|cli_mpi|cli_mpi_off|cli_install|cli_python|cli_header_examples|test_fuzz_regressions)$'
