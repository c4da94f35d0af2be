# xensim: the simulated Xen (daemon, CLI, drop-in libxengnttab/libxenevtchn).
XS_DIR := tools/xensim
XS_OUT = $(BUILD)/tools/xensim

-include tools/xensim/xenstored.mk

XENSIMD_SRCS := tools/xensim/xensimd.c tools/xensim/sim_ctl.c tools/xensim/sim_domain.c \
	tools/xensim/sim_grant.c tools/xensim/sim_evtchn.c $(XENSTORED_SRCS)

$(BUILD)/tools/xensim/%.o: CPPFLAGS += -Itools/xensim

$(XS_OUT)/xensimd: $(patsubst %.c,$(BUILD)/%.o,$(XENSIMD_SRCS)) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^

$(XS_OUT)/xensim: $(XS_OUT)/xensim.o $(XS_OUT)/sim_client.o
	$(CC) $(LDFLAGS) -o $@ $^ $(JSON_LIBS)

# The drop-in libraries are built without sanitizers in every flavour: they
# are loaded into programs we did not build (xenstore-utils, sg3_utils).
SIMLIB_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -fPIC -O2 -g \
	-fvisibility=hidden -I. -Icommon -Itools/xensim -Itools/xensim/lib
$(XS_OUT)/lib/%.pic.o: tools/xensim/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SIMLIB_CFLAGS) -MMD -MP -c -o $@ $<
$(XS_OUT)/lib/sim_client.pic.o: tools/xensim/sim_client.c
	@mkdir -p $(dir $@)
	$(CC) $(SIMLIB_CFLAGS) -MMD -MP -c -o $@ $<

SIMLIB_COMMON = $(XS_OUT)/lib/sim_client.pic.o $(XS_OUT)/lib/sim_peer.pic.o
$(XS_OUT)/lib/libxengnttab.so.1: $(XS_OUT)/lib/libxengnttab.pic.o $(SIMLIB_COMMON) tools/xensim/lib/libxengnttab.map
	$(CC) -shared -Wl,-soname,libxengnttab.so.1 -Wl,--version-script=tools/xensim/lib/libxengnttab.map \
		-Wl,-z,defs -o $@ $(filter %.o,$^) -lpthread
$(XS_OUT)/lib/libxenevtchn.so.1: $(XS_OUT)/lib/libxenevtchn.pic.o $(XS_OUT)/lib/sim_client.pic.o tools/xensim/lib/libxenevtchn.map
	$(CC) -shared -Wl,-soname,libxenevtchn.so.1 -Wl,--version-script=tools/xensim/lib/libxenevtchn.map \
		-Wl,-z,defs -o $@ $(filter %.o,$^) -lpthread

BINS += $(XS_OUT)/xensimd $(XS_OUT)/xensim
LIBS_SO += $(XS_OUT)/lib/libxengnttab.so.1 $(XS_OUT)/lib/libxenevtchn.so.1
INSTALL_BINS += $(XS_OUT)/xensimd $(XS_OUT)/xensim
INSTALL_SIMLIBS += $(XS_OUT)/lib/libxengnttab.so.1 $(XS_OUT)/lib/libxenevtchn.so.1
