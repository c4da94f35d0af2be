# vscsi-lifecycle end to end: xensim's xl lifecycle, tgtd, scsiback, the
# service, and guests whose init is the vscsi CLI.
TESTS += $(BUILD)/tests/vscsi-lifecycle/test_lifecycle
$(BUILD)/tests/vscsi-lifecycle/test_lifecycle: $(BUILD)/tests/vscsi-lifecycle/test_lifecycle.o \
		$(SIMENV_OBJS) $(TGTLAB_OBJS) $(BUILD)/tests/support/daemon.o $(common_objs) \
		| $(BUILD)/tools/vscsi-lifecycle/vscsi-lifecycle $(BUILD)/tools/vscsictl/vscsictl \
		  $(BUILD)/scsiback/scsiback $(BUILD)/scsifront/vscsi \
		  $(BUILD)/tools/xensim/xensimd $(BUILD)/tools/xensim/xensim
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(JSON_LIBS) $(CMOCKA_LIBS)
