/* bgthread: see bgthread.h. */
#include "vx/bgthread.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void vx_thread_name(const char *name)
{
	char n[16];
	snprintf(n, sizeof n, "%s", name); /* the kernel keeps 15 characters */
	(void)pthread_setname_np(pthread_self(), n);
}

void bg_thread(const char *name)
{
	vx_thread_name(name);
	/* With PRIO_PROCESS, Linux takes a thread id and changes that thread
	 * only; lowering needs no privilege. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), BG_THREAD_NICE);
}
