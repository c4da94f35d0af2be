# scsifront: libvscsifront (static and shared), the vscsi CLI, the
# ld_vscsi.so LD_PRELOAD shim, and their tests.
SF_DIR := scsifront
SF_OUT = $(BUILD)/scsifront
# (with what it shares with the backend and the toolstack: the library
# stands alone, and the test programs that also link common's archive
# take each of these from the first archive that has it)
LIBVSCSIFRONT_SRCS := scsifront/log.c scsifront/pool.c scsifront/ring.c scsifront/task.c \
	scsifront/host.c scsifront/xenbus.c scsifront/lun.c scsifront/cdb.c \
	common/decimal.c common/vdev.c common/xsutil.c
libvscsifront_objs = $(patsubst %.c,$(BUILD)/%.o,$(LIBVSCSIFRONT_SRCS))
LIBVSCSIFRONT_A = $(SF_OUT)/libvscsifront.a
LIBVSCSIFRONT_SO = $(SF_OUT)/libvscsifront.so

$(BUILD)/scsifront/%.o $(BUILD)/tests/scsifront/%.o: CPPFLAGS += -Iscsifront/include -Iscsifront

$(LIBVSCSIFRONT_A): $(libvscsifront_objs)
	@rm -f $@
	$(AR) rcs $@ $^

# Only the vscsi_* API is exported (scsifront/libvscsifront.map).
$(LIBVSCSIFRONT_SO): $(libvscsifront_objs) scsifront/libvscsifront.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libvscsifront.so.0 \
		-Wl,--version-script=scsifront/libvscsifront.map -o $@ $(filter %.o,$^) $(XEN_LIBS) -lpthread

# Its pkg-config file, for the paths make install uses.
$(SF_OUT)/vscsifront.pc: scsifront/vscsifront.pc.in VERSION
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' $< >$@
progs: $(SF_OUT)/vscsifront.pc

# The CLI.
VSCSI_CLI_SRCS := scsifront/cli/vscsi.c scsifront/cli/cli_cmds.c scsifront/cli/cli_io.c \
	scsifront/cli/cli_run.c
$(SF_OUT)/vscsi: $(patsubst %.c,$(BUILD)/%.o,$(VSCSI_CLI_SRCS)) $(BUILD)/common/vscsi_host.o $(LIBVSCSIFRONT_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(JSON_LIBS) -lsgutils2 -lpthread

# The shim is loaded into programs we did not build (sg3_utils, mtx...):
# no sanitizer in any flavour, the library compiled in, and only the libc
# entry points it interposes exported.
SHIM_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -O2 -g -fvisibility=hidden \
	-I. -Icommon -Iscsifront/include -Iscsifront $(XEN_CFLAGS) $(HARDEN_CFLAGS)
SHIM_SRCS := scsifront/shim/ld_vscsi.c $(LIBVSCSIFRONT_SRCS)
$(SF_OUT)/shim/%.pic.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_CFLAGS) -MMD -MP -c -o $@ $<
$(SF_OUT)/ld_vscsi.so: $(patsubst %.c,$(SF_OUT)/shim/%.pic.o,$(SHIM_SRCS))
	$(CC) $(HARDEN_LDFLAGS) -shared -Wl,-soname,ld_vscsi.so -Wl,-z,defs -o $@ $^ $(XEN_LIBS) -ldl -lpthread

BINS += $(SF_OUT)/vscsi
LIBS_SO += $(LIBVSCSIFRONT_SO) $(LIBVSCSIFRONT_A) $(SF_OUT)/ld_vscsi.so
INSTALL_BINS += $(SF_OUT)/vscsi
# The library, its header, the shim where vscsi run looks for it (the man
# page is in docs/man).
INSTALL_EXTRA += install -D -m 644 $(SF_OUT)/ld_vscsi.so $(DESTDIR)$(PREFIX)/lib/vscsi/ld_vscsi.so; \
	install -D -m 644 $(LIBVSCSIFRONT_SO) $(DESTDIR)$(LIBDIR)/libvscsifront.so.0; \
	ln -sf libvscsifront.so.0 $(DESTDIR)$(LIBDIR)/libvscsifront.so; \
	install -D -m 644 $(LIBVSCSIFRONT_A) $(DESTDIR)$(LIBDIR)/libvscsifront.a; \
	install -D -m 644 $(SF_OUT)/vscsifront.pc $(DESTDIR)$(LIBDIR)/pkgconfig/vscsifront.pc; \
	install -D -m 644 scsifront/include/vscsifront.h $(DESTDIR)$(INCLUDEDIR)/vscsifront.h;

# "make scsifront" builds all of the above; tests/scsifront/module.mk adds
# the tests to it.
.PHONY: scsifront
scsifront: $(LIBVSCSIFRONT_A) $(LIBVSCSIFRONT_SO) $(SF_OUT)/vscsi $(SF_OUT)/ld_vscsi.so

# libFuzzer target (make fuzz): the backend's responses against outstanding
# tasks, on a host built in memory (the Xen calls answered by the target).
FUZZ_BINS += $(BUILD)/scsifront/fuzz_response
FUZZ_OPTS_response := -max_len=4096
$(BUILD)/scsifront/fuzz_response: $(BUILD)/scsifront/fuzz_response.o $(LIBVSCSIFRONT_A) $(common_objs)
	$(FUZZ_LINK) -o $@ $^ $(XEN_LIBS) -lpthread
