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
