# vscsi — top-level build. GNU make, pkg-config, C11 with GNU extensions.
#
#   make                 build everything into build/
#   make SAN=1           the same with ASan + UBSan, into build-san/
#   make check           install missing Debian packages, build, run tests
#                        (plain and sanitizer builds); last line "N passed, N failed"
#   make fuzz            build the libFuzzer targets (clang) into build-fuzz/ and run
#                        each for FUZZ_SECONDS (default 60; FUZZ_ONLY="NAME..." picks)
#   make mutants         plant each bug of tests/mutants/*.list in a scratch copy,
#                        run its tests, print which were caught (not in CI)
#   make install PREFIX=/usr/local DESTDIR=   (LIBDIR, INCLUDEDIR, UNITDIR too)
#   make deb             the Debian packages (debian/), into build/deb/
#   make clean

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),fuzz)
# The libFuzzer flavour (make fuzz): clang, coverage for the fuzzer, ASan
# and UBSan, every report fatal.
BUILD ?= build-fuzz
CC := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS :=
endif

PREFIX ?= /usr/local
DESTDIR ?=
# Where make install puts the shared library and its pkg-config file, the
# header, and the systemd units (debian/rules: the multiarch directory and
# /lib/systemd/system).
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
UNITDIR ?= $(PREFIX)/lib/systemd/system
CC ?= cc
PKG_CONFIG ?= pkg-config

CFLAGS ?= -O2 -g
# For what must never carry a sanitizer (the shim, the simulator's
# libraries, loaded into programs we did not build): hardening flags only
# (debian/rules: dpkg-buildflags').
HARDEN_CFLAGS ?=
HARDEN_LDFLAGS ?=
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC $(SANFLAGS)
CPPFLAGS += -I. -Icommon -MMD -MP
LDFLAGS += $(SANFLAGS)

# The version every program's --version shows: the VERSION file, one place.
VERSION := $(shell cat VERSION)
CPPFLAGS += -DVSCSI_VERSION='"$(VERSION)"'

pc = $(shell $(PKG_CONFIG) --silence-errors $(1) $(2))
XEN_CFLAGS := $(call pc,--cflags,xenstore xengnttab xenevtchn)
XEN_LIBS := $(call pc,--libs,xenstore xengnttab xenevtchn)
XENSTORE_LIBS := $(call pc,--libs,xenstore)
CMOCKA_LIBS := $(call pc,--libs,cmocka)
JSON_LIBS := $(call pc,--libs,json-c)
JSON_CFLAGS := $(call pc,--cflags,json-c)
SECCOMP_LIBS := $(call pc,--libs,libseccomp)
# The test-only hooks (VSCSI_TEST_HOOKS in the code): in every build but
# the packages' (debian/rules: TEST_HOOKS=0).
TEST_HOOKS ?= 1
ifeq ($(TEST_HOOKS),1)
CPPFLAGS += -DVSCSI_TEST_HOOKS
endif

.PHONY: all progs check check-plain check-san check-fuzz test deps fuzz fuzz-bins install clean demo \
	bench mutants deb
all:

