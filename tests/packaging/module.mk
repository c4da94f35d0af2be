# The Debian packages (tests/packaging/debs.sh): built, checked, installed
# and purged. The packages are built by dpkg-buildpackage from the sources,
# whatever the flavour, so make check runs this in the plain flavour only.
TESTS += $(BUILD)/tests/packaging/test_debs
PLAIN_ONLY_TESTS += $(BUILD)/tests/packaging/test_debs
$(BUILD)/tests/packaging/test_debs: $(BUILD)/tests/packaging/test_debs.o
	$(CC) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS)
