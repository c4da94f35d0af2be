/* libFuzzer target for the simulated xenstored's request handling.
 *
 * The input is a list of chunks, each for one of four clients (domain 0,
 * two connections of guest 1, guest 2):
 *   sel:u8  bit 0-1 client, bit 7 raw mode, bit 6 reconnect the client
 *           first, bit 5 release/re-introduce guest 2 first
 *   raw mode:   len:u8, then len bytes fed to the framing layer as they
 *               would arrive from a socket
 *   request:    type:u8 tx:u8 len:u16le, then len bytes of payload (at
 *               most XENSTORE_PAYLOAD_MAX), handed over as one message
 * A guest's domain is introduced when one of its clients first speaks
 * (a connection follows its domain's introduction; inputs that need no
 * guest run faster).
 *
 * Beyond "no crash, no sanitizer report": every reply and event fits the
 * wire limits, errors and events are NUL-terminated, and a request handed
 * over whole gets exactly one answer, to its own client, with its
 * req_id and tx_id (of its own type, or XS_ERROR). Build and run with
 * `make fuzz`. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xs_proto.h"

#define NCLIENTS 4

static const unsigned client_domid[NCLIENTS] = { 0, 1, 1, 2 };

/* Read every byte of what is sent, so the sanitizers check the buffer. */
volatile unsigned fuzz_sink;

/* The request being handled (request mode), and its answers so far. */
static struct {
	const struct xs_client *c;
	struct xsd_sockmsg hdr;
	unsigned answers;
} cur;

static void fuzz_send(struct xs_client *c, const struct xsd_sockmsg *hdr,
		      const void *body)
{
	const unsigned char *b = body;
	unsigned sum = 0;

	if (cur.c && hdr->type != XS_WATCH_EVENT) {
		/* Only the requester is answered, once, in kind. */
		if (c != cur.c || hdr->req_id != cur.hdr.req_id || hdr->tx_id != cur.hdr.tx_id ||
		    (hdr->type != cur.hdr.type && hdr->type != XS_ERROR) || cur.answers++)
			abort();
	}
	if (hdr->len > XENSTORE_PAYLOAD_MAX)
		abort();
	if (hdr->type != XS_WATCH_EVENT && hdr->type != XS_ERROR &&
	    hdr->type >= XS_TYPE_COUNT)
		abort();
	for (unsigned i = 0; i < hdr->len; i++)
		sum += b[i];
	fuzz_sink = sum;
	/* Errors and events are NUL-terminated strings. */
	if ((hdr->type == XS_ERROR || hdr->type == XS_WATCH_EVENT) &&
	    (!hdr->len || b[hdr->len - 1] != '\0'))
		abort();
}

static void client_reset(struct xs_client *c, struct xs_proto *p, unsigned i)
{
	xs_client_fini(c);
	xs_client_init(c, p, client_domid[i], fuzz_send, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "Domain-0", "guest1", "guest2" };
	static struct xs_client clients[NCLIENTS];
	struct xs_proto *p = xs_proto_new();
	bool known[3] = { true, false, false };
	size_t off = 0;

	if (!p)
		return 0;
	xs_proto_domain_introduce(p, 0, names[0]);
	for (unsigned i = 0; i < NCLIENTS; i++)
		xs_client_init(&clients[i], p, client_domid[i], fuzz_send, NULL);

	while (off < size) {
		uint8_t sel = data[off++];
		unsigned ci = sel & 3;
		struct xs_client *c = &clients[ci];

		if (!known[client_domid[ci]]) {
			xs_proto_domain_introduce(p, client_domid[ci], names[client_domid[ci]]);
			known[client_domid[ci]] = true;
		}
		if (sel & 0x40)
			client_reset(c, p, ci);
		if (sel & 0x20) {
			if (xs_proto_domain_release(p, 2) == -ENOENT)
				xs_proto_domain_introduce(p, 2, names[2]);
			known[2] = true;
		}
		if (sel & 0x80) {
			size_t len;

			if (off >= size)
				break;
			len = data[off++];
			if (len > size - off)
				len = size - off;
			if (xs_client_feed(c, data + off, len) < 0)
				client_reset(c, p, ci);
			off += len;
		} else {
			struct xsd_sockmsg hdr = { 0 };
			size_t len;
			char *body;

			if (size - off < 4)
				break;
			hdr.type = data[off];
			hdr.tx_id = data[off + 1];
			len = (size_t)data[off + 2] | (size_t)data[off + 3] << 8;
			off += 4;
			if (len > XENSTORE_PAYLOAD_MAX)
				len = XENSTORE_PAYLOAD_MAX;
			if (len > size - off)
				len = size - off;
			hdr.len = (uint32_t)len;
			hdr.req_id = (uint32_t)off;
			/* Its own buffer, so reads past len are caught. */
			body = malloc(len ? len : 1);
			if (body) {
				memcpy(body, data + off, len);
				cur.c = c;
				cur.hdr = hdr;
				cur.answers = 0;
				xs_proto_request(c, &hdr, body);
				if (cur.answers != 1)
					abort();
				cur.c = NULL;
				free(body);
			}
			off += len;
		}
	}

	for (unsigned i = 0; i < NCLIENTS; i++)
		xs_client_fini(&clients[i]);
	xs_proto_free(p);
	return 0;
}
