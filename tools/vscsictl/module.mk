# vscsictl: the PV SCSI toolstack command (attach / detach / list / apply).
XLUTIL_LIBS := $(call pc,--libs,xlutil)
VSCSICTL_SRCS := tools/vscsictl/vscsictl.c tools/vscsictl/domains.c tools/vscsictl/inventory.c \
	tools/vscsictl/pdevspec.c tools/vscsictl/lio.c tools/vscsictl/xlcfg.c \
	tools/vscsictl/domrecord.c tools/vscsictl/vplan.c tools/vscsictl/health.c \
	tools/vscsictl/sharing.c
# libvscsictl.a: the toolstack code vscsictl, vscsi-lifecycle and the tests
# share (writing and removing vhosts and LUNs, domains, records, xl
# configs, the inventory, scsiback's status); its headers are those of
# tools/vscsictl. vscsictl.c is the command line alone.
VSCSICTL_LIB_SRCS := $(filter-out tools/vscsictl/vscsictl.c,$(VSCSICTL_SRCS)) tools/vscsictl/toolstack.c
VSCSICTL_LIB = $(BUILD)/tools/vscsictl/libvscsictl.a
$(VSCSICTL_LIB): $(patsubst %.c,$(BUILD)/%.o,$(VSCSICTL_LIB_SRCS))
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/tools/vscsictl/%.o: CPPFLAGS += -Itools/vscsictl

$(BUILD)/tools/vscsictl/vscsictl: $(BUILD)/tools/vscsictl/vscsictl.o $(VSCSICTL_LIB) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XENSTORE_LIBS) $(JSON_LIBS) $(XLUTIL_LIBS)

BINS += $(BUILD)/tools/vscsictl/vscsictl
INSTALL_SBINS += $(BUILD)/tools/vscsictl/vscsictl

# libFuzzer target (make fuzz): xl configs' vscsi entries. libxlutil leaks
# the strings of a file it rejects: a leak check after each such input
# would halve the speed, so leaks are checked once, at the end of the run
# (ours fail the target; libxlutil's are suppressed, tests/fuzz-seeds/xlcfg.lsan).
FUZZ_BINS += $(BUILD)/tools/vscsictl/fuzz_xlcfg
FUZZ_OPTS_xlcfg := -max_len=2048 -detect_leaks=0
$(BUILD)/tools/vscsictl/fuzz_xlcfg: $(BUILD)/tools/vscsictl/fuzz_xlcfg.o $(BUILD)/tools/vscsictl/xlcfg.o \
		$(common_objs)
	$(FUZZ_LINK) -o $@ $^ $(XLUTIL_LIBS)
