/* Unit tests of scsiback's pure parts: request validation, the emulated
 * answers, CDB policies and the config file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "emulate.h"
#include "policy.h"
#include "request.h"

static vscsiif_request_t good_read(unsigned pages)
{
	vscsiif_request_t r;

	memset(&r, 0, sizeof(r));
	r.rqid = 5;
	r.act = VSCSIIF_ACT_SCSI_CDB;
	r.cmd_len = 10;
	r.cmnd[0] = 0x28;
	r.sc_data_direction = 2;
	r.channel = 0;
	r.id = 1;
	r.lun = 2;
	r.nr_segments = (uint8_t)pages;
	for (unsigned i = 0; i < pages; i++) {
		r.seg[i].gref = 100 + i;
		r.seg[i].length = 4096;
	}
	return r;
}

static void test_valid_direct(void **state)
{
	vscsiif_request_t r = good_read(3);
	struct vscsi_req q;

	(void)state;
	r.seg[2].offset = 512;
	r.seg[2].length = 1024;
	r.timeout_per_command = 45;
	assert_int_equal(request_parse(&r, 256, &q), REQ_OK);
	assert_int_equal(q.data_len, 4096 * 2 + 1024);
	assert_int_equal(q.timeout_s, 45);        /* the guest's, in seconds */
	assert_int_equal(q.nr_seg, 3);
	assert_int_equal(q.cdb_len, 10);
	assert_int_equal(q.id, 1);
	assert_int_equal(q.lun, 2);
	/* data_len is the sum of this request alone, not of earlier ones. */
	assert_int_equal(request_parse(&r, 256, &q), REQ_OK);
	assert_int_equal(q.data_len, 4096 * 2 + 1024);
}

static void test_each_bad_field(void **state)
{
	struct vscsi_req q;
	vscsiif_request_t r;

	(void)state;
	r = good_read(1); r.act = 0;
	assert_int_equal(request_parse(&r, 256, &q), REQ_BAD_ACT);
	r = good_read(1); r.act = VSCSIIF_ACT_SCSI_SG_PRESET;
	assert_int_equal(request_parse(&r, 256, &q), REQ_BAD_ACT);
	r = good_read(1); r.cmd_len = 0;
	assert_int_equal(request_parse(&r, 256, &q), REQ_BAD_CDB_LEN);
	r = good_read(1); r.cmd_len = 17;
	assert_int_equal(request_parse(&r, 256, &q), REQ_BAD_CDB_LEN);
	r = good_read(1); r.sc_data_direction = 4;
	assert_int_equal(request_parse(&r, 256, &q), REQ_BAD_DIRECTION);
	r = good_read(1); r.nr_segments = 27;
	assert_int_equal(request_parse(&r, 256, &q), REQ_TOO_MANY_SEGMENTS);
	r = good_read(1); r.seg[0].offset = 4096; r.seg[0].length = 0;
	assert_int_equal(request_parse(&r, 256, &q), REQ_BAD_SEGMENT);
	r = good_read(1); r.seg[0].offset = 1; r.seg[0].length = 4096;
	assert_int_equal(request_parse(&r, 256, &q), REQ_BAD_SEGMENT);
	r = good_read(1); r.sc_data_direction = 3;
	assert_int_equal(request_parse(&r, 256, &q), REQ_DATA_WITHOUT_DIRECTION);
	r = good_read(20);
	assert_int_equal(request_parse(&r, 16, &q), REQ_TOO_MANY_SEGMENTS);
	/* ABORT and RESET need no CDB. */
	r = good_read(0); r.act = VSCSIIF_ACT_SCSI_ABORT; r.cmd_len = 0; r.ref_rqid = 3;
	assert_int_equal(request_parse(&r, 256, &q), REQ_OK);
	assert_int_equal(q.ref_rqid, 3);
}

