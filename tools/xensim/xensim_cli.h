/* What the xensim CLI's command files share. */
#ifndef XENSIM_XENSIM_CLI_H
#define XENSIM_XENSIM_CLI_H

#include <stdint.h>

#include "sim_client.h"

/* Exit codes scripts can rely on. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NODAEMON = 3, EXIT_NODOMAIN = 4 };

/* Connects as domain 0, explaining on stderr why not. Returns the socket
 * or -errno. */
int connect_or_explain(void);
/* A zeroed message of op; exits when out of memory. */
struct sim_msg *msg_new(uint32_t op);
/* One request to the daemon; returns 0 or -errno (transport or reply). */
int call(int fd, struct sim_msg *req, struct sim_msg *rep);
/* All domains into rep (ascending domid). */
int list_domains(int fd, struct sim_msg *rep);
/* A domain given by id or name; -ENOENT when there is none. */
int resolve_domain(int fd, const char *arg);

/* xl's lifecycle commands (xensim_xl.c); argv[0] is the command. */
int cmd_xl_create(int argc, char **argv);
int cmd_xl_pause(int argc, char **argv, int pause);
int cmd_xl_shutdown(int argc, char **argv, int reboot);
int cmd_xl_save(int argc, char **argv);
int cmd_xl_restore(int argc, char **argv);
int cmd_xl_migrate(int argc, char **argv);

#endif
