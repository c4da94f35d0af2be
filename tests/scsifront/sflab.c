/* sflab: a manual lab for the frontend. Starts a private simulator with
 * scsiback and one guest, attaches the LUNs named on the command line
 * (PDEV=H:C:T:L), prints how to reach the guest, and waits until stdin
 * closes or a signal arrives; then cleans everything up.
 *
 *   build/tests/scsifront/sflab null:disk=0:0:0:0 null:disk=0:0:0:1 &
 *   # then, with the printed XENSIM_RUNDIR and GUEST:
 *   build/tools/xensim/xensim exec $GUEST -- build/scsifront/vscsi list
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfenv.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sfenv env;
	char buf[64];

	simenv_use_sim_libs(argc, argv);
	if (sfenv_start(&env, true) < 0) {
		fprintf(stderr, "sflab: cannot start the simulator or scsiback\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		char *eq = strrchr(argv[i], '=');

		if (!eq) {
			fprintf(stderr, "sflab: %s: expected PDEV=H:C:T:L\n", argv[i]);
			continue;
		}
		*eq = 0;
		if (sfenv_attach(&env, argv[i], eq + 1))
			fprintf(stderr, "sflab: attaching %s as %s failed\n", argv[i], eq + 1);
	}
	printf("export XENSIM_RUNDIR=%s GUEST=%d\n", env.sim.rundir, env.guest);
	printf("scsiback log: %s\n", env.logfile);
	fflush(stdout);
	{
		struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART */

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	while (!stop && read(0, buf, sizeof(buf)) > 0)
		;
	sfenv_stop(&env);
	return 0;
}
