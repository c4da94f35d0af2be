/* The vscsi CLI: shared state of one invocation and the commands. */
#ifndef VSCSI_CLI_H
#define VSCSI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vscsifront.h"

/* sg3_utils-compatible exit codes (sg_lib.h SG_LIB_*). */
#define EX_OK 0
#define EX_SYNTAX 1
#define EX_FILE 15
#define EX_TIMEOUT 33
#define EX_OTHER 99

struct cli {
	/* Selection. */
	int vhost;                 /* -1: first */
	bool have_addr;
	struct vscsi_addr addr;
	unsigned timeout_ms;
	int verbose;
	bool json;
	/* Command options. */
	int vpd_page;              /* -1: standard INQUIRY */
	bool hex;
	bool rc16;
	int select_report;
	long in_len;               /* raw --in */
	const char *out_file;      /* raw --out (data to send), read -o */
	const char *in_file;       /* write --input */
	const char *outfile;       /* raw --outfile (data received) */
	uint64_t lba;
	long count;                /* blocks, -1: all / from file */
	long bs;                   /* block size, 0: from READ CAPACITY */
	int qd;                    /* commands in flight for read/write */
	int retries;               /* read/write: tries again per command */
	long first_sg;             /* run: first /dev/sgN */
	char **maps;               /* run: --map PATH=H:C:T:L */
	int nmaps;
	/* Positional arguments after the command. */
	char **args;
	int nargs;

	/* Opened on demand. */
	struct vscsi_host *host;
	unsigned devid;
};

/* Opens the selected vhost and fills c->addr if no LUN was named.
 * Returns EX_OK or an exit code (message printed). */
int cli_open(struct cli *c);
void cli_close(struct cli *c);
/* Exit code for a finished task, after printing its problem (what names
 * the command, e.g. "inquiry"). EX_OK when GOOD. */
int cli_task_result(struct cli *c, const struct vscsi_task *t, const char *what);

/* READ CAPACITY (16 if asked or needed): blocks and block size, printed
 * unless quiet. EX_OK or an exit code (message printed). */
int cli_read_capacity(struct cli *c, bool quiet, uint64_t *blocks, uint32_t *bs);
/* The whole file in a malloc'ed buffer, or NULL with errno set. */
uint8_t *cli_read_file(const char *path, size_t *len);

int cmd_list(struct cli *c);
int cmd_inq(struct cli *c);
int cmd_readcap(struct cli *c);
int cmd_tur(struct cli *c);
int cmd_luns(struct cli *c);
int cmd_raw(struct cli *c);
int cmd_read(struct cli *c);
int cmd_write(struct cli *c);
int cmd_run(struct cli *c);

#endif
