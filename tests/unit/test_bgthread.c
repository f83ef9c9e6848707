/* Tests for bgthread.c: a background thread runs at BG_THREAD_NICE, and
 * only that thread, under its name cut to 15 characters. */
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

static char bg_name[32];

static void *bg_main(void *arg)
{
	int *nice = arg;
	bg_thread("vx-test-background");
	errno = 0;
	*nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	pthread_getname_np(pthread_self(), bg_name, sizeof bg_name);
	return NULL;
}

static void test_bg_thread_nice(void **state)
{
	(void)state;
	int nice = -100;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, bg_main, &nice), 0);
	pthread_join(th, NULL);
	assert_string_equal(bg_name, "vx-test-backgro"); /* cut to the kernel's 15 */
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
