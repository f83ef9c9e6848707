/* bgthread: marks the calling thread as background work. The daemon's
 * answers to filter and prioritize are on kube-scheduler's critical path
 * (one pod at a time); bind API calls, watch parsing and the janitor are
 * not, and under a burst of binds they would otherwise take the CPU a
 * filter is waiting for. Linux applies a nice value per thread. */
#ifndef VX_BGTHREAD_H
#define VX_BGTHREAD_H

#define BG_THREAD_NICE 10

/* Names the calling thread (at most 15 characters: `top -H`, `ps -L`,
 * perf and gdb show it) and lowers its priority to BG_THREAD_NICE; both
 * best effort. */
void bg_thread(const char *name);
/* Names the calling thread only, for threads that keep their priority. */
void vx_thread_name(const char *name);

#endif
