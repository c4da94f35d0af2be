# scsiback tests declared apart from tests/module.mk (read after it: the
# support objects are defined there).

# The guest's timeout_per_command and the config file's [lun] timeout, from
# the ring to the device command (tgtd frozen: the driver's timeout line).
TESTS += $(BUILD)/tests/scsiback/test_cmd_timeout
$(BUILD)/tests/scsiback/test_cmd_timeout: $(BUILD)/tests/scsiback/test_cmd_timeout.o \
		$(RAWFRONT_OBJS) $(SIMENV_OBJS) $(TGTLAB_OBJS) $(VSCSICTL_LIB) $(common_objs) | $(BUILD)/scsiback/scsiback
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS)
