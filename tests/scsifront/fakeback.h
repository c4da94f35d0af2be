/* Test support: a tiny vscsiif backend that misbehaves on purpose, to see
 * how libvscsifront copes with a hostile or dead backend. It runs in a
 * child process as dom0, creates the vhost's xenstore nodes itself, maps
 * the ring and answers (or not) according to its mode. */
#ifndef VSCSI_TEST_FAKEBACK_H
#define VSCSI_TEST_FAKEBACK_H

#include <stdint.h>
#include <sys/types.h>

struct sfenv;

enum fakeback_mode {
	FB_GOOD,               /* answers GOOD, no data, residual = length */
	FB_UNKNOWN_RQID,       /* answers with an rqid that is not in flight */
	FB_RQID_OUT_OF_RANGE,  /* answers with rqid 40 */
	FB_RQID_16,            /* answers with rqid 16: one past the 16-slot ring */
	FB_DUPLICATE,          /* answers the first request twice */
	FB_SENSE_LEN_200,      /* CHECK CONDITION with sense_len 200 */
	FB_SENSE_LEN_97,       /* CHECK CONDITION with sense_len 97: one past the 96 bytes */
	FB_SENSE_LEN_96,       /* CHECK CONDITION with all 96 sense bytes (fakeback_sense96) */
	FB_PROD_AHEAD,         /* rsp_prod 100 ahead of what it produced */
	FB_RESIDUAL_HUGE,      /* residual larger than the transfer */
	FB_SWALLOW_ALL,        /* never answers anything */
	FB_SWALLOW_ABORT_OK,   /* swallows CDBs; ABORT answered SUCCESS */
	FB_SWALLOW_RESET_OK,   /* swallows CDBs; ABORT FAILED, RESET SUCCESS */
	FB_ABORT_THEN_ANSWER,  /* swallows CDBs; on ABORT answers the CDB, then the ABORT */
	FB_ECHO_TIMEOUT,       /* CHECK CONDITION, the request's timeout_per_command in
				* the sense INFORMATION field (bytes 3-6, VALID set) */
};

/* The 96 sense bytes FB_SENSE_LEN_96 sends: fixed format, ILLEGAL
 * REQUEST, additional length 88, every later byte distinct. */
void fakeback_sense96(uint8_t out[96]);

/* Creates vhost devid for the guest (one LUN 0:0:0, feature-sg-grant
 * 64) and starts the backend. Returns its pid or -1. */
pid_t fakeback_start(struct sfenv *e, unsigned devid, enum fakeback_mode mode);
/* Stops it and removes the vhost's nodes. */
void fakeback_stop(struct sfenv *e, unsigned devid, pid_t pid);

#endif
