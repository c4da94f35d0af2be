/* Watch registrations and event matching. */
#include "xs_watch.h"

#include "xs_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void xs_watches_init(struct xs_watches *ws)
{
	memset(ws, 0, sizeof(*ws));
}

static void watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

void xs_watches_fini(struct xs_watches *ws)
{
	struct xs_watch *w = ws->head, *next;

	for (; w; w = next) {
		next = w->next;
		watch_free(w);
	}
	xs_watches_init(ws);
}

struct xs_watch *xs_watches_add(struct xs_watches *ws, void *owner,
				unsigned domid, const char *path,
				const char *token, bool relative)
{
	struct xs_watch *w;

	for (w = ws->head; w; w = w->next) {
		if (w->owner == owner && !strcmp(w->path, path) &&
		    !strcmp(w->token, token)) {
			errno = EEXIST;
			return NULL;
		}
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		goto nomem;
	w->owner = owner;
	w->domid = domid;
	w->relative = relative;
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token)
		goto nomem;
	if (ws->tail)
		ws->tail->next = w;
	else
		ws->head = w;
	ws->tail = w;
	ws->count++;
	return w;
nomem:
	if (w)
		watch_free(w);
	errno = ENOMEM;
	return NULL;
}

/* Unlinks the watch after prev (or the head when prev is NULL). */
static void watches_unlink(struct xs_watches *ws, struct xs_watch *prev,
			   struct xs_watch *w)
{
	if (prev)
		prev->next = w->next;
	else
		ws->head = w->next;
	if (ws->tail == w)
		ws->tail = prev;
	ws->count--;
	watch_free(w);
}

int xs_watches_remove(struct xs_watches *ws, void *owner, const char *path,
		      const char *token)
{
	struct xs_watch *w, *prev = NULL;

	for (w = ws->head; w; prev = w, w = w->next) {
		if (w->owner == owner && !strcmp(w->path, path) &&
		    !strcmp(w->token, token)) {
			watches_unlink(ws, prev, w);
			return 0;
		}
	}
	return -ENOENT;
}

void xs_watches_remove_owner(struct xs_watches *ws, void *owner)
{
	struct xs_watch *w = ws->head, *prev = NULL, *next;

	for (; w; w = next) {
		next = w->next;
		if (w->owner == owner)
			watches_unlink(ws, prev, w);
		else
			prev = w;
	}
}

unsigned xs_watches_count_domain(const struct xs_watches *ws, unsigned domid)
{
	unsigned n = 0;

	for (const struct xs_watch *w = ws->head; w; w = w->next)
		n += w->domid == domid;
	return n;
}

const char *xs_watch_report_path(const struct xs_watch *w, const char *path)
{
	char home[32];
	size_t len;

	if (!w->relative)
		return path;
	len = (size_t)snprintf(home, sizeof(home), "/local/domain/%u/", w->domid);
	if (!strncmp(path, home, len))
		return path + len;
	return path;
}

static bool watch_matches(const struct xs_watch *w, const char *path,
			  bool exact)
{
	if (path[0] == '@' || w->path[0] == '@' || exact)
		return !strcmp(w->path, path);
	return xs_path_is_below(path, w->path);
}

void xs_watches_fire(struct xs_watches *ws, const char *path, bool exact,
		     xs_watch_permitted_fn permitted,
		     xs_watch_deliver_fn deliver, void *arg)
{
	/* Delivery must not add or remove watches. */
	for (struct xs_watch *w = ws->head; w; w = w->next) {
		if (!watch_matches(w, path, exact))
			continue;
		if (permitted && !permitted(arg, w, path))
			continue;
		deliver(arg, w, xs_watch_report_path(w, path));
	}
}
