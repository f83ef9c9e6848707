/* Tests for bgthread.c: what each kind of thread asks of the kernel. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vx/bgthread.h"

/* The kernel's struct sched_attr, first version. */
struct attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static struct attr get_attr(void)
{
	struct attr a;
	memset(&a, 0, sizeof a);
	assert_int_equal(syscall(SYS_sched_getattr, 0, &a, sizeof a, 0), 0);
	return a;
}

static void *fg_main(void *arg)
{
	struct attr *out = arg;
	out[0] = get_attr();
	fg_thread();
	out[1] = get_attr();
	return NULL;
}

/* Kernels with custom slices (6.12 and later) report the slice in use;
 * older ones report 0 and ignore the request, which must not fail. */
static void test_fg_thread_short_slice(void **state)
{
	(void)state;
	struct attr a[2];
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, fg_main, a), 0);
	pthread_join(th, NULL);
	assert_int_equal(a[1].policy, a[0].policy);
	assert_int_equal(a[1].nice, a[0].nice);
	if (a[0].runtime == 0)
		skip(); /* no custom slices on this kernel */
	assert_int_equal(a[1].runtime, FG_THREAD_SLICE_NS);
	/* The process's other threads keep theirs. */
	assert_int_equal(get_attr().runtime, a[0].runtime);
}

static void *bg_main(void *arg)
{
	int *nice = arg;
	bg_thread();
	errno = 0;
	*nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	return NULL;
}

static void test_bg_thread_nice(void **state)
{
	(void)state;
	int nice = -100;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, bg_main, &nice), 0);
	pthread_join(th, NULL);
	if (getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)) > BG_THREAD_NICE)
		skip(); /* started nicer than that already */
	assert_int_equal(nice, BG_THREAD_NICE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fg_thread_short_slice),
	    cmocka_unit_test(test_bg_thread_nice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
