# layerlab — the front door.
#
#   make                      build both trees: build/f32 (float) and build/f64 (double)
#   make check                every test: both trees, then check-asan, check-valgrind, fuzz
#   make check-fast           build, then run every test in both trees (CTest) only
#   make check-gpu            the GPU parity suites and gradcheck --gpu of every layer (needs a GPU)
#   make check-asan           every test under AddressSanitizer + UBSan (build/asan, double)
#   make check-valgrind       lessons and gradcheck under valgrind memcheck (build/vg, float)
#   make gradcheck LAYER=conv [PREC=f32] [ARGS="stride=2 --fast"]
#   make lesson-05 [ARGS=--full]   build and run a lesson (float tree); plots in out/lesson-05/
#   make lessons              run every lesson in order
#   make fuzz [FUZZ_SECONDS=60]    libFuzzer on the IDX, .npy and model loaders (clang, build/fuzz)
#   make bench [ARGS=--quick]      speed: every layer against its limit, training against PyTorch
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
FUZZ_SECONDS ?= 60
BENCH_TORCH ?= python3-torch

TREES := f32 f64
CMAKE_f32 := -DLL_DOUBLE=OFF
CMAKE_f64 := -DLL_DOUBLE=ON

LESSONS := $(sort $(patsubst lessons/%/main.c,%,$(wildcard lessons/[0-9][0-9]-*/main.c)))
LESSON_TARGETS := $(foreach l,$(LESSONS),lesson-$(firstword $(subst -, ,$(l))))

.PHONY: all deps build check check-fast gradcheck bad-prec clean help lessons fuzz bench $(LESSON_TARGETS) $(addprefix build-,$(TREES))

all: build

help:
	@sed -n '3,18p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@sh tools/deps.sh

build: $(addprefix build-,$(TREES))

# Configure a tree once (CMake re-runs itself when CMakeLists.txt changes), then build it.
$(addprefix build-,$(TREES)): build-%: deps
	@test -f build/$*/CMakeCache.txt || cmake -S . -B build/$* -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
		-DLL_WERROR=$(WERROR) $(CMAKE_$*) $(CMAKE_ARGS)
	@cmake --build build/$* -j $(JOBS) -- --no-print-directory

# check: what CI runs (.ci/run) and README.md promises — the two precision
# trees, then the same suite under AddressSanitizer + UBSan, the valgrind
# memcheck runs, and each fuzzer for FUZZ_SECONDS. check-fast: the two trees
# only, for the edit-build-test loop.
check: check-fast
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory check-valgrind
	@$(MAKE) --no-print-directory fuzz

check-fast: build
	@for t in $(TREES); do \
		echo "== tests in build/$$t =="; \
		ctest --test-dir build/$$t --output-on-failure -j $(JOBS) || exit 1; \
	done

# The GPU checks (docs/gpu.md): two CUDA trees, build/gpu32 (float) and
# build/gpu64 (double), then tools/check-gpu.sh in each: the parity suites with
# LL_REQUIRE_GPU=1 (a skip is a failure) and gradcheck LAYER --gpu for every
# layer. Without a GPU it stops as soon as the first tree is built, with
# "no GPU found: ...", and fails.
GPU_TREES := gpu32 gpu64
CMAKE_gpu32 := -DLL_DOUBLE=OFF -DLL_CUDA=ON
CMAKE_gpu64 := -DLL_DOUBLE=ON -DLL_CUDA=ON
.PHONY: check-gpu $(addprefix build-,$(GPU_TREES))

$(addprefix build-,$(GPU_TREES)): build-%: deps
	@test -f build/$*/CMakeCache.txt || cmake -S . -B build/$* -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
		-DLL_WERROR=$(WERROR) $(CMAKE_$*) $(CMAKE_ARGS)
	@cmake --build build/$* -j $(JOBS) -- --no-print-directory

check-gpu: build-gpu32
	@sh tools/check-gpu.sh --probe build/gpu32
	@$(MAKE) --no-print-directory build-gpu64
	@sh tools/check-gpu.sh $(addprefix build/,$(GPU_TREES))

# The memory checkers (docs/sanitizers.md), each in its own tree, CUDA off.
# check-asan: the whole CTest suite built with AddressSanitizer and UBSan
# (LL_SANITIZE) in double, at -O1 with debug info; any report fails its test,
# and the sanitizer options are test properties, so plain ctest in build/asan
# uses them too. check-valgrind: the tests labelled valgrind (LL_VALGRIND,
# checks/valgrind/) in a float RelWithDebInfo tree; any memcheck error or
# definitely lost block fails.
.PHONY: check-asan check-valgrind

check-asan: deps
	@test -f build/asan/CMakeCache.txt || cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_C_FLAGS_DEBUG="-g -O1" -DLL_DOUBLE=ON -DLL_CUDA=OFF -DLL_SANITIZE=ON \
		-DLL_WERROR=$(WERROR) $(CMAKE_ARGS)
	@cmake --build build/asan -j $(JOBS) -- --no-print-directory
	@ctest --test-dir build/asan --output-on-failure -j $(JOBS)

check-valgrind: deps
	@test -f build/vg/CMakeCache.txt || cmake -S . -B build/vg -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DLL_DOUBLE=OFF -DLL_CUDA=OFF -DLL_VALGRIND=ON -DLL_WERROR=$(WERROR) $(CMAKE_ARGS)
	@cmake --build build/vg -j $(JOBS) -- --no-print-directory
	@ctest --test-dir build/vg -L valgrind --output-on-failure -j $(JOBS)

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

# libFuzzer on the file loaders (docs/fuzzing.md): a clang tree with ASan and
# UBSan in build/fuzz, then each fuzz_<name> of checks/fuzz/ for FUZZ_SECONDS
# seconds, one at a time; any crash, leak, UB, out-of-memory or hang fails
# with the input's path.
FUZZ_TARGETS := $(sort $(patsubst checks/fuzz/fuzz_%.c,%,$(wildcard checks/fuzz/fuzz_*.c)))

fuzz: deps
	@test -f build/fuzz/CMakeCache.txt || CC=clang cmake -S . -B build/fuzz \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLL_FUZZ=ON -DLL_CUDA=OFF -DLL_WERROR=OFF
	@cmake --build build/fuzz -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS)) -- --no-print-directory
	@sh checks/fuzz/run.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bad-prec:
	@echo "make gradcheck: PREC must be f32 or f64, got '$(PREC)'" >&2; exit 2

clean:
	rm -rf build

# The bench (README.md, "Benchmarks"; checks/bench/): its own Release float
# tree in build/bench, results in out/bench/. PyTorch (BENCH_TORCH, the Debian
# package python3-torch) is installed when it can be; when it cannot, or with
# BENCH_TORCH= , the bench runs and says PyTorch was not available.
bench: deps
	@test -z "$(BENCH_TORCH)" || sh tools/deps.sh $(BENCH_TORCH) || \
		echo "make bench: could not install $(BENCH_TORCH); the bench runs without PyTorch" >&2
	@test -f build/bench/CMakeCache.txt || cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release \
		-DLL_WERROR=$(WERROR) $(CMAKE_f32) $(CMAKE_ARGS)
	@cmake --build build/bench -j $(JOBS) --target bench -- --no-print-directory
	@build/bench/checks/bench/bench $(ARGS)
