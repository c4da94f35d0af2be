# vscsictl end-to-end tests (simulator + scsiback + raw frontends) and the
# kernel backend's configfs lookup.
TESTS += $(BUILD)/tests/vscsictl/test_vscsictl
$(BUILD)/tests/vscsictl/test_vscsictl: $(BUILD)/tests/vscsictl/test_vscsictl.o \
		$(RAWFRONT_OBJS) $(SIMENV_OBJS) $(JSONKEYS_OBJS) $(VSCSICTL_LIB) $(common_objs) \
		| $(BUILD)/tools/vscsictl/vscsictl $(BUILD)/scsiback/scsiback \
		  $(BUILD)/tools/xensim/xensimd $(BUILD)/tools/xensim/xensim \
		  $(BUILD)/tools/xensim/lib/libxengnttab.so.1 $(BUILD)/tools/xensim/lib/libxenevtchn.so.1
	$(CC) $(LDFLAGS) -o $@ $^ $(XEN_LIBS) $(JSON_LIBS) $(CMOCKA_LIBS)

# The man pages (docs/man) against the programs' --help; every program's
# --version against the VERSION file; the marked command blocks of the
# README and the user guide, run as written.
TESTS += $(BUILD)/tests/vscsictl/test_docs
$(BUILD)/tests/vscsictl/test_docs: $(BUILD)/tests/vscsictl/test_docs.o \
		| $(BUILD)/tools/vscsictl/vscsictl $(BUILD)/scsiback/scsiback \
		  $(BUILD)/tools/xensim/xensimd $(BUILD)/tools/xensim/xensim \
		  $(BUILD)/tools/vscsi-lifecycle/vscsi-lifecycle $(BUILD)/scsifront/vscsi
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)