static void test_indirect(void **state)
{
	vscsiif_request_t r = good_read(0);
	struct scsiif_request_segment table[300];
	struct vscsi_req q;
	uint32_t len;

	(void)state;
	r.nr_segments = VSCSIIF_SG_GRANT | 2;
	r.seg[0] = (vscsiif_segment_t){ .gref = 9, .offset = 0, .length = 4096 };
	r.seg[1] = (vscsiif_segment_t){ .gref = 10, .offset = 0, .length = 80 };
	assert_int_equal(request_parse(&r, 1024, &q), REQ_OK);
	assert_true(q.indirect);
	/* 512 + 10 entries is more than 256. */
	assert_int_equal(request_parse(&r, 256, &q), REQ_TOO_MANY_SEGMENTS);
	r.seg[1].length = 81;
	assert_int_equal(request_parse(&r, 1024, &q), REQ_BAD_INDIRECT_CHUNK);
	r.seg[1].length = 80;
	r.seg[1].offset = 4090;
	assert_int_equal(request_parse(&r, 1024, &q), REQ_BAD_INDIRECT_CHUNK);

	for (int i = 0; i < 300; i++)
		table[i] = (struct scsiif_request_segment){ .gref = (grant_ref_t)i, .offset = 0, .length = 4096 };
	assert_int_equal(request_check_table(table, 256, 256, &len), REQ_OK);
	assert_int_equal(len, 256 * 4096);
	assert_int_equal(request_check_table(table, 257, 256, &len), REQ_TOO_MANY_SEGMENTS);
	table[7].offset = 100;
	assert_int_equal(request_check_table(table, 10, 256, &len), REQ_BAD_SEGMENT);
}

