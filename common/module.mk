# common/: what scsiback, libvscsifront, the toolstack and the simulator
# share (logger, event loop, xenstore helpers, v-dev and dev-N names,
# p-dev parsing, host byte names). One archive: a program takes the members it uses (the
# simulator, without libxenstore, never takes xsutil.o).
COMMON_SRCS := common/log.c common/evloop.c common/decimal.c common/vdev.c common/xsutil.c \
	common/pdev.c common/vscsi_host.c common/iport.c
COMMON_LIB = $(BUILD)/common/libvscsi-common.a
common_objs = $(COMMON_LIB)

$(COMMON_LIB): $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRCS))
	@rm -f $@
	$(AR) rcs $@ $^
