/* bgthread: see bgthread.h. */
#include "vx/bgthread.h"

#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's struct sched_attr, first version (48 bytes); glibc has no
 * wrapper for sched_getattr and sched_setattr. */
struct vx_sched_attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

#define VX_SCHED_FLAG_RESET_ON_FORK 0x01

void bg_thread(void)
{
	/* With PRIO_PROCESS, Linux takes a thread id and changes that thread
	 * only; lowering needs no privilege. */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), BG_THREAD_NICE);
}

void fg_thread(void)
{
	struct vx_sched_attr a;
	memset(&a, 0, sizeof a);
	if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0)
		return;
	/* An operator's real-time or idle policy stays as it was. */
	if (a.policy != SCHED_OTHER && a.policy != SCHED_BATCH)
		return;
	/* The same policy and nice value: only the slice changes. */
	a.size = sizeof a;
	a.flags &= VX_SCHED_FLAG_RESET_ON_FORK;
	a.runtime = FG_THREAD_SLICE_NS;
	(void)syscall(SYS_sched_setattr, 0, &a, 0);
}
