/* config: daemon flags and the YAML config file (SPEC section 1). Each flag
 * is also a camelCase key of the file; a flag given on the command line wins.
 * Errors name the flag, or the file, line and key. */
#ifndef VX_CONFIG_H
#define VX_CONFIG_H

#include "vx/license.h"
#include "vx/queue.h"
#include "vx/request.h"

#include <stdbool.h>
#include <stddef.h>

struct vx_config {
	char *config_file;
	char *listen;
	char *tls_cert, *tls_key;
	char *kubeconfig;
	bool dev;
	char *cluster;
	char *state_dir;
	enum vx_policy node_policy, gpu_policy;
	int log_level;
	int threads; /* HTTP worker threads (extension) */
	bool leader_elect;
	int lease_seconds;
	int stale_lock_seconds;
	char *lease_namespace;
	int bind_workers;              /* threads making binds' API calls */
	int max_binds_in_flight;       /* beyond: a bind fails at once */
	int bind_wait_seconds;         /* longest a bind waits for a node lock */
	bool check_config;             /* --check-config: validate, print, exit */
	char *admin_token_file;        /* dev mode: bearer tokens of the admin API */
	bool insecure_admin;           /* no access control on the admin API, anywhere */
	int nqueues, nlicenses;        /* entries in the file */
	struct queue_conf *queues;     /* the queues: section, nqueues of them */
	struct license_conf *licenses; /* the licenses: section, nlicenses of them */
};

enum cfg_result { CFG_OK, CFG_EXIT, CFG_ERROR };

/* CFG_EXIT: --help or --version was printed to stdout, or --check-config
 * found nothing wrong and printed a summary (exit 0). CFG_ERROR: err says
 * what is wrong (exit 2). */
enum cfg_result cfg_parse(int argc, char **argv, struct vx_config *c, char *err, size_t errlen);
void cfg_free(struct vx_config *c);
void cfg_usage(void);

#endif
