# vscsi-lifecycle: the toolstack service that gives domains their PV SCSI
# devices through xl's lifecycle. It uses vscsictl's toolstack code.
XENCTRL_LIBS := $(call pc,--libs,xencontrol)
LIFECYCLE_SRCS := tools/vscsi-lifecycle/main.c tools/vscsi-lifecycle/lc_domains.c \
	tools/vscsi-lifecycle/lc_job.c tools/vscsi-lifecycle/lc_source.c

$(BUILD)/tools/vscsi-lifecycle/%.o: CPPFLAGS += -Itools/vscsi-lifecycle -Itools/vscsictl

# vscsictl's module.mk is read after this one: its objects are expanded
# at the second expansion.
.SECONDEXPANSION:
$(BUILD)/tools/vscsi-lifecycle/vscsi-lifecycle: $(patsubst %.c,$(BUILD)/%.o,$(LIFECYCLE_SRCS)) \
		$$(VSCSICTL_LIB) $(common_objs)
	$(CC) $(LDFLAGS) -o $@ $^ $(XENSTORE_LIBS) $(XENCTRL_LIBS) $(JSON_LIBS) $(XLUTIL_LIBS) -lpthread

$(BUILD)/tools/vscsi-lifecycle/vscsi-lifecycle.service: tools/vscsi-lifecycle/vscsi-lifecycle.service.in
	@mkdir -p $(dir $@)
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' $< > $@

BINS += $(BUILD)/tools/vscsi-lifecycle/vscsi-lifecycle
INSTALL_SBINS += $(BUILD)/tools/vscsi-lifecycle/vscsi-lifecycle
progs: $(BUILD)/tools/vscsi-lifecycle/vscsi-lifecycle.service
INSTALL_EXTRA += install -D -m 644 $(BUILD)/tools/vscsi-lifecycle/vscsi-lifecycle.service \
	$(DESTDIR)$(UNITDIR)/vscsi-lifecycle.service; \
	install -d -m 755 $(DESTDIR)/var/lib/vscsi/domains;
