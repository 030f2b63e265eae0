# Thin wrapper over CMake/CTest so the usual commands work from the top.
BUILD ?= build
JOBS ?= 2

.PHONY: all deps test experiment clean

all: $(BUILD)/simclr

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

$(BUILD)/simclr: $(BUILD)/Makefile FORCE
	cmake --build $(BUILD) -j $(JOBS)

deps:
	scripts/install-deps.sh

test: all
	cd $(BUILD) && ctest --output-on-failure

clean:
	rm -rf $(BUILD)

FORCE:
