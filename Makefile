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
# The soname's number is the major version: libpshm.so.1.
SOMAJOR := $(shell sed -n 's/^\#define PSHM_VERSION_MAJOR  *\([0-9]*\)$$/\1/p' include/pshm.h)

CC      ?= cc
BUILD   ?= build
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
# 64-bit file offsets on every architecture; -MMD -MP record each object's headers in a .d file
# beside it, so that changing a header rebuilds what includes it.
BASE    := -std=gnu11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN)
# Each part sees the headers it may use, given before the user's flags so that an installed
# pshm.h never stands in for this tree's: the library and its tests its own headers, the
# command and the benchmark programs the public header and their own directory only.
INC_LIB   := -Iinclude -Isrc/lib
INC_CLI   := -Iinclude -Isrc/cli
INC_BENCH := -Iinclude -Ibench
DEPFLAGS := -MMD -MP
# SAN=1 builds everything with AddressSanitizer and UndefinedBehaviorSanitizer.
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
# CPPFLAGS, CFLAGS and LDFLAGS are the user's (a distribution's hardening flags, say).
ALLCFLAGS := $(BASE) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS)
LIBCFLAGS := $(ALLCFLAGS) -fPIC -fvisibility=hidden

LIB_SRC := $(wildcard src/lib/*.c)
LIB_OBJ := $(LIB_SRC:src/lib/%.c=$(BUILD)/lib/%.o)
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
# bench_chan: its harness and its transports, an object for each file of bench/chan/ (boost.cpp's
# compiled as C++ or as C: see below).
CHAN_SRC := $(wildcard bench/chan/*.c)
CHAN_OBJ := $(CHAN_SRC:bench/chan/%.c=$(BUILD)/bench/chan/%.o) $(BUILD)/bench/chan/boost.o
CHAN_BIN := $(BUILD)/bench/bench_chan
# pshm-bench, the techniques compared; installed beside pshm, which runs it as `pshm bench`.
PB_SRC := $(wildcard bench/pshm-bench/*.c)
PB_OBJ := $(PB_SRC:bench/pshm-bench/%.c=$(BUILD)/bench/pshm-bench/%.o)
PB_BIN := $(BUILD)/pshm-bench
# The library's system calls traced against bench/raw_cycle.h's (tests/trace).
TRACE_BIN := $(BUILD)/trace/raw_cycle
# bench_chan compares with ZeroMQ when libzmq3-dev is installed, and builds without it;
# PSHM_BENCH_NO_ZMQ=1 leaves ZeroMQ out whatever is installed. BENCH_ZMQ is -lzmq when a program
# that includes <zmq.h> links with it, else empty, and then bench_chan is compiled with
# -DPSHM_BENCH_NO_ZMQ: its code and its link line make the same choice. The probe runs once,
# and only when bench_chan is built.
ifeq ($(filter-out 0,$(PSHM_BENCH_NO_ZMQ)),)
BENCH_ZMQ_PROBE = t=$$(mktemp) && printf '\043include <zmq.h>\nint main(void) { return !zmq_ctx_new(); }\n' | \
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -x c -o "$$t" - -lzmq >/dev/null 2>&1; r=$$?; rm -f "$$t"; \
	[ $$r -eq 0 ] && echo -lzmq
BENCH_ZMQ = $(eval BENCH_ZMQ := $(shell $(BENCH_ZMQ_PROBE)))$(BENCH_ZMQ)
else
BENCH_ZMQ :=
endif
# iceoryx and Boost.Interprocess likewise: each is compared with when installed
# (libiceoryx-binding-c-dev, with iceoryx's iox-roudi to run; libboost-dev and a C++ compiler),
# and left out by PSHM_BENCH_NO_ICEORYX=1 or PSHM_BENCH_NO_BOOST=1. iceoryx's headers live in a
# directory named after its version: BENCH_IOX is "-isystem DIR -liceoryx_binding_c" for the
# newest such directory (none when the compiler finds them) with which a program links, else
# empty, and then iceoryx.c is compiled with -DPSHM_BENCH_NO_ICEORYX. BENCH_BOOST is -lstdc++
# when $(CXX) builds a program with Boost's message_queue, else empty, and then boost.cpp is
# compiled as C, which leaves its stub. C++ is compiled with CXXFLAGS, which default to CFLAGS.
ifeq ($(filter-out 0,$(PSHM_BENCH_NO_ICEORYX)),)
BENCH_IOX_PROBE = t=$$(mktemp) && for d in '' $$(ls -d /usr/local/include/iceoryx/v* \
	/usr/include/iceoryx/v* 2>/dev/null | sort -rV); do printf '\043include <iceoryx_binding_c/runtime.h>\nint main(void) { iox_runtime_init("p"); return 0; }\n' | \
	$(CC) $${d:+-isystem "$$d"} $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -x c -o "$$t" - -liceoryx_binding_c \
	>/dev/null 2>&1 && { echo $${d:+-isystem $$d} -liceoryx_binding_c; break; }; done; rm -f "$$t"
BENCH_IOX = $(eval BENCH_IOX := $(shell $(BENCH_IOX_PROBE)))$(BENCH_IOX)
else
BENCH_IOX :=
endif
CXXFLAGS ?= $(CFLAGS)
# (No -Wshadow: in C++ it takes pshm.h's pshm_stat(), named as its struct is, for a shadow.)
ALLCXXFLAGS = -std=gnu++17 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Wvla $(CPPFLAGS) \
	$(CXXFLAGS) $(SANFLAGS)
ifeq ($(filter-out 0,$(PSHM_BENCH_NO_BOOST)),)
BENCH_BOOST_PROBE = t=$$(mktemp) && printf '\043include <boost/interprocess/ipc/message_queue.hpp>\nint main() { return !boost::interprocess::message_queue::remove("p"); }\n' | \
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) -x c++ -o "$$t" - -lpthread -lrt >/dev/null 2>&1; \
	r=$$?; rm -f "$$t"; [ $$r -eq 0 ] && echo -lstdc++
BENCH_BOOST = $(eval BENCH_BOOST := $(shell $(BENCH_BOOST_PROBE)))$(BENCH_BOOST)
else
BENCH_BOOST :=
endif

.PHONY: all lib cli examples tests check unit-check asan-check demo bench bench-progs install \
	uninstall clean deps deps-test format lint fuzz tsan-check fresh-check abi-check abi-baseline \
	FORCE
all: lib cli examples

# The commands: pshm, and pshm-bench beside it, which `pshm bench` runs.
cli: $(CLI_BIN) $(PB_BIN)

$(BUILD)/cli/%.o: src/cli/%.c
	@mkdir -p $(@D)
	$(CC) $(INC_CLI) $(ALLCFLAGS) $(DEPFLAGS) $(SCOLS_CFLAGS) -c -o $@ $<

$(CLI_BIN): $(CLI_OBJ) $(STATIC)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(SCOLS_LIBS)

$(BUILD)/bench/pshm-bench/%.o: bench/pshm-bench/%.c
	@mkdir -p $(@D)
	$(CC) $(INC_BENCH) -Ibench/pshm-bench $(ALLCFLAGS) $(DEPFLAGS) -c -o $@ $<

$(PB_BIN): $(PB_OBJ) $(STATIC)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $(PB_OBJ) $(STATIC) -lm

lib: $(STATIC) $(SHARED) $(BUILD)/libpshm.so

$(BUILD)/lib/%.o: src/lib/%.c
	@mkdir -p $(@D)
	$(CC) $(INC_LIB) $(LIBCFLAGS) $(DEPFLAGS) -c -o $@ $<

$(STATIC): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ) src/lib/libpshm.map
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -shared -Wl,-soname,libpshm.so.$(SOMAJOR) \
		-Wl,--version-script=src/lib/libpshm.map -Wl,-z,defs -o $@ $(LIB_OBJ)

$(BUILD)/libpshm.so: $(SHARED)
	ln -sf libpshm.so.$(VERSION) $(BUILD)/libpshm.so.$(SOMAJOR)
	ln -sf libpshm.so.$(SOMAJOR) $@

# Tests and tools link the static library, so the unit tests can reach internal hooks.
$(BUILD)/tests/%: tests/unit/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(INC_LIB) -Itests/unit $(ALLCFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) \
		-lcmocka -lpthread

# test_table compares the command's own layout of a table (src/cli/text.c) with libsmartcols'.
$(BUILD)/tests/test_table: tests/unit/test_table.c src/cli/text.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(INC_CLI) $(ALLCFLAGS) $(SCOLS_CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) \
		$(SCOLS_LIBS) -lcmocka

# test_abi compares the public structures' layout in three builds of tests/unit/abi_layout.c:
# with the project's macros, and with others a caller may use (strict ISO C with 32-bit file
# offsets; 64-bit time). The later -std, -U and -D override the earlier ones of ALLCFLAGS.
ABI_LAYOUT_OBJ := $(addprefix $(BUILD)/tests/abi_layout_,default.o off32.o time64.o)
$(BUILD)/tests/abi_layout_default.o: ABI_MACROS :=
$(BUILD)/tests/abi_layout_off32.o: ABI_MACROS := -std=c11 -U_GNU_SOURCE -U_FILE_OFFSET_BITS \
	-D_FILE_OFFSET_BITS=32
$(BUILD)/tests/abi_layout_time64.o: ABI_MACROS := -U_FILE_OFFSET_BITS -D_FILE_OFFSET_BITS=64 \
	-D_TIME_BITS=64
$(BUILD)/tests/abi_layout_%.o: tests/unit/abi_layout.c
	@mkdir -p $(@D)
	$(CC) -Iinclude -Itests/unit $(ALLCFLAGS) $(ABI_MACROS) -DABI_LAYOUT_NAME=abi_layout_$* \
		$(DEPFLAGS) -c -o $@ $<

$(BUILD)/tests/test_abi: tests/unit/test_abi.c $(ABI_LAYOUT_OBJ) $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(INC_LIB) -Itests/unit $(ALLCFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(ABI_LAYOUT_OBJ) \
		$(STATIC) -lcmocka -lpthread

# The library's life cycles and bench/raw_cycle.h's, for tests/trace/run.sh to trace.
$(TRACE_BIN): tests/trace/raw_cycle.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(INC_BENCH) $(ALLCFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(STATIC)

$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) -Iinclude $(ALLCFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(STATIC)

$(BUILD)/bench/%: bench/%.c $(STATIC)
	@mkdir -p $(@D)
	$(CC) $(INC_BENCH) $(ALLCFLAGS) $(DEPFLAGS) $(LDFLAGS) $(BENCH_CFLAGS) -o $@ $< $(STATIC) \
		-lm -lpthread -lrt $(BENCH_LIBS)

$(BUILD)/bench/chan/%.o: bench/chan/%.c
	@mkdir -p $(@D)
	$(CC) $(INC_BENCH) $(ALLCFLAGS) $(DEPFLAGS) $(BENCH_CFLAGS) -c -o $@ $<

$(CHAN_BIN): $(CHAN_OBJ) $(STATIC)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $(CHAN_OBJ) $(STATIC) -lm -lpthread -lrt $(BENCH_LIBS)

# Of bench_chan's code only zmq.c depends on the choice about ZeroMQ; its link line does too.
$(BUILD)/bench/chan/zmq.o: BENCH_CFLAGS = $(if $(BENCH_ZMQ),,-DPSHM_BENCH_NO_ZMQ)
$(CHAN_BIN): BENCH_LIBS = $(BENCH_ZMQ) $(filter -l%,$(BENCH_IOX)) $(BENCH_BOOST)
# The last choice made about ZeroMQ, so that both are built again when it changes.
$(BUILD)/bench/chan/zmq.o $(CHAN_BIN): $(BUILD)/bench/zmq-choice
$(BUILD)/bench/zmq-choice: FORCE
	@mkdir -p $(@D)
	@echo 'zmq: $(or $(BENCH_ZMQ),no)' | cmp -s - $@ || echo 'zmq: $(or $(BENCH_ZMQ),no)' >$@
# iceoryx and Boost the same way: iceoryx.c and boost.cpp hold their choices, and the link line.
$(BUILD)/bench/chan/iceoryx.o: BENCH_CFLAGS = \
	$(if $(BENCH_IOX),$(filter-out -l%,$(BENCH_IOX)),-DPSHM_BENCH_NO_ICEORYX)
$(BUILD)/bench/chan/boost.o: bench/chan/boost.cpp
	@mkdir -p $(@D)
	$(if $(BENCH_BOOST),$(CXX) $(INC_BENCH) $(ALLCXXFLAGS),$(CC) $(INC_BENCH) $(ALLCFLAGS) -x c) \
		$(DEPFLAGS) -c -o $@ $<
$(BUILD)/bench/chan/iceoryx.o $(CHAN_BIN): $(BUILD)/bench/iceoryx-choice
$(BUILD)/bench/chan/boost.o $(CHAN_BIN): $(BUILD)/bench/boost-choice
$(BUILD)/bench/iceoryx-choice: FORCE
	@mkdir -p $(@D)
	@echo 'iceoryx: $(or $(BENCH_IOX),no)' | cmp -s - $@ || echo 'iceoryx: $(or $(BENCH_IOX),no)' >$@
$(BUILD)/bench/boost-choice: FORCE
	@mkdir -p $(@D)
	@echo 'boost: $(or $(BENCH_BOOST),no)' | cmp -s - $@ || echo 'boost: $(or $(BENCH_BOOST),no)' >$@

examples: $(EXAMPLE_BIN)

# What -MMD wrote in earlier builds; absent before the first.
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(UNIT_BIN:=.d) $(EXAMPLE_BIN:=.d) $(BENCH_BIN:=.d) \
	$(CHAN_OBJ:.o=.d) $(PB_OBJ:.o=.d) $(TRACE_BIN:=.d) $(ABI_LAYOUT_OBJ:.o=.d)

# The benchmark programs, built without running them.
bench-progs: $(BENCH_BIN) $(CHAN_BIN) $(PB_BIN)

deps:
	@sh scripts/deps.sh build

deps-test:
	@sh scripts/deps.sh test

tests: $(UNIT_BIN) $(TRACE_BIN)

# The one test command: builds from scratch if needed and runs every test.
check: deps-test
	$(MAKE) all tests
	sh scripts/check-syscalls.sh
	sh tests/check-syscalls-test.sh
	sh scripts/check-architecture.sh
	sh tests/check-architecture-test.sh
	sh scripts/check-man-api.sh
	sh tests/check-man-api-test.sh
	sh tests/run-unit.sh $(BUILD)/tests
	sh tests/trace/run.sh $(BUILD)
	bash tests/cli/run.sh $(BUILD)/pshm
	bash -n completions/pshm
	bash tests/cli/completion.sh $(BUILD)/pshm
	$(MAKE) -s lint
	sh tests/install-test.sh
	sh tests/abi-check-test.sh

# The binary interface of the shared library (built with -g, as the default flags build it)
# against the one recorded in abi/libpshm.abi, with abigail-tools (scripts/abi-check.sh): a
# removed symbol or a changed type fails. abi-baseline records the library's interface as the
# baseline, on purpose, once a change has been found compatible (or at a new major version).
ABI_BASELINE := abi/libpshm.abi
abi-check: $(SHARED)
	sh scripts/abi-check.sh $(SHARED) $(ABI_BASELINE)

abi-baseline: $(SHARED)
	sh scripts/abi-check.sh --write $(SHARED) $(ABI_BASELINE)

# The README's commands, run as written in a minimal Debian 12 root made by debootstrap, with a
# 64 MiB /dev/shm. Needs root and the network; says why and succeeds when it cannot run.
fresh-check:
	bash scripts/fresh-check.sh

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
	clang $(INC_LIB) $(BASE) -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $(FUZZ_BUILD)/fuzz_chan tests/fuzz/fuzz_chan.c \
		$(FUZZ_BUILD)/libpshm.a
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
	$(CC) $(INC_LIB) $(BASE) -O1 -g -fsanitize=thread -o build-tsan/tsan_chan tests/unit/tsan_chan.c \
		build-tsan/libpshm.a -lpthread
	TSAN_OPTIONS=halt_on_error=1 build-tsan/tsan_chan

demo: deps
	@$(MAKE) -s all
	sh examples/demo.sh $(BUILD)

# Runs pshm-bench, bench/bench_overhead and bench/cli.sh and writes docs/benchmarks.md, with
# SVG plots in docs/ when gnuplot is installed. QUICK=1 makes shorter runs; PSHM_BENCH_NO_ZMQ=1,
# PSHM_BENCH_NO_ICEORYX=1 and PSHM_BENCH_NO_BOOST=1 leave those out of bench_chan's comparison.
bench:
	@PSHM_BENCH_NO_ZMQ='$(PSHM_BENCH_NO_ZMQ)' PSHM_BENCH_NO_ICEORYX='$(PSHM_BENCH_NO_ICEORYX)' \
		PSHM_BENCH_NO_BOOST='$(PSHM_BENCH_NO_BOOST)' sh scripts/deps.sh bench
	$(MAKE) all $(BENCH_BIN) $(CHAN_BIN)
	CC='$(CC)' CFLAGS='$(CFLAGS)' bash bench/report.sh $(BUILD)$(if $(filter-out 0,$(QUICK)), --quick)

# Manual pages: clean for mandoc and for groff (which man runs on Debian), and whole as man shows
# them.
lint:
	@sh scripts/lint-man.sh $(wildcard man/*.[0-9])

format:
	clang-format -i $(wildcard include/*.h src/lib/*.[ch] src/cli/*.[ch] tests/unit/*.[ch] \
		tests/fuzz/*.[ch] tests/trace/*.[ch] examples/*.[ch] bench/*.[ch] bench/chan/*.[ch] \
		bench/pshm-bench/*.[ch])

# Made again at every install, so that a PREFIX or LIBDIR other than last time's is honoured.
pshm.pc: pshm.pc.in include/pshm.h FORCE
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' $< > $@.tmp && mv $@.tmp $@

FORCE:

# After installing into the system itself (no DESTDIR) as root, the dynamic loader's cache is
# brought up to date, so that a program linked with the library starts at once when LIBDIR is a
# directory the loader searches, /usr/local/lib among them. A staged installation (DESTDIR) is
# not the system's, and another user cannot update the cache: both leave it alone.
LDCONFIG ?= ldconfig
LDCONFIG_AFTER = @if [ -z '$(DESTDIR)' ] && [ "$$(id -u)" -eq 0 ]; then \
	echo '$(LDCONFIG)'; PATH="$$PATH:/sbin:/usr/sbin" $(LDCONFIG); fi

# The functions a page of man/ documents: the .Nm lines of its NAME section. Each name but the
# page's own is installed as a link to the page, so that `man pshm_unmap` shows pshm_map(3);
# scripts/check-man-api.sh holds the pages to the header by the same names.
MAN3_NAMES = sed -n '/^\.Sh NAME/,/^\.Sh/s/^\.Nm \([A-Za-z0-9_]*\).*/\1/p'

install: lib cli pshm.pc
	install -d $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(BASHCOMPDIR)
	install -m 755 $(CLI_BIN) $(DESTDIR)$(BINDIR)/pshm
	install -m 755 $(PB_BIN) $(DESTDIR)$(BINDIR)/pshm-bench
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 completions/pshm $(DESTDIR)$(BASHCOMPDIR)/pshm
	ln -sf pshm $(DESTDIR)$(BASHCOMPDIR)/pshm-bench
	install -m 644 include/pshm.h $(DESTDIR)$(INCDIR)/pshm.h
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libpshm.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libpshm.so.$(VERSION)
	ln -sf libpshm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpshm.so.$(SOMAJOR)
	ln -sf libpshm.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libpshm.so
	install -m 644 pshm.pc $(DESTDIR)$(PCDIR)/pshm.pc
	install -m 644 man/*.3 $(DESTDIR)$(MANDIR)/man3/
	for p in man/pshm_*.3; do for n in $$($(MAN3_NAMES) $$p); do \
		[ man/$$n.3 = $$p ] || ln -sf $${p#man/} $(DESTDIR)$(MANDIR)/man3/$$n.3 || exit 1; \
	done; done
	$(LDCONFIG_AFTER)

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/pshm.h $(DESTDIR)$(LIBDIR)/libpshm.a \
		$(DESTDIR)$(LIBDIR)/libpshm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpshm.so.$(SOMAJOR) \
		$(DESTDIR)$(LIBDIR)/libpshm.so $(DESTDIR)$(PCDIR)/pshm.pc
	rm -f $(DESTDIR)$(BINDIR)/pshm $(DESTDIR)$(BINDIR)/pshm-bench $(DESTDIR)$(BASHCOMPDIR)/pshm \
		$(DESTDIR)$(BASHCOMPDIR)/pshm-bench
	for p in man/pshm_*.3; do for n in $$($(MAN3_NAMES) $$p); do \
		rm -f $(DESTDIR)$(MANDIR)/man3/$$n.3; done; done
	for m in man/*.3; do rm -f $(DESTDIR)$(MANDIR)/man3/$${m#man/}; done
	for m in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	$(LDCONFIG_AFTER)

clean:
	rm -rf build build-asan build-clang build-fuzz build-nozmq build-tsan pshm.pc
