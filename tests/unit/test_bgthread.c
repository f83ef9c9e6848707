/* Tests for bgthread.c: a background thread runs at BG_THREAD_NICE, and
 * only that thread. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vx/bgthread.h"

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
	int own = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	if (own >= BG_THREAD_NICE)
		skip(); /* started that nice already */
	assert_int_equal(nice, BG_THREAD_NICE);
	assert_true(own < BG_THREAD_NICE); /* the calling thread kept its own */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bg_thread_nice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
