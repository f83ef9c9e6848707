/* Unit tests of auth.c's pieces that need no server: which listen
 * addresses count as loopback, the constant-time comparison, the token
 * file (comments, "token,user", blank lines), the refusal to run open
 * off loopback, and admin_record's annotations on a dev-store pod. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vx/admin.h"
#include "vx/auth.h"
#include "vx/json.h"
#include "vx/memstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void loopback_addresses(void **state)
{
	(void)state;
	assert_true(auth_listen_is_loopback("127.0.0.1:8888"));
	assert_true(auth_listen_is_loopback("127.1.2.3:1"));
	assert_true(auth_listen_is_loopback("[::1]:8888"));
	assert_true(auth_listen_is_loopback("localhost:8888"));
	assert_false(auth_listen_is_loopback(":8888"));
	assert_false(auth_listen_is_loopback("0.0.0.0:8888"));
	assert_false(auth_listen_is_loopback("[::]:8888"));
	assert_false(auth_listen_is_loopback("10.0.0.1:8888"));
	assert_false(auth_listen_is_loopback("128.0.0.1:8888"));
	assert_false(auth_listen_is_loopback("nonsense"));
}

static void constant_time_equal(void **state)
{
	(void)state;
	assert_true(auth_ct_equal("abc", 3, "abc", 3));
	assert_false(auth_ct_equal("abc", 3, "abd", 3));
	assert_false(auth_ct_equal("abc", 3, "abcd", 4));
	assert_false(auth_ct_equal("", 0, "a", 1));
	assert_true(auth_ct_equal("", 0, "", 0));
}

static char *token_file(const char *text)
{
	char *path = strdup("/tmp/vx-access-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void dev_tokens(void **state)
{
	(void)state;
	char err[512] = "", *path = token_file("# tokens\n  tok-a,alice \r\n\ntok-b\n");
	struct auth_opts o = {.token_file = path, .listen = "0.0.0.0:1"};
	struct auth_answer a;
	struct auth *au = auth_new(&o, err, sizeof err);
	assert_non_null(au);
	assert_string_equal(auth_mode(au), "tokens");
	auth_check(au, "Bearer tok-a", AUTH_LIST, NULL, NULL, &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.user, "alice");
	auth_check(au, "bearer  tok-b", AUTH_DELETE, "ns", "p", &a);
	assert_int_equal(a.status, 200);
	assert_string_equal(a.user, "token-line-4");
	auth_check(au, "Bearer tok-", AUTH_LIST, NULL, NULL, &a);
	assert_int_equal(a.status, 401);
	auth_check(au, "Basic dG9rLWE=", AUTH_LIST, NULL, NULL, &a);
	assert_int_equal(a.status, 401);
	auth_check(au, NULL, AUTH_LIST, NULL, NULL, &a);
	assert_int_equal(a.status, 401);
	auth_free(au);
	unlink(path);
	free(path);
}

static void empty_token_file(void **state)
{
	(void)state;
	char err[512] = "", *path = token_file("# nothing\n\n");
	struct auth_opts o = {.token_file = path, .listen = "127.0.0.1:1"};
	assert_null(auth_new(&o, err, sizeof err));
	assert_non_null(strstr(err, "no token"));
	unlink(path);
	free(path);
}

static void open_only_on_loopback(void **state)
{
	(void)state;
	char err[512] = "";
	struct auth_answer a;
	struct auth_opts local = {.listen = "127.0.0.1:8888"};
	struct auth *au = auth_new(&local, err, sizeof err);
	assert_non_null(au);
	assert_string_equal(auth_mode(au), "off");
	auth_check(au, NULL, AUTH_DELETE, "ns", "p", &a);
	assert_int_equal(a.status, 200);
	auth_free(au);
	struct auth_opts wide = {.listen = ":8888"};
	assert_null(auth_new(&wide, err, sizeof err));
	assert_non_null(strstr(err, "--insecure-admin"));
	wide.insecure = true;
	assert_non_null(au = auth_new(&wide, err, sizeof err));
	auth_free(au);
}

static void node_ev(void *ud, enum store_ev ev, const cJSON *o)
{
	(void)ud, (void)ev, (void)o;
}

static const char POD_YAML[] = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
			       "  namespace: team-a\nspec:\n  containers:\n  - name: c\n";

/* The annotations that make `kubectl describe pod` show who acted. */
static void record_action(void **state)
{
	(void)state;
	struct vx_daemon d;
	struct store_err e = {0};
	char err[256];
	memset(&d, 0, sizeof d);
	d.cfg.dev = true;
	assert_int_equal(clk_init(&d.clock, NULL, err, sizeof err), 0);
	d.store = mstore_new(&d.clock);
	assert_int_equal(mstore_load(d.store, POD_YAML, strlen(POD_YAML), "test", err, sizeof err),
			 0);
	struct store_sink sink = {NULL, node_ev, node_ev, NULL};
	assert_int_equal(d.store->ops->start(d.store, &sink), 0);
	assert_int_equal(admin_record(&d, "team-a", "p", "alice", "priority 7", &e), 0);
	cJSON *pod = d.store->ops->get_pod(d.store, "team-a", "p", &e);
	assert_non_null(pod);
	assert_string_equal(json_annotation(pod, ADMIN_ANN_BY), "alice");
	assert_non_null(strstr(json_annotation(pod, ADMIN_ANN_ACTION), "priority 7 at 20"));
	cJSON_Delete(pod);
	assert_int_equal(admin_record(&d, "team-a", "gone", "alice", "use-credits", &e), -1);
	assert_int_equal(e.code, 404);
	d.store->ops->stop(d.store);
	d.store->ops->destroy(d.store);
	clk_free(&d.clock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(loopback_addresses),
	    cmocka_unit_test(constant_time_equal),
	    cmocka_unit_test(dev_tokens),
	    cmocka_unit_test(empty_token_file),
	    cmocka_unit_test(open_only_on_loopback),
	    cmocka_unit_test(record_action),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
