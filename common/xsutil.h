/* Small helpers over libxenstore, shared by scsiback, libvscsifront, the
 * toolstack and the tests: read a node whose path is printf-formed, read
 * it as a number, write a printf-formed value (or a number at a
 * printf-formed path), and write only into a directory that still
 * exists.
 *
 * Paths longer than xenstore takes (XSU_PATH_MAX) are refused with
 * ENAMETOOLONG, never cut. Numbers follow decimal.h's rule (no sign, no
 * blank, no leading zero) and are read in 0..INT_MAX. */
#ifndef VSCSI_COMMON_XSUTIL_H
#define VSCSI_COMMON_XSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <xenstore.h>

/* XENSTORE_ABS_PATH_MAX of xen/io/xs_wire.h, and its NUL. */
#define XSU_PATH_MAX (3072 + 1)

/* snprintf into buf; 0, or -ENAMETOOLONG when it does not fit. */
int xsu_pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The node's value (malloc'd, NUL-terminated), or NULL with errno set
 * (ENOENT, EACCES, ENAMETOOLONG...). */
char *xsu_readf(struct xs_handle *xs, xs_transaction_t t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The node's value as a number in 0..INT_MAX, or dflt when the node is
 * missing, unreadable or not such a number ("-1", " 4", "04", "4x"). */
int xsu_read_intf(struct xs_handle *xs, xs_transaction_t t, int dflt, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Whether s is such a number; its value in *out. */
bool xsu_parse_int(const char *s, int *out);

/* The entries of a directory (one malloc'd array, as xs_directory), or
 * NULL with errno set; *n is their count (0 on failure). */
char **xsu_directoryf(struct xs_handle *xs, xs_transaction_t t, unsigned *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Writes the printf-formed value at path. 0 or -errno. */
int xsu_printf(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Writes value in decimal at the printf-formed path. 0 or -errno
 * (-ENAMETOOLONG for a path that does not fit). */
int xsu_write_uintf(struct xs_handle *xs, xs_transaction_t t, unsigned value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Like xsu_printf, but only while path's parent directory exists, checked in
 * the write's own transaction (retried while it conflicts). xenstore
 * makes missing parents: a backend writing its state after the toolstack
 * removed the vhost's directory would create it again, left behind for
 * good. 0, -ENOENT when the directory is gone, or -errno. */
int xsu_printf_existing(struct xs_handle *xs, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
