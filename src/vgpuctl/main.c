/* vgpuctl main: the command and option tables, help texts and parsing of
 * the command line, kubectl's way: `vgpuctl [--server URL] COMMAND [ARGS]`,
 * options after the command too, `COMMAND --help` for a command's usage, and
 * a usage error as one line that says where the help is (exit 2). */
#include "vgpuctl.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef VX_VERSION
#define VX_VERSION "0.0.0"
#endif

#define SERVER_HELP "the daemon (default: $VGPUCTL_SERVER, else " DEFAULT_SERVER ")"

static const struct command commands[] = {
    {"apply", cmd_apply, "f", NULL, 0, 0, "apply -f FILE",
     "create or update the Pods of a YAML or JSON file (dev mode)",
     "FILE may be - for stdin. Every object is read before the first is sent, so a\n"
     "syntax error creates nothing; kinds other than Pod are skipped with a warning.\n"
     "A pod that exists gets the file's labels and annotations (configured) or is\n"
     "unchanged; its spec cannot change (delete it and apply again)."},
    {"list", cmd_list, "nAowWL", "json|yaml|wide|name", 0, 0,
     "list [-A | -n NS] [--license L] [-o json|yaml|wide|name] [-w]",
     "list workloads (namespace default unless -n NS or -A)",
     "Columns: Workload Queue Status Priority GPUs Node. -o wide adds Age,\n"
     "Running/Requested (vGPUs), Allocation (GPUs held: per vGPU the larger of\n"
     "cores/100 and memory/card memory, summed), Memory and Message (why a pod\n"
     "waits). Status Unschedulable: no node can ever run the pod as it stands.\n"
     "--license L lists the licence's jobs in every namespace it covers, in the\n"
     "dashboard's columns: User, Submit Time, Resource Name, Resource ID, Priority,\n"
     "Status, and for a waiting job its Position and Estimated Start (when the\n"
     "deadlines of the jobs ahead of it tell)."},
    {"get", cmd_get, "no", "json|yaml|wide|name", 1, 1, "get NAME [-n NS] [-o json|yaml|wide|name]",
     "show one workload's row; -o json|yaml prints the stored pod", "NAME may also be NS/NAME."},
    {"describe", cmd_describe, "n", NULL, 1, 1, "describe NAME [-n NS]",
     "show one workload in detail: request, why it waits, devices, allocation",
     "NAME may also be NS/NAME."},
    {"state", cmd_state, "o", "json|yaml", 0, 0, "state [-o json|yaml]",
     "print the daemon's /debug/state", NULL},
    {"priority", cmd_priority, "n", NULL, 2, 2, "priority NAME N [-n NS]",
     "set a job's licence priority (1..10)", "NAME may also be NS/NAME."},
    {"use-credits", cmd_use_credits, "n", NULL, 1, 1, "use-credits NAME [-n NS]",
     "bill a job to credits, outside its licence", "NAME may also be NS/NAME."},
    {"delete", cmd_delete, "ny", NULL, 1, 1, "delete NAME [-n NS] [-y]", "delete a workload",
     "NAME may also be NS/NAME. Deleting cannot be undone, so vgpuctl asks first;\n"
     "-y answers yes (for scripts). Without a terminal and without -y, nothing is\n"
     "deleted."},
    {"license", cmd_license, "o", "json|yaml", 1, 1, "license NAME [-o json|yaml]",
     "print a licence's figures", NULL},
    {"queues", cmd_queues, "o", "json|yaml", 0, 0, "queues [-o json|yaml]",
     "list the team queues: quota, limit, weight, allocation, fair share, pending (GPUs)",
     "A limit of none means the queue may borrow every idle GPU."},
    {"completion", cmd_completion, "", NULL, 1, 1, "completion bash",
     "print a bash completion script",
     "Load it in the current shell with: source <(vgpuctl completion bash)"},
    {"help", cmd_help, "", NULL, 0, 1, "help [COMMAND]", "print the help of vgpuctl or of COMMAND",
     NULL},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct option_def options[] = {
    {'f', true, "filename", "FILE", "the file to read (- for stdin)", offsetof(struct args, file)},
    {'n', true, "namespace", "NS", "the namespace (default: default)", offsetof(struct args, ns)},
    {'A', true, "all-namespaces", NULL, "every namespace", offsetof(struct args, all)},
    {'o', true, "output", "FORMAT", "output format:", offsetof(struct args, output)},
    {'w', true, "watch", NULL, "print again whenever the list changes, until Ctrl-C",
     offsetof(struct args, watch)},
    {'W', false, "watch-count", "N", NULL, offsetof(struct args, watch_count)}, /* tests */
    {'L', false, "license", "L", "only the jobs of licence L", offsetof(struct args, license)},
    {'y', true, "yes", NULL, "do not ask for confirmation", offsetof(struct args, yes)},
    {'s', true, "server", "URL", SERVER_HELP, offsetof(struct args, server)},
    {'h', true, "help", NULL, "print this help", offsetof(struct args, help)},
};
#define NOPTIONS (sizeof options / sizeof options[0])
#define GLOBAL_KEYS "sh" /* accepted by every command */

const struct command *ctl_commands(size_t *n)
{
	*n = NCOMMANDS;
	return commands;
}

const struct option_def *ctl_options(size_t *n)
{
	*n = NOPTIONS;
	return options;
}

int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "vgpuctl%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'vgpuctl %s%s--help'\n", cmd ? cmd->name : "", cmd ? " " : "");
	return EXIT_USAGE;
}

