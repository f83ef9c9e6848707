/* cfgcheck: the shape of the config file's `queues:` and `licenses:`
 * sections (SPEC sections 5 and 6). The daemon does not act on them yet;
 * checking them when the file is read means a typo in a chart value or a
 * hand-edited ConfigMap fails at start (and under --check-config) with the
 * file, line and key, instead of being silently ignored. */
#ifndef VX_CFGCHECK_H
#define VX_CFGCHECK_H

#include <stddef.h>
#include <yaml.h>

/* key is "queues" or "licenses", v its value node. Returns the number of
 * entries (0 for an empty list or an empty value), or -1 with
 * "PATH:LINE: ..." in err. */
int cfgcheck_section(yaml_document_t *d, const char *key, yaml_node_t *v, const char *path,
		     char *err, size_t errlen);

struct queue_conf;

/* The entries of a `queues:` value that cfgcheck_section accepted, as
 * queue_conf (defaults: quota 0, overQuotaWeight 1, limit -1). Returns the
 * count; *out is a new array the caller owns (NULL for none). */
int cfgcheck_queues(yaml_document_t *d, yaml_node_t *v, struct queue_conf **out);

struct license_conf;
/* The same for `licenses:` (resetUTC "HH:MM" as minutes). */
int cfgcheck_licenses(yaml_document_t *d, yaml_node_t *v, struct license_conf **out);

#endif