static void test_report_luns_emulation(void **state)
{
	uint8_t cdb[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0 };
	uint16_t luns[3] = { 0, 7, 300 };
	struct emu_result r;

	(void)state;
	emulate_report_luns(cdb, luns, 3, &r);
	assert_int_equal(r.status, SCSI_STATUS_GOOD);
	assert_int_equal(r.data[3], 24);       /* list length: 3 x 8 */
	assert_int_equal(r.data_len, 16);      /* cut to the allocation length */
	assert_int_equal(r.data[9], 0);
	cdb[9] = 0xff;
	emulate_report_luns(cdb, luns, 3, &r);
	assert_int_equal(r.data_len, 32);
	assert_int_equal(r.data[17], 7);
	assert_int_equal(r.data[24], 0x40 | 1); /* 300: flat space addressing */
	assert_int_equal(r.data[25], 300 & 0xff);
	cdb[9] = 8;                            /* below the SPC minimum of 16 */
	emulate_report_luns(cdb, luns, 3, &r);
	assert_int_equal(r.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(r.sense[2], 5);
	assert_int_equal(r.sense[12], 0x24);
}

/* Each LUN of the emulated list as sg3_utils decodes it (sg_luns --test:
 * the SAM addressing methods), from peripheral through flat space to
 * extended flat space (LUNs 16384 and up, which 14 bits cannot hold). */
static void test_report_luns_every_address_method(void **state)
{
	static const uint16_t luns[] = { 0, 255, 256, 300, 16383, 16384, 40000, 65535 };
	uint8_t cdb[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0 };
	const unsigned n = sizeof(luns) / sizeof(luns[0]);
	struct emu_result r;

	(void)state;
	emulate_report_luns(cdb, luns, n, &r);
	assert_int_equal(r.status, SCSI_STATUS_GOOD);
	assert_int_equal(r.data_len, 8 + 8 * n);
	for (unsigned i = 0; i < n; i++) {
		char cmd[128], out[512], want[64];
		char *p = cmd + snprintf(cmd, sizeof(cmd), "sg_luns --test=");
		size_t got;
		FILE *f;

		for (unsigned k = 0; k < 8; k++)
			p += sprintf(p, "%02x", r.data[8 + 8 * i + k]);
		f = popen(cmd, "r");
		assert_non_null(f);
		got = fread(out, 1, sizeof(out) - 1, f);
		out[got] = 0;
		assert_int_equal(pclose(f), 0);
		snprintf(want, sizeof(want), "lun=%u\n", luns[i]);
		if (!strstr(out, want))
			fail_msg("LUN %u encoded as %s: sg_luns says %s", luns[i], cmd + 15, out);
		if (luns[i] < 256 && !strstr(out, "Peripheral device addressing"))
			fail_msg("LUN %u: %s", luns[i], out);
		if (luns[i] >= 256 && luns[i] < 16384 && !strstr(out, "Flat space addressing"))
			fail_msg("LUN %u: %s", luns[i], out);
		if (luns[i] >= 16384 && !strstr(out, "Extended flat space addressing"))
			fail_msg("LUN %u: %s", luns[i], out);
	}
}

static void test_policy(void **state)
{
	struct policy p = { .mode = POLICY_DENY_LIST };
	char err[128];

	(void)state;
	assert_int_equal(policy_set_opcodes(&p, "0x3b, 0x04 160", err, sizeof(err)), 0);
	assert_false(policy_allows(&p, 0x3b));
	assert_false(policy_allows(&p, 0x04));
	assert_false(policy_allows(&p, 0xa0));
	assert_true(policy_allows(&p, 0x28));
	p.mode = POLICY_ALLOW_LIST;
	assert_true(policy_allows(&p, 0x3b));
	assert_false(policy_allows(&p, 0x28));
	assert_true(policy_allows(NULL, 0x3b));
	assert_int_equal(policy_set_opcodes(&p, "0x3b 0x100", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0x100"));
	assert_int_equal(policy_mode_parse("deny-list"), POLICY_DENY_LIST);
	assert_int_equal(policy_mode_parse("deny"), -1);
}

/* A long token is one number (fuzz_config found "000...0001", 34
 * characters, read as the opcodes 0 and 1: cut at 31 into two tokens). */
static void test_policy_long_tokens(void **state)
{
	struct policy p = { .mode = POLICY_DENY_LIST };
	char err[128];

	(void)state;
	assert_int_equal(policy_set_opcodes(&p, "0000000000000000000000000000000001", err,
					    sizeof(err)), 0);
	assert_false(policy_allows(&p, 0x01));
	assert_true(policy_allows(&p, 0x00));
	assert_int_equal(policy_set_opcodes(&p, "0x000000000000000000000000000000000000003b,0x04", err,
					    sizeof(err)), 0);
	assert_false(policy_allows(&p, 0x3b));
	assert_false(policy_allows(&p, 0x04));
	assert_true(policy_allows(&p, 0x00));
	assert_int_equal(policy_set_opcodes(&p, "0x0000000000000000000000000000000000000100", err,
					    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "...\" is not an opcode"));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_config(void **state)
{
	char path[] = "/tmp/scsiback-conf-XXXXXX", err[512];
	struct scsiback_config cfg;
	struct lun_config lc;
	const struct policy *pol;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "[scsiback]\nlog-level = debug\ninitiator-name = iqn.2026-11.t:me\n"
			 "[iscsi iqn.2026-11.t:disk]\nchap-user = alice\nchap-password = s3cret\n"
			 "[policy safe]\nmode = deny-list\nopcodes = 0x3b\n"
			 "[lun iscsi://h/iqn.2026-11.t:disk/1]\npolicy = safe\ntimeout = 90\n");
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	config_lun_settings(&cfg, "iscsi://h/iqn.2026-11.t:disk/1", &lc, &pol);
	assert_non_null(pol);
	assert_false(policy_allows(pol, 0x3b));
	assert_string_equal(lc.chap_user, "alice");
	assert_string_equal(lc.chap_password, "s3cret");
	assert_string_equal(lc.initiator_iqn, "iqn.2026-11.t:me");
	assert_int_equal(lc.default_timeout_ms, 90000);
	/* A target whose IQN only starts the same gets no credentials. */
	config_lun_settings(&cfg, "iscsi://h/iqn.2026-11.t:disk2/1", &lc, &pol);
	assert_null(lc.chap_user);
	assert_null(pol);
	config_free(&cfg);

	write_file(path, "[lun null:disk]\npolicy = missing\n");
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "missing"));
	config_free(&cfg);
	write_file(path, "[policy p]\nmode = sometimes\n");
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":2:"));
	config_free(&cfg);
	write_file(path, "[frobnicate]\nx = 1\n");
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	config_free(&cfg);
	unlink(path);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -ENOENT);
	config_free(&cfg);
}

/* Each config error names file:line: a timeout that is negative, not a
 * number or past a week (4294968 s once wrapped to 704 ms), a policy
 * never defined, CHAP half given. The largest timeout reaches the LUN in
 * milliseconds unwrapped. */
