# Builds the libFuzzer targets with clang (called by fuzz/run.sh; run from the repository root):
#   make -f fuzz/fuzz.mk [OUT=build-fuzz] [TARGETS="stl10 idx"]
# The library sources are compiled once, instrumented (AddressSanitizer, UndefinedBehaviorSanitizer
# and libFuzzer's coverage), into an archive; each target links it, so the linker takes only the
# objects the target needs, and --as-needed keeps only the system libraries those use. OpenMP
# pragmas are compiled out (-fopenmp is not given): none of the fuzzed code runs in parallel.
OUT ?= build-fuzz
CC := clang
TARGETS ?= stl10 cifar idx image folder safetensors options npy

SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined
PKG_CFLAGS := $(shell pkg-config --cflags libpng openblas lapacke plplot cairo)
PKG_LIBS := $(shell pkg-config --libs libpng openblas lapacke plplot cairo)
CFLAGS := -std=c11 -g -O1 -fno-omit-frame-pointer $(SANITIZE) -fsanitize=fuzzer-no-link \
          -Wall -Wextra -Wno-unused-parameter -Wno-unknown-pragmas \
          -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DSIMCLR_VERSION='"fuzz"' -DSIMCLR_FUZZER \
          -Iinclude -Isrc $(PKG_CFLAGS) -MMD -MP
LDFLAGS := $(SANITIZE) -fsanitize=fuzzer
LIBS := -Wl,--as-needed -ldnnl $(PKG_LIBS) -ljpeg -lz -lgomp -lm

# The library as CMake globs it, plus the command-line front end but its main.c (fuzz_options
# parses the commands' own option tables).
LIB_SOURCES := $(sort $(shell find src/util src/data src/augment src/nn src/loss src/optim \
                                   src/model src/train src/eval src/io src/api -name '*.c') \
                      $(filter-out src/cli/main.c,$(wildcard src/cli/*.c)))
LIB_OBJECTS := $(LIB_SOURCES:%.c=$(OUT)/obj/%.o)
ARCHIVE := $(OUT)/libsimclr_fuzz.a
BINARIES := $(TARGETS:%=$(OUT)/fuzz_%)

all: $(BINARIES)

$(ARCHIVE): $(LIB_OBJECTS)
	rm -f $@
	ar rcs $@ $^

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(OUT)/fuzz_%: $(OUT)/obj/fuzz/fuzz_%.o $(ARCHIVE)
	$(CC) $(LDFLAGS) -o $@ $< $(ARCHIVE) $(LIBS)

.PHONY: all
.SECONDARY:

-include $(LIB_OBJECTS:.o=.d) $(TARGETS:%=$(OUT)/obj/fuzz/fuzz_%.d)