/* ---- help ---------------------------------------------------------------- */

static void option_line(const struct option_def *o, const struct command *cmd)
{
	char left[48];
	snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->has_short ? "-" : "",
		 o->has_short ? o->key : ' ', o->has_short ? ", " : "", o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "");
	printf("  %-22s %s", o->has_short ? left : left + 1, o->help);
	if (o->key == 'o' && cmd && cmd->outputs)
		printf(" %s", cmd->outputs);
	putchar('\n');
}

static void usage(void)
{
	printf("Usage: vgpuctl [--server URL] COMMAND [ARGS]\n\n"
	       "The command-line client of vgpu-extender's admin API.\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-12s %s\n", commands[i].name, commands[i].summary);
	printf("\nOptions:\n");
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strchr(GLOBAL_KEYS, options[i].key))
			option_line(&options[i], NULL);
	printf("  %-22s %s\n\nRun 'vgpuctl COMMAND --help' for a command's options.\n", "--version",
	       "print the version");
}

static void command_usage(const struct command *cmd)
{
	printf("Usage: vgpuctl %s\n\n%c%s.\n", cmd->synopsis, cmd->summary[0] - 'a' + 'A',
	       cmd->summary + 1);
	if (cmd->details)
		printf("\n%s\n", cmd->details);
	printf("\nOptions:\n");
	for (size_t i = 0; i < NOPTIONS; i++)
		if (options[i].help && strchr(cmd->flags, options[i].key))
			option_line(&options[i], cmd);
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strchr(GLOBAL_KEYS, options[i].key))
			option_line(&options[i], cmd);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int cmd_help(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	(void)c;
	(void)cmd;
	if (a->npos == 0) {
		usage();
		return 0;
	}
	const struct command *about = find_command(a->pos[0]);
	if (!about)
		return usage_error(NULL, "unknown command \"%s\"", a->pos[0]);
	command_usage(about);
	return 0;
}

/* ---- parsing ------------------------------------------------------------- */

static const struct option_def *find_option(const char *arg, const char **inline_val)
{
	*inline_val = NULL;
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_def *o = &options[i];
		size_t l = strlen(o->name);
		if (o->has_short && arg[0] == '-' && arg[1] == o->key && !arg[2])
			return o;
		if (!strncmp(arg, "--", 2) && !strncmp(arg + 2, o->name, l) &&
		    (!arg[2 + l] || arg[2 + l] == '=')) {
			*inline_val = arg[2 + l] ? arg + 3 + l : NULL;
			return o;
		}
	}
	return NULL;
}

/* Stores option o (as written: arg) from argv[*i]; 0, or 2 after a usage
 * error. A value never starts with '-' (but "-" is stdin), so `-n -A` and
 * `--server list` say what is missing rather than swallow the next word. */
