# The soak (tests/soak/soak.c): guests with disk, tape and changer I/O
# under random faults. `make check` runs it for SOAK_SECONDS (120) in each
# build; `make soak DURATION=3600` runs it alone for that long.
TESTS += $(BUILD)/tests/soak/soak
$(BUILD)/tests/soak/soak: $(BUILD)/tests/soak/soak.o $(RAWFRONT_OBJS) $(SIMENV_OBJS) $(TGTLAB_OBJS) \
		$(VSCSICTL_LIB) $(LIBVSCSIFRONT_A) $(common_objs) | $(BUILD)/scsiback/scsiback
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS) -lpthread
$(BUILD)/tests/soak/%.o: CPPFLAGS += -Iscsifront/include

DURATION ?= 600
.PHONY: soak
soak: deps
	@$(MAKE) --no-print-directory SAN=0 all
	@SOAK_SECONDS=$(DURATION) VSCSI_TEST_TIMEOUT=$$(( $(DURATION) + 300 )) \
		bash tests/run-tests.sh build build/tests/soak/soak; \
	 cat build/test-logs/soak.log | sed -n '/^soak: summary/,$$p'
