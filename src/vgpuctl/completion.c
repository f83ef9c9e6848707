/* vgpuctl completion: prints a bash completion script built from the
 * command and option tables, so it never lags behind them. Workload names
 * are completed by asking the daemon (`list -o name`), with the same
 * --server the command line names. */
#include "vgpuctl.h"

#include <string.h>

/* Words of the options a command takes, hidden ones left out. */
static void option_words(const char *keys, struct buf *b)
{
	size_t n;
	const struct option_def *o = ctl_options(&n);
	for (size_t i = 0; i < n; i++) {
		if (!o[i].help || !strchr(keys, o[i].key))
			continue;
		if (o[i].has_short)
			buf_printf(b, "-%c ", o[i].key);
		buf_printf(b, "--%s ", o[i].name);
	}
}

static const char script_head[] =
    "# bash completion for vgpuctl; load it with: source <(vgpuctl completion bash)\n"
    "_vgpuctl_names() {\n"
    "\tlocal ns=${1:-default}\n"
    "\t\"${COMP_WORDS[0]}\" ${_vgpuctl_server:+--server \"$_vgpuctl_server\"} list -n \"$ns\" -o "
    "name "
    "2>/dev/null | sed 's|^pod/[^/]*/||'\n"
    "}\n"
    "_vgpuctl() {\n"
    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
    "\tlocal cmd='' ns='' i\n"
    "\t_vgpuctl_server=''\n"
    "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
    "\t\tcase ${COMP_WORDS[i]} in\n"
    "\t\t-s|--server) _vgpuctl_server=${COMP_WORDS[i+1]}; ((i++)) ;;\n"
    "\t\t-n|--namespace) ns=${COMP_WORDS[i+1]}; ((i++)) ;;\n"
    "\t\t-f|--filename|-o|--output) ((i++)) ;;\n"
    "\t\t-*) ;;\n"
    "\t\t*) [[ -z $cmd ]] && cmd=${COMP_WORDS[i]} ;;\n"
    "\t\tesac\n"
    "\tdone\n"
    "\tcase $prev in\n"
    "\t-f|--filename) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
    "\t-s|--server|-n|--namespace) COMPREPLY=(); return ;;\n"
    "\tesac\n";

static void completion_script(struct buf *b)
{
	size_t n;
	const struct command *cmds = ctl_commands(&n);
	buf_puts(b, script_head);
	buf_puts(b, "\tif [[ -z $cmd ]]; then\n\t\tCOMPREPLY=($(compgen -W \"");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s ", cmds[i].name);
	buf_puts(b, "-s --server -h --help --version\" -- \"$cur\"))\n\t\treturn\n\tfi\n"
		    "\tlocal opts='' outs='' args=''\n\tcase $cmd in\n");
	for (size_t i = 0; i < n; i++) {
		buf_printf(b, "\t%s) opts='", cmds[i].name);
		option_words(cmds[i].flags, b);
		option_words("sh", b);
		buf_printf(b, "' outs='%s' ;;\n", cmds[i].outputs ? cmds[i].outputs : "");
	}
	buf_puts(
	    b, "\tesac\n"
	       "\tcase $prev in\n"
	       "\t-o|--output) COMPREPLY=($(compgen -W \"${outs//|/ }\" -- \"$cur\")); return ;;\n"
	       "\tesac\n"
	       "\tcase $cmd in\n"
	       "\tget|describe|delete|priority|use-credits) args=$(_vgpuctl_names \"$ns\") ;;\n"
	       "\thelp) args='");
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s ", cmds[i].name);
	buf_puts(b, "' ;;\n"
		    "\tcompletion) args=bash ;;\n"
		    "\tesac\n"
		    "\tif [[ $cur == -* ]]; then\n"
		    "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
		    "\telse\n"
		    "\t\tCOMPREPLY=($(compgen -W \"$args\" -- \"$cur\"))\n"
		    "\tfi\n"
		    "}\n"
		    "complete -F _vgpuctl vgpuctl\n");
}

int cmd_completion(const struct ctl *c, const struct command *cmd, const struct args *a)
{
	struct buf b = BUF_INIT;
	(void)c;
	if (strcmp(a->pos[0], "bash") != 0)
		return usage_error(cmd, "no completion for \"%s\" (only bash)", a->pos[0]);
	completion_script(&b);
	fputs(b.data, stdout);
	buf_free(&b);
	return 0;
}
