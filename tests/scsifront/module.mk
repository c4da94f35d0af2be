# Tests of libvscsifront, the vscsi CLI and the ld_vscsi.so shim.
SFENV_OBJS = $(BUILD)/tests/scsifront/sfenv.o $(BUILD)/tests/support/daemon.o \
	$(SIMENV_OBJS) $(VSCSICTL_LIB)

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
		$(SFENV_OBJS) $(JSONKEYS_OBJS) $(LIBVSCSIFRONT_A) $(common_objs) | $(BUILD)/scsiback/scsiback \
		$(SF_OUT)/vscsi $(SF_OUT)/ld_vscsi.so
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS) $(JSON_LIBS) -lpthread

# shim_probe runs under ld_vscsi.so: like the tools, it is built without
# sanitizers (ASan refuses to run behind a preloaded library).
$(BUILD)/tests/scsifront/shim_probe: tests/scsifront/shim_probe.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -g -o $@ $<

TESTS += $(BUILD)/tests/scsifront/test_vscsifront_shim
$(BUILD)/tests/scsifront/test_vscsifront_shim: $(BUILD)/tests/scsifront/test_vscsifront_shim.o \
		$(SFENV_OBJS) $(LIBVSCSIFRONT_A) $(common_objs) | $(BUILD)/scsiback/scsiback \
		$(SF_OUT)/vscsi $(SF_OUT)/ld_vscsi.so $(BUILD)/tests/scsifront/shim_probe
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS) -lpthread

# A manual lab (not a test): simulator + scsiback + a guest with LUNs.
$(BUILD)/tests/scsifront/sflab: $(BUILD)/tests/scsifront/sflab.o $(SFENV_OBJS) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS)


# A quick load generator (not a test): sfbench -q DEPTH -b BYTES, in a guest.
$(BUILD)/tests/scsifront/sfbench: $(BUILD)/tests/scsifront/sfbench.o $(LIBVSCSIFRONT_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) -lpthread

scsifront: $(filter $(BUILD)/tests/scsifront/%,$(TESTS)) $(BUILD)/tests/scsifront/sflab \
	$(BUILD)/tests/scsifront/sfbench
