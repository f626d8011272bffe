# pshm - POSIX shared memory for Linux.  Plain GNU make; see README.md.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
MANDIR  ?= $(PREFIX)/share/man
PCDIR   ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DESTDIR ?=

VERSION := $(shell sed -n 's/^\#define PSHM_VERSION_STRING "\(.*\)"/\1/p' include/pshm.h)
SOMAJOR := 0

CC      ?= cc
BUILD   ?= build
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
BASE    := -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc/lib $(WARN)
# SAN=1 builds everything with AddressSanitizer and UndefinedBehaviorSanitizer.
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ALLCFLAGS := $(BASE) $(CFLAGS) $(SANFLAGS)
LIBCFLAGS := $(ALLCFLAGS) -fPIC -fvisibility=hidden

LIB_SRC := $(wildcard src/lib/*.c)
LIB_OBJ := $(LIB_SRC:src/lib/%.c=$(BUILD)/lib/%.o)
LIB_HDR := include/pshm.h $(wildcard src/lib/*.h)
STATIC  := $(BUILD)/libpshm.a
SHARED  := $(BUILD)/libpshm.so.$(VERSION)

CLI_SRC := $(wildcard src/cli/*.c)
CLI_OBJ := $(CLI_SRC:src/cli/%.c=$(BUILD)/cli/%.o)
CLI_BIN := $(BUILD)/pshm
SCOLS_CFLAGS = $(shell pkg-config --cflags smartcols 2>/dev/null)
SCOLS_LIBS = $(shell pkg-config --libs smartcols 2>/dev/null || echo -lsmartcols)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
EXAMPLE_SRC := $(wildcard examples/*.c)
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
# bench_chan compares with ZeroMQ when <zmq.h> is installed (libzmq3-dev), and builds without.
BENCH_ZMQ = $(shell printf '\043include <zmq.h>\n' | $(CC) -E -x c - >/dev/null 2>&1 && echo -lzmq)

.PHONY: all lib cli examples tests check unit-check asan-check demo bench bench-progs install \
	uninstall clean deps deps-test format lint fuzz tsan-check FORCE
all: lib cli examples

cli: $(CLI_BIN)

$(BUILD)/cli/%.o: src/cli/%.c $(wildcard src/cli/*.h) $(wildcard bench/*.h) include/pshm.h
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(SCOLS_CFLAGS) -c -o $@ $<

$(CLI_BIN): $(CLI_OBJ) $(STATIC)
	$(CC) $(ALLCFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(SCOLS_LIBS)

lib: $(STATIC) $(SHARED) $(BUILD)/libpshm.so

$(BUILD)/lib/%.o: src/lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(LIBCFLAGS) -c -o $@ $<

$(STATIC): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ) src/lib/libpshm.map
	$(CC) $(ALLCFLAGS) -shared -Wl,-soname,libpshm.so.$(SOMAJOR) \
		-Wl,--version-script=src/lib/libpshm.map -Wl,-z,defs -o $@ $(LIB_OBJ)

$(BUILD)/libpshm.so: $(SHARED)
	ln -sf libpshm.so.$(VERSION) $(BUILD)/libpshm.so.$(SOMAJOR)
	ln -sf libpshm.so.$(SOMAJOR) $@

# Tests and tools link the static library, so the unit tests can reach internal hooks.
$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -Itests/unit -o $@ $< $(STATIC) -lcmocka -lpthread

$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $< $(STATIC)

$(BUILD)/bench/%: bench/%.c $(wildcard bench/*.h) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $< $(STATIC) -lm -lpthread -lrt $(if $(filter %/bench_chan,$@),$(BENCH_ZMQ))

examples: $(EXAMPLE_BIN)

# The benchmark programs, built without running them.
bench-progs: $(BENCH_BIN)

deps:
	@sh scripts/deps.sh build

deps-test:
	@sh scripts/deps.sh test

tests: $(UNIT_BIN)

# The one test command: builds from scratch if needed and runs every test.
check: deps-test
	$(MAKE) all tests
	sh tests/run-unit.sh $(BUILD)/tests
	bash tests/cli/run.sh $(BUILD)/pshm
	bash -n completions/pshm
	bash tests/cli/completion.sh $(BUILD)/pshm
	$(MAKE) -s lint
	sh tests/install-test.sh

# The unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
asan-check: deps-test
	$(MAKE) BUILD=build-asan SAN=1 tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		sh tests/run-unit.sh build-asan/tests

# Fuzz the channel code's handling of untrusted shared memory with libFuzzer for FUZZ_SECONDS
# seconds. Needs clang; the library is built for it in build-fuzz, where the corpus is kept.
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SAN=1 CFLAGS="-O1 -g -fsanitize=fuzzer-no-link" \
		$(FUZZ_BUILD)/libpshm.a
	clang $(BASE) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-o $(FUZZ_BUILD)/fuzz_chan tests/fuzz/fuzz_chan.c $(FUZZ_BUILD)/libpshm.a
	@mkdir -p $(FUZZ_BUILD)/corpus
	@echo "fuzz: running fuzz_chan for $(FUZZ_SECONDS) s (log in $(FUZZ_BUILD)/fuzz.log)"
	@if $(FUZZ_BUILD)/fuzz_chan -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		$(FUZZ_BUILD)/corpus >$(FUZZ_BUILD)/fuzz.log 2>&1; then \
		grep -E '^stat::number_of_executed_units|^Done' $(FUZZ_BUILD)/fuzz.log; \
		echo "fuzz: 1 passed, 0 failed"; \
	else \
		tail -n 60 $(FUZZ_BUILD)/fuzz.log; echo "fuzz: 0 passed, 1 failed"; exit 1; \
	fi

# A channel's writer and reader as two threads under ThreadSanitizer (library in build-tsan).
# GCC's note that it cannot instrument fences concerns broadcast code this test does not run.
TSAN_NOWARN = $(shell $(CC) -Wno-tsan -E -x c /dev/null >/dev/null 2>&1 && echo -Wno-tsan)
tsan-check:
	$(MAKE) BUILD=build-tsan CFLAGS="-O1 -g -fsanitize=thread $(TSAN_NOWARN)" build-tsan/libpshm.a
	$(CC) $(BASE) -O1 -g -fsanitize=thread -o build-tsan/tsan_chan tests/unit/tsan_chan.c \
		build-tsan/libpshm.a -lpthread
	TSAN_OPTIONS=halt_on_error=1 build-tsan/tsan_chan

demo: deps
	@$(MAKE) -s all
	sh examples/demo.sh $(BUILD)

# Runs pshm bench, bench/bench_overhead and bench/cli.sh and writes docs/benchmarks.md, with
# SVG plots in docs/ when gnuplot is installed. QUICK=1 makes shorter runs.
bench:
	@sh scripts/deps.sh bench
	$(MAKE) all $(BENCH_BIN)
	CC='$(CC)' CFLAGS='$(CFLAGS)' bash bench/report.sh $(BUILD)$(if $(filter-out 0,$(QUICK)), --quick)

# Manual pages must be mandoc -Tlint clean.
lint:
	@out=$$(mandoc -Tlint -Wwarning $(wildcard man/*.[0-9]) 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "lint: manual pages clean"

format:
	clang-format -i include/*.h src/lib/*.[ch] tests/unit/*.[ch] examples/*.c bench/*.c

# Made again at every install, so that a PREFIX or LIBDIR other than last time's is honoured.
pshm.pc: pshm.pc.in include/pshm.h FORCE
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' $< > $@.tmp && mv $@.tmp $@

FORCE:

install: lib cli pshm.pc
	install -d $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 755 $(CLI_BIN) $(DESTDIR)$(BINDIR)/pshm
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 completions/pshm $(DESTDIR)$(BASHCOMPDIR)/pshm
	install -m 644 include/pshm.h $(DESTDIR)$(INCDIR)/pshm.h
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libpshm.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libpshm.so.$(VERSION)
	ln -sf libpshm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpshm.so.$(SOMAJOR)
	ln -sf libpshm.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libpshm.so
	install -m 644 pshm.pc $(DESTDIR)$(PCDIR)/pshm.pc
	install -m 644 man/*.3 $(DESTDIR)$(MANDIR)/man3/

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/pshm.h $(DESTDIR)$(LIBDIR)/libpshm.a \
		$(DESTDIR)$(LIBDIR)/libpshm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpshm.so.$(SOMAJOR) \
		$(DESTDIR)$(LIBDIR)/libpshm.so $(DESTDIR)$(PCDIR)/pshm.pc
	rm -f $(DESTDIR)$(BINDIR)/pshm $(DESTDIR)$(BASHCOMPDIR)/pshm
	for m in man/*.3; do rm -f $(DESTDIR)$(MANDIR)/man3/$${m#man/}; done
	for m in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done

clean:
	rm -rf build build-asan build-clang build-fuzz build-tsan pshm.pc
