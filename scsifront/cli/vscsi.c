/* vscsi: talk to the PV SCSI LUNs of this domain through libvscsifront.
 * One small tool with sg3_utils-like commands, output and exit codes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <scsi/sg_lib.h>

#include "cli.h"


static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vscsi [OPTIONS] COMMAND [ARGS]\n"
		"Talks to the Xen PV SCSI LUNs of this domain (device/vscsi/*) from userspace.\n\n"
		"Commands:\n"
		"  list                 list the LUNs of every vhost (lsscsi-like; --json)\n"
		"  inq                  INQUIRY: standard data, or a VPD page with --page\n"
		"  readcap              READ CAPACITY (10, or 16 with --long or when needed)\n"
		"  tur                  TEST UNIT READY (silent; the exit code tells)\n"
		"  luns                 REPORT LUNS\n"
		"  raw CDB...           any command, CDB as hex bytes (sg_raw-like)\n"
		"  read                 read blocks --lba/--count to --output (or stdout)\n"
		"  write                write blocks from --input at --lba\n"
		"  run -- CMD [ARGS]    run CMD with ld_vscsi.so: virtual /dev/sgN nodes for\n"
		"                       the LUNs, so sg3_utils, mtx, tapeinfo... work unmodified\n\n"
		"Selecting a LUN:\n"
		"  -d, --device ADDR    H:C:T:L (H = vhost) or C:T:L; default: the first LUN\n"
		"  -H, --vhost N        the vhost (xenstore devid); default: the first\n\n"
		"Options:\n"
		"  -t, --timeout SECS   per-command timeout (default 30; 0: the library's)\n"
		"  -j, --json           list: JSON output\n"
		"  -p, --page PG        inq: VPD page (number, 0x.., or sv, sn, di, ei, sp, bl, bdc, lbpv)\n"
		"  -x, --hex            inq/luns/readcap: also dump the response in hex\n"
		"  -l, --long           readcap: use READ CAPACITY(16)\n"
		"  -s, --select N       luns: SELECT REPORT field (default 0)\n"
		"      --in LEN         raw: read LEN bytes from the device\n"
		"      --out FILE       raw: send the contents of FILE to the device\n"
		"  -o, --output FILE    raw/read: write the data received to FILE\n"
		"  -i, --input FILE     write: the data to write\n"
		"      --lba N          read/write: first block (default 0)\n"
		"  -n, --count N        read/write: number of blocks (write: default the\n"
		"                       whole input; read: default 1)\n"
		"  -b, --bs N           block size (default: from READ CAPACITY)\n"
		"  -q, --qd N           read/write: commands in flight (default 8)\n"
		"      --retries N      read/write: tries again per command after a transient\n"
		"                       failure (transport lost, reset, busy; default 5)\n"
		"      --map PATH=ADDR  run: map a virtual sg node to H:C:T:L (repeatable);\n"
		"                       default: /dev/sgN.. for every LUN, in order\n"
		"      --first-sg N     run: the first N of /dev/sgN (default 100)\n"
		"  -v, --verbose        more messages (repeat for library debug output)\n"
		"  -h, --help           show this help\n"
		"  -V, --version        show the version\n\n"
		"Exit status: 0 success; 1 syntax error; 2 not ready; 3 medium or hardware\n"
		"error; 5 illegal request; 6 unit attention; 15 no such vhost / LUN or file\n"
		"error; 33 timeout; 99 other error (sg3_utils conventions).\n");
}

static int parse_long(const char *s, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

static int parse_page(const char *s)
{
	static const struct {
		const char *name;
		int page;
	} names[] = { { "sv", 0x00 }, { "sn", 0x80 }, { "di", 0x83 }, { "ei", 0x86 },
		      { "sp", 0x88 }, { "bl", 0xb0 }, { "bdc", 0xb1 }, { "lbpv", 0xb2 } };
	long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].page;
	if (parse_long(s, &v) < 0 || v > 255)
		return -1;
	return (int)v;
}

int main(int argc, char **argv)
{
	enum { O_IN = 256, O_OUT, O_LBA, O_MAP, O_FIRST_SG, O_RETRIES };
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "vhost", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "page", required_argument, NULL, 'p' },
		{ "hex", no_argument, NULL, 'x' },
		{ "long", no_argument, NULL, 'l' },
		{ "select", required_argument, NULL, 's' },
		{ "in", required_argument, NULL, O_IN },
		{ "out", required_argument, NULL, O_OUT },
		{ "output", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'i' },
		{ "lba", required_argument, NULL, O_LBA },
		{ "count", required_argument, NULL, 'n' },
		{ "bs", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' },
		{ "retries", required_argument, NULL, O_RETRIES },
		{ "map", required_argument, NULL, O_MAP },
		{ "first-sg", required_argument, NULL, O_FIRST_SG },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c = { .vhost = -1, .timeout_ms = 30000, .vpd_page = -1, .in_len = -1,
			 .count = -1, .qd = 8, .retries = 5, .first_sg = 100 };
	const char *cmd;
	long v;
	int o, rc;

	c.maps = calloc((size_t)argc + 1, sizeof(char *));
	while ((o = getopt_long(argc, argv, "d:H:t:jp:xls:o:i:n:b:q:vhV", opts, NULL)) != -1) {
		switch (o) {
		case 'd': {
			int hst;

			if (vscsi_parse_addr(optarg, &hst, &c.addr) < 0) {
				fprintf(stderr, "vscsi: --device %s: expected H:C:T:L or C:T:L\n", optarg);
				return EX_SYNTAX;
			}
			c.have_addr = true;
			if (hst >= 0)
				c.vhost = hst;
			break;
		}
		case 'H':
			if (parse_long(optarg, &v) < 0 || v > 0x7fffffff) {
				fprintf(stderr, "vscsi: --vhost %s: not a number\n", optarg);
				return EX_SYNTAX;
			}
			c.vhost = (int)v;
			break;
		case 't':
			if (parse_long(optarg, &v) < 0 || v > 4000000) {
				fprintf(stderr, "vscsi: --timeout %s: seconds expected\n", optarg);
				return EX_SYNTAX;
			}
			c.timeout_ms = (unsigned)v * 1000u;
			break;
		case 'j': c.json = true; break;
		case 'p':
			c.vpd_page = parse_page(optarg);
			if (c.vpd_page < 0) {
				fprintf(stderr, "vscsi: --page %s: unknown VPD page\n", optarg);
				return EX_SYNTAX;
			}
			break;
		case 'x': c.hex = true; break;
		case 'l': c.rc16 = true; break;
		case 's':
			if (parse_long(optarg, &v) < 0 || v > 255) {
				fprintf(stderr, "vscsi: --select %s: 0..255 expected\n", optarg);
				return EX_SYNTAX;
			}
			c.select_report = (int)v;
			break;
		case O_IN:
			if (parse_long(optarg, &c.in_len) < 0) {
				fprintf(stderr, "vscsi: --in %s: a length in bytes expected\n", optarg);
				return EX_SYNTAX;
			}
			break;
		case O_OUT: c.out_file = optarg; break;
		case 'o': c.outfile = optarg; break;
		case 'i': c.in_file = optarg; break;
		case O_LBA:
			if (parse_long(optarg, &v) < 0) {
				fprintf(stderr, "vscsi: --lba %s: a block number expected\n", optarg);
				return EX_SYNTAX;
			}
			c.lba = (uint64_t)v;
			break;
		case 'n':
			if (parse_long(optarg, &c.count) < 0) {
				fprintf(stderr, "vscsi: --count %s: a number of blocks expected\n", optarg);
				return EX_SYNTAX;
			}
			break;
		case 'b':
			if (parse_long(optarg, &c.bs) < 0 || c.bs < 1 || c.bs > 1048576) {
				fprintf(stderr, "vscsi: --bs %s: 1..1048576 expected\n", optarg);
				return EX_SYNTAX;
			}
			break;
		case 'q':
			if (parse_long(optarg, &v) < 0 || v < 1 || v > 1024) {
				fprintf(stderr, "vscsi: --qd %s: 1..1024 expected\n", optarg);
				return EX_SYNTAX;
			}
			c.qd = (int)v;
			break;
		case O_RETRIES:
			if (parse_long(optarg, &v) < 0 || v > 100) {
				fprintf(stderr, "vscsi: --retries %s: 0..100 expected\n", optarg);
				return EX_SYNTAX;
			}
			c.retries = (int)v;
			break;
		case O_MAP: c.maps[c.nmaps++] = optarg; break;
		case O_FIRST_SG:
			if (parse_long(optarg, &c.first_sg) < 0 || c.first_sg > 100000) {
				fprintf(stderr, "vscsi: --first-sg %s: a number expected\n", optarg);
				return EX_SYNTAX;
			}
			break;
		case 'v': c.verbose++; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("vscsi %s\n", VSCSI_VERSION); return EX_OK;
		default: usage(stderr); return EX_SYNTAX;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_SYNTAX;
	}
	if (c.verbose >= 2)
		vscsi_set_log(NULL, VSCSI_LOG_DEBUG, NULL);
	else if (c.verbose == 1)
		vscsi_set_log(NULL, VSCSI_LOG_WARN, NULL);
	cmd = argv[optind];
	c.args = argv + optind + 1;
	c.nargs = argc - optind - 1;
	if (!strcmp(cmd, "list"))
		rc = cmd_list(&c);
	else if (!strcmp(cmd, "inq") || !strcmp(cmd, "inquiry"))
		rc = cmd_inq(&c);
	else if (!strcmp(cmd, "readcap"))
		rc = cmd_readcap(&c);
	else if (!strcmp(cmd, "tur"))
		rc = cmd_tur(&c);
	else if (!strcmp(cmd, "luns"))
		rc = cmd_luns(&c);
	else if (!strcmp(cmd, "raw"))
		rc = cmd_raw(&c);
	else if (!strcmp(cmd, "read"))
		rc = cmd_read(&c);
	else if (!strcmp(cmd, "write"))
		rc = cmd_write(&c);
	else if (!strcmp(cmd, "run"))
		rc = cmd_run(&c);
	else {
		fprintf(stderr, "vscsi: unknown command \"%s\" (see vscsi --help)\n", cmd);
		rc = EX_SYNTAX;
	}
	cli_close(&c);
	free(c.maps);
	return rc;
}
