# Tests of libvscsifront, the vscsi CLI and the ld_vscsi.so shim.
SFENV_OBJS = $(BUILD)/tests/scsifront/sfenv.o $(BUILD)/tests/support/daemon.o \
	$(SIMENV_OBJS) $(TOOLSTACK_OBJS)

TESTS += $(BUILD)/tests/scsifront/test_vscsifront
$(BUILD)/tests/scsifront/test_vscsifront: $(BUILD)/tests/scsifront/test_vscsifront.o \
		$(SFENV_OBJS) $(LIBVSCSIFRONT_A) $(common_objs) | $(BUILD)/scsiback/scsiback
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS) -lpthread

TESTS += $(BUILD)/tests/scsifront/test_vscsifront_hostile
$(BUILD)/tests/scsifront/test_vscsifront_hostile: $(BUILD)/tests/scsifront/test_vscsifront_hostile.o \
		$(BUILD)/tests/scsifront/fakeback.o $(SFENV_OBJS) $(LIBVSCSIFRONT_A) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS) -lpthread

TESTS += $(BUILD)/tests/scsifront/test_vscsifront_tools
$(BUILD)/tests/scsifront/test_vscsifront_tools: $(BUILD)/tests/scsifront/test_vscsifront_tools.o \
		$(SFENV_OBJS) $(LIBVSCSIFRONT_A) $(common_objs) | $(BUILD)/scsiback/scsiback \
		$(SF_OUT)/vscsi $(SF_OUT)/ld_vscsi.so
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS) $(JSON_LIBS) -lpthread

# A manual lab (not a test): simulator + scsiback + a guest with LUNs.
$(BUILD)/tests/scsifront/sflab: $(BUILD)/tests/scsifront/sflab.o $(SFENV_OBJS) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS)

scsifront: $(filter $(BUILD)/tests/scsifront/%,$(TESTS)) $(BUILD)/tests/scsifront/sflab
