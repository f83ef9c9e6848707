/* bgthread: see bgthread.h. */
#include "vx/bgthread.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

void bg_thread(void)
{
	/* With PRIO_PROCESS, Linux takes a thread id and changes that thread
	 * only; lowering needs no privilege. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), BG_THREAD_NICE);
}
