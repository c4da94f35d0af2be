/* STATEDIR/status.json; see status.h. */
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "iport.h"
#include "log.h"
#include "lun.h"
#include "pgrant.h"
#include "vhost.h"

static struct evloop_handler status_timer = { .fd = -1 };

static const char *status_ring_name(enum vhost_ring_state rs)
{
	switch (rs) {
	case VHOST_HELD: return "held";
	case VHOST_RUNNING: return "running";
	case VHOST_DRAINING: return "draining";
	default: return "disconnected";
	}
}

static void status_add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

static void status_add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static struct json_object *status_lun(const struct vhost *vh, const struct vlun *vl)
{
	struct json_object *o = json_object_new_object();
	char vdev[48], link[320], port[IPORT_TEXT_LEN];

	snprintf(vdev, sizeof(vdev), "%u:%u:%u:%u", vh->devid, vl->chn, vl->tgt, vl->lun);
	status_add_int(o, "dev", vl->devnum);
	status_add_str(o, "v_dev", vdev);
	status_add_str(o, "p_dev", vl->pdev);
	status_add_str(o, "device", vl->dev.desc);
	status_add_str(o, "state", vl->opening ? "opening" : vl->removing ? "removing" : "open");
	status_add_int(o, "commands", (int64_t)vl->stats.cmds);
	status_add_int(o, "errors", (int64_t)vl->stats.errors);
	status_add_int(o, "bytes_read", (int64_t)vl->stats.bytes_in);
	status_add_int(o, "bytes_written", (int64_t)vl->stats.bytes_out);
	status_add_str(o, "last_error", vl->stats.last_error);
	/* only where the driver has a link (iSCSI): "up", "reconnecting..." */
	if (vh->link)
		snprintf(link, sizeof(link), "%s", vl->link);   /* as its worker said */
	else
		lun_link(&vl->dev, link, sizeof(link));
	if (link[0])
		status_add_str(o, "link", link);
	/* the I_T nexus the guest's reservations belong to (iport.h) */
	if (vl->has_port)
		status_add_str(o, "initiator_port", iport_format(&vl->port, port, sizeof(port)));
	return o;
}

static struct json_object *status_vhost(const struct vhost *vh)
{
	struct json_object *o = json_object_new_object(), *luns = json_object_new_array();

	status_add_int(o, "domid", vh->fe_domid);
	status_add_int(o, "devid", vh->devid);
	status_add_str(o, "guest", vh->guest);
	status_add_str(o, "ring", status_ring_name(vh->rs));
	/* data through guest pages mapped once (feature-persistent), or
	 * copied; a guest's worker says so of its rings (docs/privsep.md) */
	if (vh->link) {
		status_add_int(o, "in_flight", vh->remote.in_flight);
		json_object_object_add(o, "persistent_grants",
				       json_object_new_boolean(vh->remote.persistent));
		if (vh->remote.persistent)
			status_add_int(o, "mapped_pages", vh->remote.mapped_pages);
	} else {
		status_add_int(o, "in_flight", vh->cmds.busy);
		json_object_object_add(o, "persistent_grants",
				       json_object_new_boolean(vh->cmds.pg != NULL));
		if (vh->cmds.pg)
			status_add_int(o, "mapped_pages", pgrant_mapped(vh->cmds.pg));
	}
	for (unsigned i = 0; i < vh->luns.n; i++)
		json_object_array_add(luns, status_lun(vh, vh->luns.v[i]));
	json_object_object_add(o, "luns", luns);
	return o;
}

int status_write(struct scsiback *sb)
{
	static int last_err;
	struct json_object *top = json_object_new_object(), *vhosts = json_object_new_array();
	char path[320], tmp[330], when[32];
	const char *text;
	time_t now = time(NULL);
	struct tm tm;
	int fd, err = 0;
	size_t len;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	status_add_int(top, "pid", getpid());
	status_add_str(top, "updated", when);
	status_add_str(top, "serving", sb->be_root);
	for (const struct vhost *vh = sb->vhosts; vh; vh = vh->next)
		json_object_array_add(vhosts, status_vhost(vh));
	json_object_object_add(top, "vhosts", vhosts);
	text = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	snprintf(path, sizeof(path), "%s/%s", sb->statedir, STATUS_FILE);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	errno = 0;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    rename(tmp, path) < 0)
		err = -(errno ? errno : EIO);
	if (fd >= 0)
		close(fd);
	json_object_put(top);
	if (err && err != last_err)
		log_warn("cannot write %s: %s", path, strerror(-err));
	last_err = err;
	return err;
}

/* What the file shows, in one number (FNV-1a over the fields that
 * change): the file is rewritten only when this moves. */
static uint64_t status_signature(const struct scsiback *sb)
{
	uint64_t h = 14695981039346656037ull;
	char link[320];

#define STATUS_MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
	for (const struct vhost *vh = sb->vhosts; vh; vh = vh->next) {
		STATUS_MIX(vh->fe_domid);
		STATUS_MIX(vh->devid);
		STATUS_MIX(vh->rs);
		STATUS_MIX(vh->cmds.busy);
		STATUS_MIX(vh->cmds.pg ? pgrant_mapped(vh->cmds.pg) + 1 : 0);
		STATUS_MIX(vh->luns.n);
		for (unsigned i = 0; i < vh->luns.n; i++) {
			const struct vlun *vl = vh->luns.v[i];

			STATUS_MIX(vl->devnum);
			STATUS_MIX(vl->opening | vl->removing << 1);
			STATUS_MIX(vl->stats.cmds);
			STATUS_MIX(vl->stats.errors);
			if (vh->link)
				snprintf(link, sizeof(link), "%s", vl->link);   /* as its worker said */
			else
				lun_link(&vl->dev, link, sizeof(link));
			for (const char *c = link; *c; c++)
				STATUS_MIX((unsigned char)*c);
		}
	}
#undef STATUS_MIX
	return h;
}

static uint64_t status_written;   /* the signature of the file on disk */

static void status_timer_cb(struct evloop_handler *h, uint32_t events)
{
	struct scsiback *sb = h->arg;
	uint64_t ticks, sig;

	(void)events;
	if (read(h->fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	sig = status_signature(sb);
	if (sig != status_written && status_write(sb) == 0)
		status_written = sig;
}

int status_start(struct scsiback *sb)
{
	struct itimerspec its = { .it_interval = { STATUS_PERIOD_S, 0 }, .it_value = { STATUS_PERIOD_S, 0 } };
	int err;

	status_timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (status_timer.fd < 0 || timerfd_settime(status_timer.fd, 0, &its, NULL) < 0)
		goto fail;
	status_timer.cb = status_timer_cb;
	status_timer.arg = sb;
	err = evloop_add(sb->loop, &status_timer, EPOLLIN);
	if (err) {
		errno = -err;
		goto fail;
	}
	if (status_write(sb) == 0)
		status_written = status_signature(sb);
	return 0;
fail:
	err = -errno;
	if (status_timer.fd >= 0)
		close(status_timer.fd);
	status_timer.fd = -1;
	return err;
}

void status_stop(struct scsiback *sb)
{
	char path[320];

	if (status_timer.fd < 0)
		return;
	evloop_del(sb->loop, &status_timer);
	close(status_timer.fd);
	status_timer.fd = -1;
	snprintf(path, sizeof(path), "%s/%s", sb->statedir, STATUS_FILE);
	unlink(path);
}
