/* main: the vgpu-extender daemon's entry point. Parses flags, sets up
 * logging and libcurl, and hands over to daemon.c. Signals are blocked here,
 * before any thread exists, so every thread inherits the mask and only
 * daemon_run's sigwait takes them: no handler runs in the middle of a
 * request. */
#include "vx/daemon.h"
#include "vx/kube.h"
#include "vx/log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	static struct vx_daemon d;
	char err[1024];
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	enum cfg_result r = cfg_parse(argc, argv, &d.cfg, err, sizeof err);
	if (r != CFG_OK) {
		if (r == CFG_ERROR)
			fprintf(stderr, "vgpu-extender: %s\n", err);
		cfg_free(&d.cfg);
		return r == CFG_EXIT ? 0 : 2;
	}
	vlog_set_level((enum vlog_level)d.cfg.log_level);
	log_info("vgpu-extender %s starting (node policy %s, GPU policy %s)", VX_VERSION,
		 d.cfg.node_policy == POLICY_SPREAD ? "spread" : "binpack",
		 d.cfg.gpu_policy == POLICY_BINPACK ? "binpack" : "spread");
	if (kube_global_init(err, sizeof err)) {
		fprintf(stderr, "vgpu-extender: %s\n", err);
		return 1;
	}
	int rc = daemon_run(&d, err, sizeof err);
	if (rc)
		log_error("%s", err);
	daemon_shutdown(&d);
	kube_global_cleanup();
	return rc;
}
