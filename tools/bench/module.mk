# make bench: the stack against the direct path (not part of make check).
ISCSI_LIBS ?= $(shell $(PKG_CONFIG) --libs libiscsi)
$(BUILD)/tools/bench/%.o: CPPFLAGS += -Iscsifront/include

$(BUILD)/tools/bench/vscsi-bench: $(BUILD)/tools/bench/vscsi_bench.o $(BUILD)/scsifront/libvscsifront.a
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(ISCSI_LIBS) $(JSON_LIBS) -lpthread

BINS += $(BUILD)/tools/bench/vscsi-bench

bench: deps
	@$(MAKE) --no-print-directory SAN=0 all
	@bash tools/bench/run-bench.sh build
