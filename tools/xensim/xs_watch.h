/* Watch registrations of the simulated xenstored and which of them an
 * event reaches. Pure: delivery goes through a callback. */
#ifndef XENSIM_XS_WATCH_H
#define XENSIM_XS_WATCH_H

#include <stdbool.h>

struct xs_watch {
	struct xs_watch *next;
	void *owner;   /* the connection that set it */
	unsigned domid; /* the owner's domain */
	char *path;    /* canonical absolute path or "@special" */
	char *token;
	bool relative; /* events are reported below /local/domain/<domid>/ */
};

struct xs_watches {
	struct xs_watch *head, *tail;
	unsigned count;
};

/* Called for each watch an event reaches, with the path in the form the
 * watch was set (relative or absolute). */
typedef void (*xs_watch_deliver_fn)(void *arg, const struct xs_watch *w,
				    const char *path);
/* Decides whether the watch's domain may see an event on path. */
typedef bool (*xs_watch_permitted_fn)(void *arg, const struct xs_watch *w,
				      const char *path);

void xs_watches_init(struct xs_watches *ws);
/* Drops every watch. */
void xs_watches_fini(struct xs_watches *ws);
/* path must be canonical. Returns the watch, or NULL with errno EEXIST
 * (same owner, path and token) or ENOMEM. */
struct xs_watch *xs_watches_add(struct xs_watches *ws, void *owner,
				unsigned domid, const char *path,
				const char *token, bool relative);
/* Returns 0 or -ENOENT. */
int xs_watches_remove(struct xs_watches *ws, void *owner, const char *path,
		      const char *token);
void xs_watches_remove_owner(struct xs_watches *ws, void *owner);
unsigned xs_watches_count_domain(const struct xs_watches *ws, unsigned domid);
/* The path as reported to the owner of w (strips its home prefix when the
 * watch is relative). */
const char *xs_watch_report_path(const struct xs_watch *w, const char *path);
/* An event on path reaches the watches on path itself and, unless exact,
 * those on its ancestors; special events only reach watches on exactly
 * that name. permitted may be NULL (everything permitted). */
void xs_watches_fire(struct xs_watches *ws, const char *path, bool exact,
		     xs_watch_permitted_fn permitted,
		     xs_watch_deliver_fn deliver, void *arg);

#endif