static int take_option(const struct command *cmd, const struct option_def *o, const char *arg,
		       const char *val, int argc, char **argv, int *i, struct args *a)
{
	char *field = (char *)a + o->field;
	if (!o->arg) {
		if (val)
			return usage_error(cmd, "--%s takes no value", o->name);
		*(bool *)field = true;
		return 0;
	}
	if (!val && *i + 1 < argc && (argv[*i + 1][0] != '-' || !argv[*i + 1][1]))
		val = argv[++*i];
	if ((!val || !*val || find_command(val)) && o->key == 's')
		return usage_error(cmd, "%s needs a URL", arg);
	if (!val || !*val)
		return usage_error(cmd, "%s needs a value (%s)", arg, o->arg);
	*(const char **)field = val;
	return 0;
}

/* Fills a from the words after the command (or before it when cmd is
 * NULL: only global options there); returns the index of the first word it
 * did not take (the command), or -2 after a usage error. */
static int parse_args(const struct command *cmd, int argc, char **argv, int i, struct args *a)
{
	bool only_pos = false;
	for (; i < argc; i++) {
		const char *arg = argv[i], *val;
		/* "-" is stdin and "-3" a (bad) number: both are arguments. */
		bool pos = only_pos || arg[0] != '-' || !arg[1] || (arg[1] >= '0' && arg[1] <= '9');
		if (!pos && !strcmp(arg, "--")) {
			only_pos = true;
			continue;
		}
		if (pos && !cmd)
			return i;
		if (pos) {
			if (a->npos == MAX_POS)
				return -usage_error(cmd, "unexpected argument \"%s\"", arg);
			a->pos[a->npos++] = arg;
			continue;
		}
		if (!cmd && !strcmp(arg, "--version"))
			return i;
		const struct option_def *o = find_option(arg, &val);
		if (!o || (!strchr(GLOBAL_KEYS, o->key) && (!cmd || !strchr(cmd->flags, o->key))))
			return -usage_error(cmd, "unknown option %s", arg);
		if (take_option(cmd, o, arg, val, argc, argv, &i, a))
			return -EXIT_USAGE;
	}
	return i;
}

/* The daemon's address: --server, else $VGPUCTL_SERVER, else the default. */
static int set_server(struct ctl *c, const char *server)
{
	if (!server || !*server)
		server = getenv("VGPUCTL_SERVER");
	if (!server || !*server)
		server = DEFAULT_SERVER;
	if (strlen(server) >= sizeof c->server)
		return usage_error(NULL, "the server URL is too long");
	snprintf(c->server, sizeof c->server, "%s", server);
	for (size_t l = strlen(c->server); l > 0 && c->server[l - 1] == '/'; l--)
		c->server[l - 1] = '\0'; /* paths start with '/' */
	return 0;
}

static int run(const struct command *cmd, const struct args *a)
{
	struct ctl c;
	if (a->help) {
		command_usage(cmd);
		return 0;
	}
	if (a->npos < cmd->min_pos || a->npos > cmd->max_pos)
		return usage_error(
		    cmd, "%s", a->npos < cmd->min_pos ? "missing argument" : "too many arguments");
	if (set_server(&c, a->server))
		return EXIT_USAGE;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "vgpuctl: cannot initialise libcurl\n");
		return EXIT_REFUSED;
	}
	int rc = cmd->run(&c, cmd, a);
	curl_global_cleanup();
	return rc;
}

int main(int argc, char **argv)
{
	struct args a;
	memset(&a, 0, sizeof a);
	int i = parse_args(NULL, argc, argv, 1, &a);
	if (i < 0)
		return EXIT_USAGE;
	if (i < argc && !strcmp(argv[i], "--version")) {
		printf("vgpuctl %s\n", VX_VERSION);
		return 0;
	}
	if (a.help || i == argc) {
		if (a.help)
			usage();
		return a.help ? 0 : usage_error(NULL, "no command given");
	}
	const struct command *cmd = find_command(argv[i]);
	if (!cmd)
		return usage_error(NULL, "unknown command \"%s\"", argv[i]);
	/* --help wins over anything wrong around it, as in kubectl. */
	for (int k = i + 1; k < argc && strcmp(argv[k], "--") != 0; k++)
		if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
			command_usage(cmd);
			return 0;
		}
	if (parse_args(cmd, argc, argv, i + 1, &a) < 0)
		return EXIT_USAGE;
	return run(cmd, &a);
}
