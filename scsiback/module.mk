# scsiback: the backend daemon.
-include scsiback/lun_drivers.mk

ISCSI_LIBS ?= $(shell $(PKG_CONFIG) --libs libiscsi)
INIH_LIBS := $(call pc,--libs,inih)
SCSIBACK_CORE_SRCS := scsiback/request.c scsiback/emulate.c scsiback/policy.c scsiback/data.c scsiback/pgrant.c \
	scsiback/inflight.c scsiback/ring.c scsiback/vlun.c scsiback/cmd.c scsiback/vhost.c scsiback/xenbus.c \
	scsiback/status.c scsiback/config.c scsiback/wmsg.c scsiback/wlink.c scsiback/spawner.c \
	scsiback/portal.c
SCSIBACK_SRCS := scsiback/main.c scsiback/sandbox.c scsiback/pollwin.c scsiback/serve.c \
	scsiback/worker.c scsiback/privdrop.c $(SCSIBACK_CORE_SRCS) $(LUN_SRCS)
scsiback_core_objs = $(patsubst %.c,$(BUILD)/%.o,$(SCSIBACK_CORE_SRCS) $(LUN_SRCS))

$(BUILD)/scsiback/%.o $(BUILD)/tests/scsiback/%.o: CPPFLAGS += -Iscsiback

$(BUILD)/scsiback/scsiback: $(BUILD)/scsiback/main.o $(BUILD)/scsiback/sandbox.o $(BUILD)/scsiback/pollwin.o \
		$(BUILD)/scsiback/serve.o $(BUILD)/scsiback/worker.o \
		$(BUILD)/scsiback/privdrop.o \
		$(scsiback_core_objs) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(ISCSI_LIBS) $(INIH_LIBS) $(JSON_LIBS) $(SECCOMP_LIBS) -lsgutils2

BINS += $(BUILD)/scsiback/scsiback
INSTALL_SBINS += $(BUILD)/scsiback/scsiback

# Calls go one way (tools/dev/include-cycles.sh over scsiback and common).
TESTS += $(BUILD)/tests/scsiback/test_layering
$(BUILD)/tests/scsiback/test_layering: $(BUILD)/tests/scsiback/test_layering.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

TESTS += $(BUILD)/tests/scsiback/test_pollwin
$(BUILD)/tests/scsiback/test_pollwin: $(BUILD)/tests/scsiback/test_pollwin.o $(BUILD)/scsiback/pollwin.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

TESTS += $(BUILD)/tests/scsiback/test_request
$(BUILD)/tests/scsiback/test_request: $(BUILD)/tests/scsiback/test_request.o $(BUILD)/scsiback/request.o \
		$(BUILD)/scsiback/emulate.o $(BUILD)/scsiback/policy.o $(BUILD)/scsiback/config.o $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(INIH_LIBS) $(CMOCKA_LIBS)

TESTS += $(BUILD)/tests/scsiback/test_wmsg
$(BUILD)/tests/scsiback/test_wmsg: $(BUILD)/tests/scsiback/test_wmsg.o $(BUILD)/scsiback/wmsg.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

TESTS += $(BUILD)/tests/scsiback/test_privdrop
$(BUILD)/tests/scsiback/test_privdrop: $(BUILD)/tests/scsiback/test_privdrop.o $(BUILD)/scsiback/privdrop.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)

TESTS += $(BUILD)/tests/scsiback/test_sandbox_worker
$(BUILD)/tests/scsiback/test_sandbox_worker: $(BUILD)/tests/scsiback/test_sandbox_worker.o \
		$(BUILD)/scsiback/privdrop.o $(BUILD)/scsiback/sandbox.o $(BUILD)/scsiback/sgio.o $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(SECCOMP_LIBS) $(CMOCKA_LIBS) -lpthread

# libFuzzer targets (make fuzz): the request validator, the config file,
# the broker's check of a worker's messages.
FUZZ_BINS += $(BUILD)/scsiback/fuzz_request
# (a request and a segment table of up to 256 entries: the checks treat
# every entry alike, so longer tables add time, not paths)
FUZZ_OPTS_request := -max_len=2300
$(BUILD)/scsiback/fuzz_request: $(BUILD)/scsiback/fuzz_request.o $(BUILD)/scsiback/request.o
	$(FUZZ_LINK) -o $@ $^
FUZZ_BINS += $(BUILD)/scsiback/fuzz_config
FUZZ_OPTS_config := -max_len=4096
$(BUILD)/scsiback/fuzz_config: $(BUILD)/scsiback/fuzz_config.o $(BUILD)/scsiback/config.o \
		$(BUILD)/scsiback/policy.o $(common_objs)
	$(FUZZ_LINK) -o $@ $^ $(INIH_LIBS)

FUZZ_BINS += $(BUILD)/scsiback/fuzz_wmsg
FUZZ_OPTS_wmsg := -max_len=1600
$(BUILD)/scsiback/fuzz_wmsg: $(BUILD)/scsiback/fuzz_wmsg.o $(BUILD)/scsiback/wmsg.o
	$(FUZZ_LINK) -o $@ $^

# make install ships a systemd unit and a sample configuration.
$(BUILD)/scsiback/scsiback.service: scsiback/scsiback.service.in
	@mkdir -p $(dir $@)
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' $< > $@
progs: $(BUILD)/scsiback/scsiback.service
INSTALL_EXTRA += install -D -m 644 $(BUILD)/scsiback/scsiback.service $(DESTDIR)$(UNITDIR)/scsiback.service; \
	install -D -m 644 scsiback/scsiback.conf.sample $(DESTDIR)$(PREFIX)/share/doc/vscsi/scsiback.conf.sample; \
	[ -e $(DESTDIR)/etc/vscsi/scsiback.conf ] || install -D -m 600 scsiback/scsiback.conf.sample $(DESTDIR)/etc/vscsi/scsiback.conf;
