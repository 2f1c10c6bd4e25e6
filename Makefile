# layerlab — the front door.
#
#   make                      build both trees: build/f32 (float) and build/f64 (double)
#   make check                build, then run every test in both trees (CTest)
#   make gradcheck LAYER=conv [PREC=f32] [ARGS="stride=2 --fast"]
#   make lesson-05 [ARGS=--full]   build and run a lesson (float tree); plots in out/lesson-05/
#   make lessons              run every lesson in order
#   make deps                 install missing Debian packages (apt-get; sudo when not root)
#   make clean                remove the build trees
#
# Every target that needs packages calls deps first, so a fresh Debian machine
# needs nothing but `make check`.

PREC       ?= f64
LAYER      ?=
ARGS       ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
BUILD_TYPE ?= Release
WERROR     ?= ON
CMAKE_ARGS ?=

TREES := f32 f64
CMAKE_f32 := -DLL_DOUBLE=OFF
CMAKE_f64 := -DLL_DOUBLE=ON

LESSONS := $(sort $(patsubst lessons/%/main.c,%,$(wildcard lessons/[0-9][0-9]-*/main.c)))
LESSON_TARGETS := $(foreach l,$(LESSONS),lesson-$(firstword $(subst -, ,$(l))))

.PHONY: all deps build check gradcheck bad-prec clean help lessons $(LESSON_TARGETS) $(addprefix build-,$(TREES))

all: build

help:
	@sed -n '3,12p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@sh tools/deps.sh

build: $(addprefix build-,$(TREES))

# Configure a tree once (CMake re-runs itself when CMakeLists.txt changes), then build it.
$(addprefix build-,$(TREES)): build-%: deps
	@test -f build/$*/CMakeCache.txt || cmake -S . -B build/$* -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
		-DLL_WERROR=$(WERROR) $(CMAKE_$*) $(CMAKE_ARGS)
	@cmake --build build/$* -j $(JOBS) -- --no-print-directory

check: build
	@for t in $(TREES); do \
		echo "== tests in build/$$t =="; \
		ctest --test-dir build/$$t --output-on-failure -j $(JOBS) || exit 1; \
	done

# PREC picks the tree; anything but f32 or f64 is a usage error, not a make rule hunt.
GC_TREE := $(filter $(PREC),$(TREES))

gradcheck: $(if $(GC_TREE),build-$(GC_TREE),bad-prec)
	@if [ -z "$(LAYER)" ]; then \
		echo "make gradcheck: say which layer, e.g. make gradcheck LAYER=conv" >&2; \
		build/$(PREC)/checks/gradcheck --list >&2; exit 2; \
	fi
	@build/$(PREC)/checks/gradcheck $(LAYER) $(ARGS)

# Lessons run in float (speed) from the repository root, so out/ lands here.
$(LESSON_TARGETS): lesson-%: build-f32
	@build/f32/lessons/lesson-$* $(ARGS)

lessons: $(LESSON_TARGETS)

bad-prec:
	@echo "make gradcheck: PREC must be f32 or f64, got '$(PREC)'" >&2; exit 2

clean:
	rm -rf build
