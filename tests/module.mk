# Test support shared by the integration tests.
SIMENV_OBJS = $(BUILD)/tests/support/simenv.o
$(BUILD)/tests/%.o: CPPFLAGS += -Itests/support -Itools/xensim

TESTS += $(BUILD)/tests/xensim/test_grant_evtchn
$(BUILD)/tests/xensim/test_grant_evtchn: $(BUILD)/tests/xensim/test_grant_evtchn.o $(SIMENV_OBJS) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(CMOCKA_LIBS)
