# Unit tests of common/: the log line, decimal and v-dev / dev-N names, the xenstore
# helpers (against a private simulated xenstore), p-dev parsing and sysfs
# resolution (against a fake sysfs tree). (Read before tests/module.mk:
# objects are named here in full.)
TESTS += $(BUILD)/tests/common/test_vdev $(BUILD)/tests/common/test_xsutil

$(BUILD)/tests/common/test_vdev: $(BUILD)/tests/common/test_vdev.o $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(BUILD)/tests/common/test_xsutil: $(BUILD)/tests/common/test_xsutil.o \
		$(BUILD)/tests/support/simenv.o $(common_objs) \
		| $(BUILD)/tools/xensim/xensimd $(BUILD)/tools/xensim/xensim
	$(CC) $(LDFLAGS) -o $@ $^ $(XENSTORE_LIBS) $(CMOCKA_LIBS) -lpthread

TESTS += $(BUILD)/tests/common/test_log
$(BUILD)/tests/common/test_log: $(BUILD)/tests/common/test_log.o $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

TESTS += $(BUILD)/tests/common/test_pdev
$(BUILD)/tests/common/test_pdev: $(BUILD)/tests/common/test_pdev.o $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

TESTS += $(BUILD)/tests/common/test_iport
$(BUILD)/tests/common/test_iport: $(BUILD)/tests/common/test_iport.o $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)
