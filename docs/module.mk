# docs: man pages installed by make install (the user guide and SUPPORT.md
# are read in the source tree).
MAN_PAGES := $(sort $(wildcard docs/man/*.[1-8]))
INSTALL_EXTRA += $(foreach p,$(MAN_PAGES),install -D -m 644 $(p) \
	$(DESTDIR)$(PREFIX)/share/man/man$(subst .,,$(suffix $(p)))/$(notdir $(p));)
