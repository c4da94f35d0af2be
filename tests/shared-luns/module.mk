# Shared LUNs for guest clusters: persistent reservations between
# simulated guests through scsiback, against tgtd and istgt.
TESTS += $(BUILD)/tests/shared-luns/test_shared_lun
$(BUILD)/tests/shared-luns/test_shared_lun: $(BUILD)/tests/shared-luns/test_shared_lun.o \
		$(SIMENV_OBJS) $(TGTLAB_OBJS) $(BUILD)/tests/support/daemon.o $(common_objs) \
		| $(BUILD)/tools/vscsi-lifecycle/vscsi-lifecycle $(BUILD)/tools/vscsictl/vscsictl \
		  $(BUILD)/scsiback/scsiback $(BUILD)/scsifront/vscsi $(BUILD)/scsifront/ld_vscsi.so \
		  $(BUILD)/tools/xensim/xensimd $(BUILD)/tools/xensim/xensim
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(ISCSI_LIBS) $(CMOCKA_LIBS) -lsgutils2
