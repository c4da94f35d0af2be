# xensim: the simulated Xen (daemon, CLI, drop-in libxengnttab/libxenevtchn).
XS_DIR := tools/xensim
XS_OUT = $(BUILD)/tools/xensim

-include tools/xensim/xenstored.mk

XENSIMD_SRCS := tools/xensim/xensimd.c tools/xensim/sim_ctl.c tools/xensim/sim_domain.c \
	tools/xensim/sim_grant.c tools/xensim/sim_evtchn.c $(XENSTORED_SRCS)

$(BUILD)/tools/xensim/%.o: CPPFLAGS += -Itools/xensim

$(XS_OUT)/xensimd: $(patsubst %.c,$(BUILD)/%.o,$(XENSIMD_SRCS)) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^

# xensim create reads xl configs with libxlutil, as xl does.
XENSIM_XLUTIL_LIBS := $(call pc,--libs,xlutil)
$(XS_OUT)/xensim: $(XS_OUT)/xensim.o $(XS_OUT)/xensim_xl.o $(XS_OUT)/sim_client.o
	$(CC) $(LDFLAGS) -o $@ $^ $(JSON_LIBS) $(XENSIM_XLUTIL_LIBS)

# The drop-in libraries are built without sanitizers in every flavour: they
# are loaded into programs we did not build (xenstore-utils, sg3_utils).
SIMLIB_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -O2 -g \
	-fvisibility=hidden -I. -Icommon -Itools/xensim -Itools/xensim/lib $(HARDEN_CFLAGS)
$(XS_OUT)/lib/%.pic.o: tools/xensim/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SIMLIB_CFLAGS) -MMD -MP -c -o $@ $<
$(XS_OUT)/lib/sim_client.pic.o: tools/xensim/sim_client.c
	@mkdir -p $(dir $@)
	$(CC) $(SIMLIB_CFLAGS) -MMD -MP -c -o $@ $<

SIMLIB_COMMON = $(XS_OUT)/lib/sim_client.pic.o $(XS_OUT)/lib/sim_peer.pic.o
$(XS_OUT)/lib/libxengnttab.so.1: $(XS_OUT)/lib/libxengnttab.pic.o $(SIMLIB_COMMON) tools/xensim/lib/libxengnttab.map
	$(CC) $(HARDEN_LDFLAGS) -shared -Wl,-soname,libxengnttab.so.1 -Wl,--version-script=tools/xensim/lib/libxengnttab.map \
		-Wl,-z,defs -o $@ $(filter %.o,$^) -lpthread
$(XS_OUT)/lib/libxenevtchn.so.1: $(XS_OUT)/lib/libxenevtchn.pic.o $(XS_OUT)/lib/sim_client.pic.o tools/xensim/lib/libxenevtchn.map
	$(CC) $(HARDEN_LDFLAGS) -shared -Wl,-soname,libxenevtchn.so.1 -Wl,--version-script=tools/xensim/lib/libxenevtchn.map \
		-Wl,-z,defs -o $@ $(filter %.o,$^) -lpthread

# libxenctrl: the lifecycle calls in libxenctrl.c, every other symbol of
# the system's library a generated stub (see gen-xenctrl-stubs.sh).
XENCTRL_REAL ?= $(firstword $(wildcard /usr/lib/$(shell $(CC) -print-multiarch 2>/dev/null)/libxenctrl.so.4.17 \
	/usr/lib64/libxenctrl.so.4.17 /usr/lib/libxenctrl.so.4.17))
$(XS_OUT)/lib/xenctrl-stubs.c $(XS_OUT)/lib/libxenctrl.map: tools/xensim/lib/gen-xenctrl-stubs.sh \
		tools/xensim/lib/libxenctrl.c $(XENCTRL_REAL)
	@mkdir -p $(dir $@)
	sh tools/xensim/lib/gen-xenctrl-stubs.sh $(XENCTRL_REAL) tools/xensim/lib/libxenctrl.c \
		$(XS_OUT)/lib/xenctrl-stubs.c $(XS_OUT)/lib/libxenctrl.map
# The real library's Xen NEEDED entries, kept: libxenguest uses
# libxenforeignmemory without linking it and relies on libxenctrl's.
XENCTRL_NEEDED := $(if $(XENCTRL_REAL),$(shell objdump -p $(XENCTRL_REAL) | \
	sed -n 's/.*NEEDED *lib\(xen[a-z]*\)\.so.*/-l\1/p'))
$(XS_OUT)/lib/xenctrl-stubs.pic.o: $(XS_OUT)/lib/xenctrl-stubs.c
	$(CC) $(SIMLIB_CFLAGS) -c -o $@ $<
$(XS_OUT)/lib/libxenctrl.so.4.17: $(XS_OUT)/lib/libxenctrl.pic.o $(XS_OUT)/lib/xenctrl-stubs.pic.o \
		$(XS_OUT)/lib/sim_client.pic.o $(XS_OUT)/lib/libxenctrl.map
	$(CC) $(HARDEN_LDFLAGS) -shared -Wl,-soname,libxenctrl.so.4.17 -Wl,--version-script=$(XS_OUT)/lib/libxenctrl.map \
		-Wl,-z,defs -o $@ $(filter %.o,$^) -lpthread -Wl,--no-as-needed $(XENCTRL_NEEDED)

BINS += $(XS_OUT)/xensimd $(XS_OUT)/xensim
SIMLIBS := $(XS_OUT)/lib/libxengnttab.so.1 $(XS_OUT)/lib/libxenevtchn.so.1 $(XS_OUT)/lib/libxenctrl.so.4.17
LIBS_SO += $(SIMLIBS)
INSTALL_BINS += $(XS_OUT)/xensimd $(XS_OUT)/xensim
INSTALL_SIMLIBS += $(SIMLIBS)