static void test_config_errors_name_their_line(void **state)
{
	static const struct { const char *text, *line, *says; } bad[] = {
		{ "[lun null:disk]\ntimeout = -5\n", ":2:", "timeout \"-5\"" },
		/* iSCSI names (issue 18): upper case, and a prefix no UUID fits */
		{ "[scsiback]\ninitiator-name = iqn.2026-11.Org.x:me\n", ":2:", "character 'O'" },
		{ "[scsiback]\n\nguest-initiator-prefix = node1\n", ":3:",
		  "guest-initiator-prefix \"node1\": want \"off\"" },
		{ "[lun null:disk]\n\ntimeout = 4294968\n", ":3:", "timeout \"4294968\"" },
		{ "[lun null:disk]\ntimeout = 604801\n", ":2:", "604800" },
		{ "[lun null:disk]\ntimeout = 1m\n", ":2:", "whole seconds" },
		{ "[lun null:disk]\ntimeout =\n", ":2:", "timeout" },
		{ "; a comment\n[lun null:disk]\ntimeout = 5\npolicy = missing\n", ":4:",
		  "policy \"missing\", which is not defined" },
		{ "[iscsi iqn.2026-11.t:disk]\n\nchap-user = alice\n", ":3:",
		  "chap-user without chap-password" },
		{ "[iscsi iqn.2026-11.t:disk]\nchap-password = s3cret\n", ":2:",
		  "chap-password without chap-user" },
		{ "[scsiback]\npersistent-grants = maybe\n", ":2:",
		  "persistent-grants \"maybe\": want yes or no" },
		/* the first error's message with the first error's line */
		{ "[policy p]\nmode = sometimes\n[lun null:disk]\nfrob = 1\n", ":2:",
		  "mode \"sometimes\"" },
	};
	char path[] = "/tmp/scsiback-conf-XXXXXX", err[512];
	struct scsiback_config cfg;
	struct lun_config lc;
	const struct policy *pol;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i].text);
		assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
		if (strncmp(err, path, strlen(path)) || !strstr(err, bad[i].line) ||
		    !strstr(err, bad[i].says))
			fail_msg("config %u: \"%s\": want %s%s and \"%s\"", i, err, path, bad[i].line,
				 bad[i].says);
		config_free(&cfg);
	}
	write_file(path, "[lun null:disk]\ntimeout = 604800\n[lun null:tape]\ntimeout = 0\n");
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	config_lun_settings(&cfg, "null:disk", &lc, &pol);
	assert_int_equal(lc.default_timeout_ms, 604800000u);
	config_lun_settings(&cfg, "null:tape", &lc, &pol);
	assert_int_equal(lc.default_timeout_ms, 0);
	assert_true(cfg.persistent_grants);   /* offered unless turned off */
	config_free(&cfg);
	write_file(path, "[scsiback]\npersistent-grants = no\n");
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_false(cfg.persistent_grants);
	config_free(&cfg);
	unlink(path);
}

/* Section names as long as p-devs and IQNs get: scsiback(8)'s own example
 * (50 characters, one more than inih keeps) and a 255-character p-dev
 * are matched whole; a longer one is refused, naming the line. */
static void test_config_long_names(void **state)
{
	static const char example[] = "iscsi://192.0.2.10/iqn.2026-11.org.example:disk/1";
	char path[] = "/tmp/scsiback-conf-XXXXXX", err[512], text[1024], longest[256];
	struct scsiback_config cfg;
	struct lun_config lc;
	const struct policy *pol;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	memset(longest, 'x', 255);
	memcpy(longest, "/dev/disk/by-path/", 18);
	longest[255] = 0;
	snprintf(text, sizeof(text),
		 "\xef\xbb\xbf[iscsi iqn.2026-11.org.example.storage:a-rather-long-target-name]\n"
		 "chap-user = bob\nchap-password = pw\n"
		 "  [lun %s]   ; the example of scsiback(8)\ntimeout = 120\n"
		 "[lun %s]\ntimeout = 30\n", example, longest);
	write_file(path, text);
	if (config_load(path, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	config_lun_settings(&cfg, example, &lc, &pol);
	assert_int_equal(lc.default_timeout_ms, 120000);
	config_lun_settings(&cfg, longest, &lc, &pol);
	assert_int_equal(lc.default_timeout_ms, 30000);
	config_lun_settings(&cfg, "iscsi://h/iqn.2026-11.org.example.storage:a-rather-long-target-name/0",
			    &lc, &pol);
	assert_string_equal(lc.chap_user, "bob");
	config_free(&cfg);

	snprintf(text, sizeof(text), "[scsiback]\nlog-level = info\n[lun %sy]\ntimeout = 1\n", longest);
	write_file(path, text);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":4:"));
	assert_non_null(strstr(err, "longer than 255"));
	config_free(&cfg);
	/* an error still names the line and the section in full */
	write_file(path, "[scsiback]\n\n[lun iscsi://192.0.2.10/iqn.2026-11.org.example:disk/1]\n"
			 "frob = 1\n");
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":4: [lun iscsi://192.0.2.10/iqn.2026-11.org.example:disk/1]: "
				    "unknown setting \"frob\""));
	config_free(&cfg);
	unlink(path);
}

