/* libFuzzer target: the broker's check of what a worker sends
 * (wmsg_check, scsiback/wmsg.c): the worker parses guests' input, so the
 * broker must assume it hostile.
 *
 * Input: one byte whose low bit says whether a descriptor came with the
 * message, then the message's bytes.
 *
 * Beyond "no crash, no sanitizer report", an accepted message:
 *   - has a known kind, and exactly its kind's size, header included;
 *   - carries a descriptor exactly when its kind does (a LUN_ADD: when
 *     its LUN is sg);
 *   - has every string ended within its field (so the broker's logs and
 *     status.json never read past one);
 *   - is accepted again as it is, and refused once one byte is cut off or
 *     the descriptor flag flips where the kind decides it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdev.h"
#include "wmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "fuzz_wmsg: property broken at line %d: %s\n", __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#define ENDED(field) (strnlen((field), sizeof(field)) < sizeof(field))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union wmsg m;
	char err[200];
	bool has_fd;
	int rc;

	if (size < 1)
		return 0;
	has_fd = data[0] & 1;
	data++, size--;
	err[0] = 0;
	rc = wmsg_check(data, size, has_fd, err, sizeof(err));
	if (rc < 0) {
		CHECK(err[0] != 0);
		return 0;
	}
	CHECK(rc == 0);
	CHECK(size <= sizeof(m));
	memcpy(&m, data, size);
	CHECK(m.h.kind > 0 && m.h.kind < WMSG_KIND_END);
	CHECK(m.h.size == size);
	CHECK(strcmp(wmsg_kind_name(m.h.kind), "?") != 0);
	switch (m.h.kind) {
	case WMSG_VHOST_CONNECT:
		CHECK(has_fd);
		break;
	case WMSG_LUN_ADD:
		CHECK(has_fd == (m.lun_add.kind == PDEV_SG));
		CHECK(ENDED(m.lun_add.pdev) && ENDED(m.lun_add.path) && ENDED(m.lun_add.initiator));
		CHECK(ENDED(m.lun_add.chap_user) && ENDED(m.lun_add.chap_password));
		CHECK(ENDED(m.lun_add.set.policy_name));
		CHECK(m.lun_add.set.timeout_ms <= WMSG_TIMEOUT_MS_MAX);
		break;
	case WMSG_LUN_OPENED:
		CHECK(!has_fd);
		CHECK(ENDED(m.lun_opened.desc) && ENDED(m.lun_opened.err));
		CHECK(m.lun_opened.rc <= 0);
		break;
	case WMSG_LUN_STATS:
		CHECK(!has_fd);
		CHECK(ENDED(m.lun_stats.last_error) && ENDED(m.lun_stats.link));
		CHECK(m.lun_stats.errors <= m.lun_stats.cmds);
		break;
	case WMSG_VHOST_NEW:
		CHECK(!has_fd && ENDED(m.vhost_new.guest));
		break;
	case WMSG_VHOST_STATS:
		CHECK(!has_fd && m.vhost_stats.persistent <= 1);
		CHECK(m.vhost_stats.persistent || !m.vhost_stats.mapped_pages);
		break;
	case WMSG_READY:
	case WMSG_STOP:
		CHECK(m.h.devid == 0);
		/* fall through */
	default:
		CHECK(!has_fd);
	}
	CHECK(wmsg_check(&m, size, has_fd, err, sizeof(err)) == 0);
	CHECK(wmsg_check(&m, size - 1, has_fd, err, sizeof(err)) < 0);
	CHECK(wmsg_check(&m, size, !has_fd, err, sizeof(err)) < 0);
	return 0;
}
