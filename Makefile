# vscsi — top-level build. GNU make, pkg-config, C11 with GNU extensions.
#
#   make                 build everything into build/
#   make SAN=1           the same with ASan + UBSan, into build-san/
#   make check           install missing Debian packages, build, run tests
#                        (plain and sanitizer builds); last line "N passed, N failed"
#   make fuzz            build and run the libFuzzer targets (clang)
#   make mutants         plant each bug of tests/mutants/*.list in a scratch copy,
#                        run its tests, print which were caught (not in CI)
#   make install PREFIX=/usr/local DESTDIR=
#   make clean

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
PKG_CONFIG ?= pkg-config

CFLAGS ?= -O2 -g
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

.PHONY: all check check-plain check-san test deps fuzz install clean demo bench mutants
all:

# Every folder describes itself in a module.mk: programs, libraries, tests.
BINS :=
LIBS_SO :=
TESTS :=
INSTALL_BINS :=
INSTALL_SBINS :=
include $(sort $(wildcard */module.mk */*/module.mk))

all: $(BINS) $(LIBS_SO) $(TESTS)

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
	 bash tests/run-tests.sh --summary-file $(CURDIR)/build/check-san.sum build-san $(patsubst build/%,build-san/%,$(TESTS)) ; \
	 bash tests/summarize.sh build/check-plain.sum build/check-san.sum

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/vscsi/xensim
	$(if $(INSTALL_BINS),install -m 755 $(INSTALL_BINS) $(DESTDIR)$(PREFIX)/bin/)
	$(if $(INSTALL_SBINS),install -m 755 $(INSTALL_SBINS) $(DESTDIR)$(PREFIX)/sbin/)
	$(if $(INSTALL_SIMLIBS),cp -a $(INSTALL_SIMLIBS) $(DESTDIR)$(PREFIX)/lib/vscsi/xensim/)
	$(if $(INSTALL_EXTRA),$(INSTALL_EXTRA))

clean:
	rm -rf build build-san build-fuzz

mutants: deps
	@bash tests/mutants/run.sh

demo: deps
	@$(MAKE) --no-print-directory SAN=0 all
	@bash tools/demo.sh build