# Every folder describes itself in a module.mk: programs, libraries, tests,
# libFuzzer targets (FUZZ_BINS: $(BUILD)/DIR/fuzz_NAME, linked with
# $(FUZZ_LINK), its libFuzzer options in FUZZ_OPTS_NAME).
BINS :=
LIBS_SO :=
TESTS :=
FUZZ_BINS :=
FUZZ_LINK = $(CC) $(LDFLAGS) -fsanitize=fuzzer
INSTALL_BINS :=
INSTALL_SBINS :=
# tests that build nothing of their own in the sanitizer flavour
PLAIN_ONLY_TESTS :=
include $(sort $(wildcard */module.mk */*/module.mk))

# progs: what make install ships (no tests: a package build needs no cmocka).
progs: $(BINS) $(LIBS_SO)
all: progs $(TESTS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(XEN_CFLAGS) $(JSON_CFLAGS) -c -o $@ $<

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

deps:
	@bash tools/deps.sh

# The test target of one build flavour; check runs both flavours.
test: all
	@bash tests/run-tests.sh $(BUILD) $(TESTS)

check: deps
	@$(MAKE) --no-print-directory SAN=0 all
	@$(MAKE) --no-print-directory SAN=1 all
	@bash tests/run-tests.sh --summary-file $(CURDIR)/build/check-plain.sum build $(patsubst build-san/%,build/%,$(TESTS)) ; \
	 bash tests/run-tests.sh --summary-file $(CURDIR)/build/check-san.sum build-san \
		$(patsubst build/%,build-san/%,$(filter-out $(PLAIN_ONLY_TESTS),$(TESTS))) ; \
	 $(MAKE) --no-print-directory check-fuzz ; \
	 bash tests/summarize.sh build/check-plain.sum build/check-san.sum build/check-fuzz.sum

# Fuzzing (tests/run-fuzz.sh): the targets built in the SAN=fuzz flavour
# into build-fuzz/ (never into the other builds' directories, whatever
# BUILD says), run one after another; corpora, crash inputs and logs stay
# in build-fuzz/. make check runs each for CHECK_FUZZ_SECONDS and skips
# them, saying so, where clang cannot build a libFuzzer program.
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 12
FUZZ_ONLY ?=
fuzz_names = $(patsubst fuzz_%,%,$(notdir $(FUZZ_BINS)))
fuzz_picked = $(if $(FUZZ_ONLY),$(filter $(addprefix %/fuzz_,$(FUZZ_ONLY)),$(FUZZ_BINS)),$(FUZZ_BINS))
fuzz_args = $(foreach b,$(fuzz_picked),'$(patsubst $(BUILD)/%,$(FUZZ_BUILD)/%,$(b)) $(FUZZ_OPTS_$(patsubst fuzz_%,%,$(notdir $(b))))')
fuzz_make = $(MAKE) --no-print-directory SAN=fuzz BUILD=$(FUZZ_BUILD) CC=clang

fuzz-bins: $(FUZZ_BINS)

fuzz:
	@$(if $(fuzz_picked),,echo "fuzz: FUZZ_ONLY=\"$(FUZZ_ONLY)\" names no target (targets: $(fuzz_names))"; exit 2;)
	@bash tests/run-fuzz.sh --probe
	@$(fuzz_make) $(patsubst $(BUILD)/%,$(FUZZ_BUILD)/%,$(fuzz_picked))
	@bash tests/run-fuzz.sh --seconds $(FUZZ_SECONDS) $(FUZZ_BUILD) $(fuzz_args)

CHECK_FUZZ_SUMMARY ?= build/check-fuzz.sum
check-fuzz:
	@mkdir -p $(dir $(CHECK_FUZZ_SUMMARY))
	@rm -f $(CHECK_FUZZ_SUMMARY)
	@if bash tests/run-fuzz.sh --probe; then \
		$(fuzz_make) fuzz-bins && \
		bash tests/run-fuzz.sh --summary-file $(CHECK_FUZZ_SUMMARY) \
			--seconds $(CHECK_FUZZ_SECONDS) $(FUZZ_BUILD) $(fuzz_args); \
	 else echo "0 0 $(words $(FUZZ_BINS))" >$(CHECK_FUZZ_SUMMARY); fi

install: progs
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/vscsi/xensim
	$(if $(INSTALL_BINS),install -m 755 $(INSTALL_BINS) $(DESTDIR)$(PREFIX)/bin/)
	$(if $(INSTALL_SBINS),install -m 755 $(INSTALL_SBINS) $(DESTDIR)$(PREFIX)/sbin/)
	$(if $(INSTALL_SIMLIBS),cp -a $(INSTALL_SIMLIBS) $(DESTDIR)$(PREFIX)/lib/vscsi/xensim/)
	$(if $(INSTALL_EXTRA),$(INSTALL_EXTRA))

clean:
	rm -rf build build-san build-fuzz

# The Debian packages, built by the standard tools from this tree
# (dpkg-buildpackage in a scratch copy, so the tree stays clean); the
# .debs and the build's log land in build/deb/.
deb: deps
	@bash tools/make-deb.sh build/deb

mutants: deps
	@bash tests/mutants/run.sh

demo: deps
	@$(MAKE) --no-print-directory SAN=0 all
	@bash tools/demo.sh build
