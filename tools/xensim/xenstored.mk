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

# libFuzzer target for the wire parser (clang); not part of make check.
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 60
.PHONY: fuzz-xs-wire
fuzz: fuzz-xs-wire
fuzz-xs-wire: $(FUZZ_BUILD)/fuzz_xs_wire
	@mkdir -p $(FUZZ_BUILD)/corpus-xs-wire
	$(FUZZ_BUILD)/fuzz_xs_wire -max_total_time=$(FUZZ_SECONDS) -max_len=16384 \
		$(FUZZ_BUILD)/corpus-xs-wire

$(FUZZ_BUILD)/fuzz_xs_wire: tools/xensim/fuzz_xs_wire.c $(XS_PURE_SRCS)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Wall -Wextra -Werror -I. -Icommon -Itools/xensim \
		-fsanitize=fuzzer,address,undefined -o $@ $^
