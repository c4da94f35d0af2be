# scsiback's LUN drivers (sg, iscsi, null), with their tests (p-dev
# resolution is common/pdev.c, tested in tests/common). Included by
# scsiback/module.mk.
LUN_SRCS := scsiback/lun.c scsiback/lun_iscsi.c scsiback/lun_sg.c scsiback/sgio.c scsiback/lun_null.c
LUN_OBJS = $(patsubst %.c,$(BUILD)/%.o,$(LUN_SRCS))
ISCSI_LIBS ?= $(shell $(PKG_CONFIG) --libs libiscsi)
LUN_LIBS = $(ISCSI_LIBS) -lsgutils2 -lpthread


LUN_TESTS := test_lun_null test_lun_sg test_lun_iscsi test_lun_iscsi_timeouts
# (a test is listed once its source exists)
TESTS += $(patsubst %,$(BUILD)/tests/scsiback/%,$(foreach t,$(LUN_TESTS),$(if $(wildcard tests/scsiback/$(t).c),$(t))))

$(BUILD)/tests/scsiback/test_lun_null: $(BUILD)/tests/scsiback/test_lun_null.o $(LUN_OBJS) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(LUN_LIBS) $(CMOCKA_LIBS)

# test_lun_sg reaches the driver's parts it pins through lun_sg.h.
$(BUILD)/tests/scsiback/test_lun_sg: $(BUILD)/tests/scsiback/test_lun_sg.o $(LUN_OBJS) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(LUN_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/scsiback/test_lun_iscsi: $(BUILD)/tests/scsiback/test_lun_iscsi.o $(LUN_OBJS) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(LUN_LIBS) $(CMOCKA_LIBS)

# test_lun_iscsi_timeouts reads a command's deadline through
# lun_iscsi.h, and a configuration file as scsiback does.
$(BUILD)/tests/scsiback/test_lun_iscsi_timeouts: $(BUILD)/tests/scsiback/test_lun_iscsi_timeouts.o \
		$(LUN_OBJS) $(BUILD)/scsiback/config.o \
		$(BUILD)/scsiback/policy.o $(BUILD)/tests/support/tgtlab.o $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(LUN_LIBS) $(INIH_LIBS) $(CMOCKA_LIBS)
