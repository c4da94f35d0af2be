# vscsictl: the PV SCSI toolstack command (attach / detach / list / apply).
XLUTIL_LIBS := $(call pc,--libs,xlutil)
VSCSICTL_SRCS := tools/vscsictl/vscsictl.c tools/vscsictl/domains.c tools/vscsictl/inventory.c \
	tools/vscsictl/pdevspec.c tools/vscsictl/lio.c tools/vscsictl/xlcfg.c \
	tools/vscsictl/domrecord.c tools/vscsictl/vplan.c tools/vscsictl/health.c
# The parts the tests link directly (toolstack.o comes with TOOLSTACK_OBJS).
VSCSICTL_LIB_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(filter-out tools/vscsictl/vscsictl.c,$(VSCSICTL_SRCS))) \
	$(BUILD)/tools/vscsictl/toolstack.o

$(BUILD)/tools/vscsictl/%.o: CPPFLAGS += -Itools/vscsictl

$(BUILD)/tools/vscsictl/vscsictl: $(BUILD)/tools/vscsictl/vscsictl.o $(VSCSICTL_LIB_OBJS) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XENSTORE_LIBS) $(JSON_LIBS) $(XLUTIL_LIBS)

BINS += $(BUILD)/tools/vscsictl/vscsictl
INSTALL_SBINS += $(BUILD)/tools/vscsictl/vscsictl
