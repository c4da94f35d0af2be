# The simulated xenstored: linked into xensimd by tools/xensim/module.mk.
XS_PURE_SRCS := tools/xensim/xs_path.c tools/xensim/xs_perms.c \
	tools/xensim/xs_domains.c tools/xensim/xs_store.c \
	tools/xensim/xs_txn.c tools/xensim/xs_watch.c tools/xensim/xs_proto.c
XENSTORED_SRCS := tools/xensim/xenstored.c $(XS_PURE_SRCS)
xs_pure_objs = $(patsubst %.c,$(BUILD)/%.o,$(XS_PURE_SRCS))

TESTS += $(BUILD)/tests/xensim/test_xs_store $(BUILD)/tests/xensim/test_xenstore

$(BUILD)/tests/xensim/test_xs_store: $(BUILD)/tests/xensim/test_xs_store.o $(xs_pure_objs) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

$(BUILD)/tests/xensim/test_xenstore: $(BUILD)/tests/xensim/test_xenstore.o $(BUILD)/tests/support/simenv.o $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XENSTORE_LIBS) $(CMOCKA_LIBS)

# libFuzzer target (make fuzz): xs_wire requests from several clients.
FUZZ_BINS += $(BUILD)/tools/xensim/fuzz_xs_wire
FUZZ_OPTS_xs_wire := -max_len=16384
$(BUILD)/tools/xensim/fuzz_xs_wire: $(BUILD)/tools/xensim/fuzz_xs_wire.o $(xs_pure_objs) $(common_objs)
	$(FUZZ_LINK) -o $@ $^
