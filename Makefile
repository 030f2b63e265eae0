# Thin wrapper over CMake/CTest so the two README commands work from a fresh clone:
#   make experiment   installs what is missing, builds, runs the seed's experiment on Fashion-MNIST
#   make test         installs what is missing, builds, runs every test
#   make install PREFIX=DIR   builds, then installs the binary, libsimclr, headers and simclr.pc
BUILD ?= build
JOBS ?= 2
OUT ?= runs/fmnist

.PHONY: all deps build test test-sanitize experiment fuzz clean install FORCE

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure

# runs/fmnist is the experiment's fixed place: a second `make experiment` replaces it (--overwrite).
experiment: build
	$(BUILD)/simclr experiment --dataset fashion-mnist --labeled-per-class 300 --out $(OUT) --overwrite

clean:
	rm -rf $(BUILD)

# DIR/bin/simclr, DIR/lib/libsimclr.so.0 and .a, DIR/include/simclr/, DIR/lib/pkgconfig/simclr.pc
# (lib/<multiarch>/ when PREFIX is /usr); see README "Install and use as a library".
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# libFuzzer targets (clang + libclang-rt-14-dev; build-fuzz/, configured with -DSIMCLR_FUZZ=ON):
# each runs FUZZ_SECONDS (default 60; 0 = no limit) and/or FUZZ_RUNS executions; FUZZ_TARGETS
# picks some. `make fuzz-replay` runs each target's seed corpus and regression inputs once, no
# fuzzing (CI). See fuzz/run.sh.
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= $(JOBS)
.PHONY: fuzz fuzz-replay
fuzz:
	@scripts/install-deps.sh fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) fuzz/run.sh $(FUZZ_TARGETS)

fuzz-replay:
	@scripts/install-deps.sh fuzz
	FUZZ_JOBS=$(FUZZ_JOBS) fuzz/run.sh --replay $(FUZZ_TARGETS)

# The whole test suite again as an AVX2-only CPU runs it: a build for x86-64-v3 with oneDNN
# capped to AVX2 (scripts/test-other-cpus.sh; tests/cli_kernels.sh checks no convolution runs on
# oneDNN's reference kernels, natively and under the AVX2 and SSE4.1 caps).
.PHONY: test-other-cpus
test-other-cpus:
	scripts/test-other-cpus.sh

# The whole test suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIMCLR_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure

# The performance benchmark: simclr against its PyTorch twin, one configuration per process
# (bench/run.sh), natively and then as an AVX2-only CPU runs it (BENCH_ISA=AVX2, on CPUs that
# have AVX2; about 13 minutes each on 2 cores), then reading folders of images at scale
# (bench/data_pipeline.sh, issue 25: `make bench-data` alone; BENCH_DATA_SCALE=small for a smoke
# run). Results and the tables: docs/PERFORMANCE.md.
.PHONY: bench bench-data
bench:
	@scripts/install-deps.sh bench
	bench/run.sh
	if grep -qw avx2 /proc/cpuinfo; then BENCH_ISA=AVX2 bench/run.sh; fi
	bench/data_pipeline.sh

bench-data:
	@scripts/install-deps.sh bench
	bench/data_pipeline.sh
