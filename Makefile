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

.PHONY: all deps test unit integration bench install uninstall clean demo
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

$(LIB): $(PRELOAD_OBJ) $(COMMON_OBJ)
	$(CC) -shared -o $@ $^ -Wl,-z,nodelete -lpthread -ldl

$(CMD): $(REPORTER_OBJ) $(COMMON_OBJ)
	$(CC) -o $@ $^ -ljansson

# Unit tests: each test_X.c links with the pure-C sources it names in a
# "// links:" line (no CPython in them).
$(BUILD)/tests/test_%: tests/unit/test_%.c $(wildcard common/*.h preload/*.h preload/*.c) $(COMMON_OBJ) $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -Ipreload -o $@ $< $(shell sed -n 's|^// links: *||p' $<) $(COMMON_OBJ) -lcmocka -lpthread

unit: $(UNIT_BIN)
	@for t in $(UNIT_BIN); do echo "== $$t"; $$t || exit 1; done

integration: all
	@scripts/deps.sh test
	cd tests/integration && $(PYTEST_PY) -m pytest -q -n 2 -p no:cacheprovider .

test: all
	@scripts/deps.sh test
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory integration

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

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/asyncleak $(DESTDIR)$(PREFIX)/lib/asyncleak/libasyncleak.so
	-rmdir $(DESTDIR)$(PREFIX)/lib/asyncleak

clean:
	rm -rf $(BUILD)
