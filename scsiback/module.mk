# scsiback: the backend daemon.
-include scsiback/lun_drivers.mk

ISCSI_LIBS ?= $(shell $(PKG_CONFIG) --libs libiscsi)
INIH_LIBS := $(call pc,--libs,inih)
SCSIBACK_CORE_SRCS := scsiback/request.c scsiback/emulate.c scsiback/policy.c scsiback/data.c \
	scsiback/inflight.c scsiback/ring.c scsiback/cmd.c scsiback/vhost.c scsiback/xenbus.c \
	scsiback/config.c
SCSIBACK_SRCS := scsiback/main.c $(SCSIBACK_CORE_SRCS) $(LUN_SRCS)
scsiback_core_objs = $(patsubst %.c,$(BUILD)/%.o,$(SCSIBACK_CORE_SRCS) $(LUN_SRCS))

$(BUILD)/scsiback/%.o $(BUILD)/tests/scsiback/%.o: CPPFLAGS += -Iscsiback

$(BUILD)/scsiback/scsiback: $(BUILD)/scsiback/main.o $(scsiback_core_objs) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(ISCSI_LIBS) $(INIH_LIBS) -lsgutils2

BINS += $(BUILD)/scsiback/scsiback
INSTALL_SBINS += $(BUILD)/scsiback/scsiback

TESTS += $(BUILD)/tests/scsiback/test_request
$(BUILD)/tests/scsiback/test_request: $(BUILD)/tests/scsiback/test_request.o $(BUILD)/scsiback/request.o \
		$(BUILD)/scsiback/emulate.o $(BUILD)/scsiback/policy.o $(BUILD)/scsiback/config.o $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(CMOCKA_LIBS)
