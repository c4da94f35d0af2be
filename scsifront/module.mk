# scsifront: libvscsifront (static and shared), the vscsi CLI, the
# ld_vscsi.so LD_PRELOAD shim, and their tests.
SF_DIR := scsifront
SF_OUT = $(BUILD)/scsifront
LIBVSCSIFRONT_SRCS := scsifront/log.c scsifront/pool.c scsifront/ring.c scsifront/task.c \
	scsifront/host.c scsifront/xenbus.c scsifront/lun.c scsifront/cdb.c
libvscsifront_objs = $(patsubst %.c,$(BUILD)/%.o,$(LIBVSCSIFRONT_SRCS))
LIBVSCSIFRONT_A = $(SF_OUT)/libvscsifront.a
LIBVSCSIFRONT_SO = $(SF_OUT)/libvscsifront.so

$(BUILD)/scsifront/%.o $(BUILD)/tests/scsifront/%.o: CPPFLAGS += -Iscsifront/include -Iscsifront

$(LIBVSCSIFRONT_A): $(libvscsifront_objs)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBVSCSIFRONT_SO): $(libvscsifront_objs)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libvscsifront.so.0 -o $@ $^ $(XEN_LIBS) -lpthread

LIBS_SO += $(LIBVSCSIFRONT_SO) $(LIBVSCSIFRONT_A)

# "make scsifront" builds all of the above; tests/scsifront/module.mk adds
# the tests to it.
.PHONY: scsifront
scsifront: $(LIBVSCSIFRONT_A) $(LIBVSCSIFRONT_SO)
