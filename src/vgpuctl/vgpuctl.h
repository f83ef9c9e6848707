/* vgpuctl internals: what the command files share. vgpuctl is the
 * command-line client of the daemon's admin API (SPEC section 9); it holds
 * no scheduling knowledge: every figure it prints comes from the daemon.
 * Exit codes: 0 ok, 1 the daemon refused or could not be reached, 2 bad usage. */
#ifndef VGPUCTL_H
#define VGPUCTL_H

#include "vx/buf.h"
#include "vx/hmap.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define DEFAULT_SERVER "http://127.0.0.1:8888"
#define MAX_POS 2

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

struct ctl {
	char server[1024]; /* without a trailing slash */
};

/* What a command was given after its name, checked against its table row. */
struct args {
	const char *pos[MAX_POS];
	int npos;
	const char *file, *ns, *output, *watch_count, *server, *license;
	bool all, watch, help, yes;
};

struct command {
	const char *name;
	int (*run)(const struct ctl *c, const struct command *cmd, const struct args *a);
	const char *flags;    /* options it accepts, by option_def.key */
	const char *outputs;  /* what -o takes, "json|yaml|..." */
	int min_pos, max_pos; /* positional arguments */
	const char *synopsis; /* after "vgpuctl " */
	const char *summary;  /* one line, for the command list */
	const char *details;  /* the rest of "vgpuctl CMD --help", or NULL */
};

/* An option of a command: `-L`/`--long` with a value stored at field, or a
 * switch setting the bool at field. Global ones (--server, --help) are
 * accepted by every command. */
struct option_def {
	char key;         /* what command.flags lists */
	bool has_short;   /* -KEY works too */
	const char *name; /* long name, without "--" */
	const char *arg;  /* value placeholder; NULL for a switch */
	const char *help; /* NULL: hidden from help and completion */
	size_t field;     /* offset in struct args */
};

/* A pod named on the command line: NAME with -n NS (default "default"), or NS/NAME. */
struct ref {
	char ns[254], name[254];
	char noun[520]; /* "pod/NS/NAME", how the pod is named in every message */
};

/* main.c: prints "vgpuctl[ CMD]: what; see 'vgpuctl [CMD ]--help'"; returns 2. */
int usage_error(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const struct command *ctl_commands(size_t *n);
const struct option_def *ctl_options(size_t *n);

/* http.c */
void put_escaped(struct buf *b, const char *s);
/* One request. On success (0) *out, if asked for, is the parsed body (NULL
 * when not JSON). Otherwise prints "vgpuctl: [what: ]why" and returns 1 when
 * the daemon refused, -1 when it could not be reached. */
int call(const struct ctl *c, const char *method, const char *path, const char *body,
	 const char *what, cJSON **out);
/* One request whose HTTP status the caller judges: 0 with *status and *out
 * (the parsed body or NULL), or -1 after saying the daemon is unreachable. */
int call_quiet(const struct ctl *c, const char *method, const char *path, const char *body,
	       long *status, cJSON **out);
/* Fills r from pos (NAME or NS/NAME) and -n; 0, or 2 after a usage error. */
int ref_parse(const struct command *cmd, const struct args *a, const char *pos, struct ref *r);
/* PREFIX/NS/NAME[SUFFIX], percent-encoded; caller frees. */
char *ref_path(const char *prefix, const struct ref *r, const char *suffix);

/* print.c */
char *value_text(const cJSON *v); /* a cell or "key: value" text; caller frees */
/* Output formats; output_parse checks -o against the command's outputs. */
enum output { OUT_TABLE, OUT_WIDE, OUT_JSON, OUT_YAML, OUT_NAME };
void render(const cJSON *j, enum output fmt, struct buf *b); /* JSON, or YAML for OUT_YAML */
void print_doc(const cJSON *j, enum output fmt);
int output_parse(const struct command *cmd, const char *o, enum output *out);
/* A table of text cells; row 0 is the header. */
struct table {
	int ncols, nrows, cap;
	char **cell; /* nrows * ncols, each malloc'ed */
};
void table_init(struct table *t, const char *const *head, int ncols);
void table_add(struct table *t, char **cells); /* takes the cells */
void table_render(const struct table *t, struct buf *out);
void table_free(struct table *t);

/* The commands (list.c, describe.c, apply.c, actions.c, completion.c). */
int cmd_apply(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_list(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_get(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_describe(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_state(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_priority(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_use_credits(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_delete(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_license(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_queues(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_completion(const struct ctl *c, const struct command *cmd, const struct args *a);
int cmd_help(const struct ctl *c, const struct command *cmd, const struct args *a);

/* rows.c: the job rows and the figures -o wide and describe add to them. */
struct jobs {
	const char *license;    /* rows of this licence, shown in the seed's columns */
	cJSON *rows;            /* GET /api/v1/jobs, filtered to the namespace */
	cJSON *state;           /* GET /debug/state, only when the extra figures are wanted */
	struct hmap gpus, pods; /* the state's GPUs by UUID, pods by "NS/NAME" */
};
/* Fetches the rows of ns (all when NULL), name (all when NULL) and licence
 * (any when NULL), with the state when want_state; 0, or 1 after saying why not. */
int jobs_fetch(const struct ctl *c, const char *ns, const char *name, const char *license,
	       bool want_state, struct jobs *j);
void jobs_free(struct jobs *j);
/* The state's pod entry for a row, or NULL. */
const cJSON *jobs_state_pod(const struct jobs *j, const cJSON *row);
/* vGPUs held, GPU share (per vGPU max(cores/100, memory/card memory), summed)
 * and memory held, from the state's pod entry. */
struct alloc {
	int vgpus;
	double share;
	long long mem_mib;
};
void jobs_alloc(const struct jobs *j, const cJSON *state_pod, struct alloc *out);
/* "5s", "3m20s", "4h", "2d": kubectl's way of saying how old something is. */
void age_text(const char *rfc3339, char *out, size_t len);
/* The table of rows; wide adds Age, Running/Requested, Allocation, Memory
 * and Message. */
void jobs_table(const struct jobs *j, bool wide, struct buf *out);
/* Renders rows as the format says, into out (watch compares renderings). */
void jobs_render(const struct jobs *j, enum output fmt, struct buf *out);

#endif
