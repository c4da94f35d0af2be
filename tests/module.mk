# Test support shared by the integration tests.
SIMENV_OBJS = $(BUILD)/tests/support/simenv.o
# The check that every key of the tools' JSON is snake_case.
JSONKEYS_OBJS = $(BUILD)/tests/support/jsonkeys.o
$(BUILD)/tests/%.o: CPPFLAGS += -Itests/support -Itools/xensim

TESTS += $(BUILD)/tests/xensim/test_grant_evtchn
$(BUILD)/tests/xensim/test_grant_evtchn: $(BUILD)/tests/xensim/test_grant_evtchn.o $(SIMENV_OBJS) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS)

RAWFRONT_OBJS = $(BUILD)/tests/support/rawfront.o $(BUILD)/tests/support/daemon.o
# vscsictl's library (tools/vscsictl/module.mk builds it).
VSCSICTL_LIB = $(BUILD)/tools/vscsictl/libvscsictl.a
$(BUILD)/tests/%.o: CPPFLAGS += -Itools/vscsictl

TESTS += $(BUILD)/tests/scsiback/test_scsiback_ring
TESTS += $(BUILD)/tests/scsiback/test_worker_refusals
$(BUILD)/tests/scsiback/test_worker_refusals: $(BUILD)/tests/scsiback/test_worker_refusals.o \
		$(RAWFRONT_OBJS) $(SIMENV_OBJS) $(VSCSICTL_LIB) $(common_objs) | $(BUILD)/scsiback/scsiback
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(JSON_LIBS) $(CMOCKA_LIBS)
$(BUILD)/tests/scsiback/test_scsiback_ring: $(BUILD)/tests/scsiback/test_scsiback_ring.o \
		$(RAWFRONT_OBJS) $(SIMENV_OBJS) $(VSCSICTL_LIB) $(common_objs) | $(BUILD)/scsiback/scsiback
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(JSON_LIBS) $(CMOCKA_LIBS)

TGTLAB_OBJS = $(BUILD)/tests/support/tgtlab.o
TESTS += $(BUILD)/tests/scsiback/test_scsiback_iscsi
$(BUILD)/tests/scsiback/test_scsiback_iscsi: $(BUILD)/tests/scsiback/test_scsiback_iscsi.o \
		$(RAWFRONT_OBJS) $(SIMENV_OBJS) $(TGTLAB_OBJS) $(VSCSICTL_LIB) $(common_objs) | $(BUILD)/scsiback/scsiback
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(JSON_LIBS) $(CMOCKA_LIBS)

# scsiback's own lifecycle: exit statuses, the lock, --daemon, SIGHUP, the
# SIGTERM drain (one case waits out the 30 s limit).
TESTS += $(BUILD)/tests/scsiback/test_scsiback_daemon
$(BUILD)/tests/scsiback/test_scsiback_daemon: $(BUILD)/tests/scsiback/test_scsiback_daemon.o \
		$(RAWFRONT_OBJS) $(SIMENV_OBJS) $(TGTLAB_OBJS) $(VSCSICTL_LIB) $(common_objs) | $(BUILD)/scsiback/scsiback
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS)

# scsiback as a driver domain, set up by vscsictl --backend-domain.
TESTS += $(BUILD)/tests/scsiback/test_driver_domain
$(BUILD)/tests/scsiback/test_driver_domain: $(BUILD)/tests/scsiback/test_driver_domain.o \
		$(RAWFRONT_OBJS) $(SIMENV_OBJS) $(TGTLAB_OBJS) $(common_objs) \
		| $(BUILD)/scsiback/scsiback $(BUILD)/tools/vscsictl/vscsictl
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS)

TESTS += $(BUILD)/tests/xensim/test_xensim_cli
$(BUILD)/tests/xensim/test_xensim_cli: $(BUILD)/tests/xensim/test_xensim_cli.o $(SIMENV_OBJS) $(JSONKEYS_OBJS) \
		$(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XENSTORE_LIBS) $(JSON_LIBS) $(CMOCKA_LIBS)

# xl's lifecycle in the simulator, through watches and the drop-in
# libxenctrl (linked against the system's, run with the sim libraries).
TESTS += $(BUILD)/tests/xensim/test_xensim_xl
$(BUILD)/tests/xensim/test_xensim_xl: $(BUILD)/tests/xensim/test_xensim_xl.o $(SIMENV_OBJS) $(common_objs) \
		| $(BUILD)/tools/xensim/xensimd $(BUILD)/tools/xensim/xensim $(SIMLIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(XENSTORE_LIBS) $(call pc,--libs,xencontrol) $(JSON_LIBS) $(CMOCKA_LIBS)
