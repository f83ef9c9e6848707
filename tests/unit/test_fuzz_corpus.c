/* Replays the fuzz corpus (tests/fuzz/corpus: seeds and every past finding)
 * through the fuzz target's entry point, under the sanitizers `make test`
 * builds with, so a fixed finding stays fixed without clang or libFuzzer.
 * UBSan halts on the first error and ASan reports leaks, so a regression
 * fails this test. Run from the repository's root, as `make test` does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../fuzz/fuzz_inputs.c"

#include <dirent.h>
#include <stdio.h>

#define CORPUS "tests/fuzz/corpus"

static void replay_one(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char buf[65536];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	assert_int_equal(LLVMFuzzerTestOneInput(buf, n), 0);
}

static void corpus_replays_cleanly(void **state)
{
	(void)state;
	DIR *d = opendir(CORPUS);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		char path[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", CORPUS, e->d_name);
		replay_one(path);
		n++;
	}
	closedir(d);
	assert_true(n >= 9); /* the seeds and the findings so far */
}

int main(void)
{
	int argc = 0;
	char **argv = NULL;
	LLVMFuzzerInitialize(&argc, &argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(corpus_replays_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
