# Makefile - builds the preload (build/libasyncleak.so) and the command (build/asyncleak).
#   make            build both (installs missing Debian build packages first)
#   make test       unit tests (cmocka) and integration tests (pytest, real interpreters)
#   make bench      overhead benchmarks, side by side with the baseline
#   make install    PREFIX=/usr/local: bin/asyncleak, lib/asyncleak/libasyncleak.so
#   make clean
PREFIX  ?= /usr/local
BUILD   := build
CC      ?= gcc
SYSPY   := /usr/bin/python3
PYTEST_PY := $(SYSPY)

# The preload is compiled once against Debian's Python headers, under the
# limited API of 3.8, and serves every CPython 3.8-3.13 (DESIGN section 4).
PY_INC  := $(shell $(SYSPY) -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

WARN    := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS  ?= -O2 -g
BASE_CFLAGS := $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden -D_GNU_SOURCE -std=gnu11 \
               -DAL_VERSION='"$(VERSION)"' -Icommon
PRELOAD_CFLAGS := $(BASE_CFLAGS) -Ipreload -I$(PY_INC) -DPy_LIMITED_API=0x03080000 \
                  -fno-strict-aliasing -fno-semantic-interposition

COMMON_SRC  := $(wildcard common/*.c)
PRELOAD_SRC := $(wildcard preload/*.c)
REPORTER_SRC := $(wildcard reporter/*.c)
COMMON_OBJ  := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/obj/%.o)
REPORTER_OBJ := $(REPORTER_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

LIB := $(BUILD)/libasyncleak.so
CMD := $(BUILD)/asyncleak
DEPS_STAMP := $(BUILD)/.deps-build

.PHONY: all deps test unit integration transparency test-transparency bench install uninstall clean demo
all: $(LIB) $(CMD)

$(DEPS_STAMP): scripts/deps.sh
	@mkdir -p $(BUILD)
	@scripts/deps.sh build
	@touch $@

$(BUILD)/obj/common/%.o: common/%.c $(wildcard common/*.h) $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -c $< -o $@

# Every CPython reference in the preload is made weak, so the library loads
# (and stays inert) in processes without Python, also with LD_BIND_NOW=1.
$(BUILD)/obj/preload/%.o: preload/%.c $(wildcard preload/*.h common/*.h) VERSION $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PRELOAD_CFLAGS) -c $< -o $@.tmp
	objcopy --weaken $@.tmp $@ && rm -f $@.tmp

$(BUILD)/obj/reporter/%.o: reporter/%.c $(wildcard reporter/*.h common/*.h) VERSION $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Ireporter -c $< -o $@

# objcopy --weaken would also turn a missing function of our own into a
# null pointer: the link is checked for undefined al_* symbols.
$(LIB): $(PRELOAD_OBJ) $(COMMON_OBJ)
	$(CC) -shared -o $@.tmp $^ -Wl,-z,nodelete -lpthread -ldl
	@if nm -u $@.tmp | grep -E ' (al_|asyncleak_)'; then echo "$@: undefined symbols of our own (above)" >&2; rm -f $@.tmp; exit 1; fi
	@mv $@.tmp $@

$(CMD): $(REPORTER_OBJ) $(COMMON_OBJ)
	$(CC) -o $@ $^ -ljansson

# Unit tests: each test_X.c links with the pure-C sources it names in a
# "// links:" line (no CPython in them).
$(BUILD)/tests/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h common/*.h preload/*.h preload/*.c reporter/*.h reporter/*.c) $(COMMON_OBJ) $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Ipreload -o $@ $< $(shell sed -n 's|^// links: *||p' $<) $(COMMON_OBJ) -lcmocka -lpthread

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; $$t || exit 1; done

# Three workers on two cores: many tests wait (servers, signals, watchdog
# timeouts), so a third keeps the cores busy (about 10 min instead of 12.5).
INTEGRATION_WORKERS ?= 3
integration: all
	@scripts/deps.sh test
	cd tests/integration && $(PYTEST_PY) -m pytest -q -n $(INTEGRATION_WORKERS) -p no:cacheprovider --durations=20 .

# CPython's own test_asyncio, without and with the preload: the same counts of
# tests run, failed and skipped, or the target fails (tests/transparency/).
# `make test` runs it for TEST_TRANSPARENCY_VERSIONS (about 2 min each: the
# oldest and newest interpreter-frame layouts, to keep CI under 20 min);
# `make test-transparency` for every pyenv version present.
TRANSPARENCY_VERSIONS ?= 3.8 3.9 3.10 3.11 3.12 3.13
TEST_TRANSPARENCY_VERSIONS ?= 3.11 3.13
transparency test-transparency: all
	tests/transparency/run.sh $(TRANSPARENCY_VERSIONS)

test: all
	@scripts/deps.sh test
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory integration
	$(MAKE) --no-print-directory fuzz-smoke
	$(MAKE) --no-print-directory test-transparency TRANSPARENCY_VERSIONS="$(TEST_TRANSPARENCY_VERSIONS)"

# A short run of every libFuzzer target (the full runs: make fuzz fuzz-preload).
FUZZ_SMOKE_SECONDS ?= 10
.PHONY: fuzz-smoke
fuzz-smoke:
	$(MAKE) --no-print-directory fuzz fuzz-preload FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

demo: all
	@scripts/deps.sh test
	$(CMD) run -- $(SYSPY) examples/demo.py; true

bench: all
	@scripts/deps.sh bench
	$(SYSPY) bench/run.py

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/asyncleak
	install -m 755 $(CMD) $(DESTDIR)$(PREFIX)/bin/asyncleak
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/asyncleak/libasyncleak.so
	install -d $(DESTDIR)$(PREFIX)/lib/asyncleak/python/asyncleak && install -m 644 python/asyncleak/*.py $(DESTDIR)$(PREFIX)/lib/asyncleak/python/asyncleak/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/asyncleak $(DESTDIR)$(PREFIX)/lib/asyncleak/libasyncleak.so
	rm -rf $(DESTDIR)$(PREFIX)/lib/asyncleak/python
	-rmdir $(DESTDIR)$(PREFIX)/lib/asyncleak

clean:
	rm -rf $(BUILD)

# ---- fuzzing ------------------------------------------------------------------
# make fuzz: builds the libFuzzer targets of tests/fuzz/ (the report reader
# and the suppressions parser) with clang -fsanitize=fuzzer,address,undefined
# and runs each for FUZZ_SECONDS seconds, on a corpus kept in build/fuzz/
# seeded from tests/fuzz/seeds_*.  Installs clang and its libFuzzer runtime
# (Debian: clang, libclang-rt-14-dev) when `clang -fsanitize=fuzzer` fails.
# A crash leaves its input in build/fuzz/ (crash-*, leak-*, timeout-*).
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
               -D_GNU_SOURCE -std=gnu11 -DAL_VERSION='"$(VERSION)"' -Icommon -Ireporter
FUZZ_REPORTER_SRC := $(filter-out reporter/main.c,$(REPORTER_SRC))

.PHONY: fuzz fuzz-build
fuzz: fuzz-build
	@mkdir -p $(FUZZ_DIR)/corpus_report $(FUZZ_DIR)/corpus_suppress
	cd $(FUZZ_DIR) && ./fuzz_report -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 -dict=../../tests/fuzz/report.dict \
	    corpus_report ../../tests/fuzz/seeds_report
	cd $(FUZZ_DIR) && ./fuzz_suppress -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=8192 -print_final_stats=1 -dict=../../tests/fuzz/suppress.dict \
	    corpus_suppress ../../tests/fuzz/seeds_suppress

fuzz-build: $(FUZZ_DIR)/fuzz_report $(FUZZ_DIR)/fuzz_suppress

$(FUZZ_DIR)/.clang-fuzzer: $(DEPS_STAMP)
	@mkdir -p $(FUZZ_DIR)
	@echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' > $(FUZZ_DIR)/probe.c
	@if ! $(FUZZ_CC) -fsanitize=fuzzer,address $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe 2>/dev/null; then \
	    echo "fuzz: installing clang and its libFuzzer runtime" >&2; \
	    SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -q >/dev/null && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends \
	        clang libclang-rt-14-dev >/dev/null; \
	    $(FUZZ_CC) -fsanitize=fuzzer,address $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe; \
	fi
	@rm -f $(FUZZ_DIR)/probe $(FUZZ_DIR)/probe.c
	@touch $@

$(FUZZ_DIR)/fuzz_report: tests/fuzz/fuzz_report.c $(FUZZ_REPORTER_SRC) $(COMMON_SRC) $(wildcard common/*.h reporter/*.h) $(FUZZ_DIR)/.clang-fuzzer
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_report.c $(FUZZ_REPORTER_SRC) $(COMMON_SRC) -ljansson

$(FUZZ_DIR)/fuzz_suppress: tests/fuzz/fuzz_suppress.c $(COMMON_SRC) $(wildcard common/*.h) $(FUZZ_DIR)/.clang-fuzzer
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_suppress.c $(COMMON_SRC)

# ---- sanitizers and valgrind (issue #8) ----------------------------------------
# make asan: the preload built again with ASan+UBSan (build/asan/libasyncleak.so:
# same sources and flags plus -fsanitize=address,undefined, same objcopy
# --weaken step), then tests/asan/run.sh runs a subset of the integration
# programs on every CPython with LD_PRELOAD="libasan.so build/asan/libasyncleak.so"
# (CPython is not built with ASan: detect_leaks=0, see that script).
# make memcheck: valgrind over real programs under build/libasyncleak.so on
# Debian's python3 (PYTHONMALLOC=malloc); fails only on errors whose stack
# goes through libasyncleak.so (tests/memcheck/run.sh).
ASAN_DIR    := $(BUILD)/asan
ASAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_LIB    := $(ASAN_DIR)/libasyncleak.so
ASAN_OBJ    := $(PRELOAD_SRC:%.c=$(ASAN_DIR)/obj/%.o) $(COMMON_SRC:%.c=$(ASAN_DIR)/obj/%.o)

.PHONY: asan asan-build memcheck
$(ASAN_DIR)/obj/common/%.o: common/%.c $(wildcard common/*.h) $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(ASAN_FLAGS) -c $< -o $@

$(ASAN_DIR)/obj/preload/%.o: preload/%.c $(wildcard preload/*.h common/*.h) VERSION $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PRELOAD_CFLAGS) $(ASAN_FLAGS) -c $< -o $@.tmp
	objcopy --weaken $@.tmp $@ && rm -f $@.tmp

$(ASAN_LIB): $(ASAN_OBJ)
	$(CC) -shared $(ASAN_FLAGS) -o $@ $^ -Wl,-z,nodelete -lpthread -ldl

asan-build: $(ASAN_LIB)

asan: $(ASAN_LIB)
	@scripts/deps.sh test
	tests/asan/run.sh $(ASAN_LIB)

memcheck: $(LIB)
	@scripts/deps.sh test
	@command -v valgrind >/dev/null || { SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
	    $$SUDO apt-get install -y -q --no-install-recommends valgrind >/dev/null; }
	tests/memcheck/run.sh $(LIB)

# ---- fuzzing the preload's parsers (issue #8) ------------------------------------
# make fuzz-preload: libFuzzer targets of ASYNCLEAK_OPTIONS (tests/fuzz/fuzz_options.c:
# al_options_parse, al_path_expand, al_parse_signal) and of resource kind specs
# (tests/fuzz/fuzz_resspec.c: al_resspec_parse_line), FUZZ_SECONDS each, on
# corpora in build/fuzz/ seeded with a few valid lines.
FUZZ_PRELOAD := $(FUZZ_DIR)/fuzz_options $(FUZZ_DIR)/fuzz_resspec
.PHONY: fuzz-preload fuzz-preload-build
fuzz-preload-build: $(FUZZ_PRELOAD)

$(FUZZ_DIR)/fuzz_options: tests/fuzz/fuzz_options.c preload/options.c preload/options.h common/signames.c common/signames.h $(FUZZ_DIR)/.clang-fuzzer
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Ipreload -o $@ tests/fuzz/fuzz_options.c preload/options.c common/signames.c -lm

$(FUZZ_DIR)/fuzz_resspec: tests/fuzz/fuzz_resspec.c preload/resspec.c preload/resspec.h $(FUZZ_DIR)/.clang-fuzzer
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Ipreload -o $@ tests/fuzz/fuzz_resspec.c preload/resspec.c

fuzz-preload: fuzz-preload-build
	@mkdir -p $(FUZZ_DIR)/corpus_options $(FUZZ_DIR)/corpus_resspec
	@printf 'json_path=/tmp/al.%%p.json:watchdog=0.5:exitcode=1' > $(FUZZ_DIR)/corpus_options/seed1
	@printf 'log_path=a%%%%b%%x%%:stack_depth=+256:native=YES:max_findings=10000000:verbosity=2' > $(FUZZ_DIR)/corpus_options/seed2
	@printf 'dump_signal=RTMIN+3:interval=1e3:suppressions=s::resources=r:colour=1:=x:y' > $(FUZZ_DIR)/corpus_options/seed3
	@printf 'aiohttp.client:ClientSession open=__init__ close=close\n# comment\n\n  a.b:C.D open=x,y,z,w close=q  # c\r\n' > $(FUZZ_DIR)/corpus_resspec/seed1
	@printf 'redis.asyncio.client:Redis close=close,aclose\nbad line\nm:C open= close=a,,b\n' > $(FUZZ_DIR)/corpus_resspec/seed2
	cd $(FUZZ_DIR) && ./fuzz_options -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=4096 -print_final_stats=1 corpus_options
	cd $(FUZZ_DIR) && ./fuzz_resspec -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=4096 -print_final_stats=1 corpus_resspec