/* Nothing of the file is cut or read as something else; what inih would
 * not read whole is refused, naming the line (found by fuzz_config). */
static void test_config_nothing_cut(void **state)
{
	static const struct { const char *line, *says; } bad[] = {
		/* two "[policy]" of 64 characters cut to one name: the deny
		 * list in one entry, allow-all in the other, and the [lun]
		 * got the allow-all one */
		{ ":2:", "name longer than 63 characters" },
		{ ":3:", "[lun null:disk] policy: longer than 63 characters" },
		{ ":2:", "chap-password: longer than 127 characters" },
		{ ":2:", "name longer than 223 characters" },
		{ ":2:", "[lun null:disk null:tape]: one name after \"lun\", not two" },
		/* the rest of a long line read as a setting of its own */
		{ ":3:", "line longer than 198 characters" },
		{ ":2:", "a NUL byte" },
		/* an indented "[" line with no "]": inih took it as the
		 * user's continuation, and the password after it went to
		 * [iscsi] with no line to name (fuzz_config) */
		{ ":4:", "a section header without its \"]\"" },
		{ ":2:", "a section header without its \"]\"" },
	};
	char path[] = "/tmp/scsiback-conf-XXXXXX", err[512], text[1024], name[300];
	struct scsiback_config cfg;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(name, 'p', sizeof(name));
		switch (i) {
		case 0:
			snprintf(text, sizeof(text), "[policy %.64s]\nmode = deny-list\nopcodes = 0x3b\n"
				 "[lun null:disk]\npolicy = %.64s\n", name, name);
			break;
		case 1:
			snprintf(text, sizeof(text), "[policy %.63s]\n[lun null:disk]\npolicy = %.64s\n",
				 name, name);
			break;
		case 2:
			snprintf(text, sizeof(text), "[iscsi iqn.x:y]\nchap-password = %.128s\n"
				 "chap-user = u\n", name);
			break;
		case 3:
			snprintf(text, sizeof(text), "[iscsi iqn.%.220s]\nchap-user = u\n", name);
			break;
		case 4:
			snprintf(text, sizeof(text), "[lun null:disk null:tape]\ntimeout = 5\n");
			break;
		case 5:
			snprintf(text, sizeof(text), "[scsiback]\n; a comment\ninitiator-name = "
				 "iqn.%.190s state-dir = /tmp\n", name);
			break;
		case 7:
			snprintf(text, sizeof(text), "[iscsi iqn.x:y]\nchap-user = u\n\n  [lun /dev/sg2\n"
				 "chap-password = p\n");
			break;
		case 8:
			snprintf(text, sizeof(text), "[scsiback]\n[lun null:disk ;x]\ntimeout = 5\n");
			break;
		}
		f = fopen(path, "w");
		assert_non_null(f);
		if (i == 6)
			fwrite("[scsiback]\nlog-level = info\0\n", 1, 30, f);
		else
			fputs(text, f);
		fclose(f);
		assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
		if (strncmp(err, path, strlen(path)) || !strstr(err, bad[i].line) ||
		    !strstr(err, bad[i].says))
			fail_msg("config %u: \"%s\": want %s%s and \"%s\"", i, err, path, bad[i].line,
				 bad[i].says);
		config_free(&cfg);
	}
	/* The longest of each loads whole; a form feed before "=" (inih's
	 * blank) still lets an error name the setting's line. */
	memset(name, 'p', sizeof(name));
	snprintf(text, sizeof(text), "[policy %.63s]\nmode = deny-list\n[lun null:disk]\n"
		 "policy = %.63s\n[iscsi iqn.%.180s]\nchap-user = u\nchap-password = %.127s\n",
		 name, name, name, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	if (config_load(path, &cfg, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(cfg.n_policies, 1);
	assert_int_equal(strlen(cfg.luns[0].policy), 63);
	assert_int_equal(strlen(cfg.iscsi[0].password), 127);
	config_free(&cfg);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[iscsi iqn.x:y]\n\nchap-user\f= u\n", f);
	fclose(f);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":3: [iscsi iqn.x:y] chap-user without chap-password"));
	config_free(&cfg);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_direct),
		cmocka_unit_test(test_each_bad_field),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_report_luns_emulation),
		cmocka_unit_test(test_report_luns_every_address_method),
		cmocka_unit_test(test_config_errors_name_their_line),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_long_tokens),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_long_names),
		cmocka_unit_test(test_config_nothing_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
