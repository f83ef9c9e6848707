/* bgthread: marks the calling thread as background work. The daemon's
 * answers to filter and prioritize are on kube-scheduler's critical path
 * (one pod at a time); bind API calls, watch parsing and the janitor are
 * not, and under a burst of binds they would otherwise take the CPU a
 * filter is waiting for. Linux applies a nice value per thread. */
#ifndef VX_BGTHREAD_H
#define VX_BGTHREAD_H

#define BG_THREAD_NICE 10

/* Lowers the calling thread's priority to BG_THREAD_NICE; best effort. */
void bg_thread(void);

/* The time slice an HTTP thread asks for, ns (the kernel's minimum). */
#define FG_THREAD_SLICE_NS 100000

/* Marks the calling thread as latency-critical: asks the kernel for a
 * FG_THREAD_SLICE_NS time slice. Nice values do not help against other
 * processes at nice 0 (the API server, kube-scheduler, a co-located
 * workload): Linux's EEVDF scheduler (6.6 and later) may let a waking
 * thread wait until the running one has used its slice (0.75 ms scaled
 * up with the CPU count: 1.4 ms on 2 cores), while a waking thread with
 * a shorter slice may preempt it (6.12 and later). Older kernels ignore
 * the request; best effort, no privilege needed. */
void fg_thread(void);

#endif
