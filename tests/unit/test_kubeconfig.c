/* Tests for kubeconfig.c: kubeconfig files (tokens, CA data, relative paths,
 * errors that point at the problem) and the in-cluster service account. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vx/kube.h"

#define PEM "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG\n-----END CERTIFICATE-----\n"
#define PEM_B64                                                                                    \
	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJrVENCK3dJSkFLSEhJRwotLS0tLUVORCBDRVJUSUZJQ0F"  \
	"URS0tLS0tCg=="

struct fixture {
	char dir[64];
	char path[128]; /* dir/config */
	char err[512];
	struct kube_config cfg;
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/vx-kubeconfig.XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof fx->path, "%s/config", fx->dir);
	*state = fx;
	return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	kube_config_free(&fx->cfg);
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("VX_SERVICEACCOUNT_DIR");
	return 0;
}

static int load(struct fixture *fx, const char *yaml)
{
	write_file(fx->dir, "config", yaml);
	fx->err[0] = '\0';
	return kube_config_load_file(fx->path, &fx->cfg, fx->err, sizeof fx->err);
}

static void test_token_and_ca_data(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(load(fx, "apiVersion: v1\n"
				  "kind: Config\n"
				  "current-context: prod\n"
				  "contexts:\n"
				  "- name: dev\n"
				  "  context: {cluster: other, user: nobody}\n"
				  "- name: prod\n"
				  "  context:\n"
				  "    cluster: c1\n"
				  "    user: admin\n"
				  "    namespace: team-a\n"
				  "clusters:\n"
				  "- name: c1\n"
				  "  cluster:\n"
				  "    server: https://10.0.0.1:6443/\n"
				  "    certificate-authority-data: " PEM_B64 "\n"
				  "users:\n"
				  "- name: admin\n"
				  "  user:\n"
				  "    token: abc.def\n"),
			 0);
	assert_string_equal(fx->cfg.server, "https://10.0.0.1:6443");
	assert_string_equal(fx->cfg.ca_data, PEM);
	assert_null(fx->cfg.ca_file);
	assert_string_equal(fx->cfg.token, "abc.def");
	assert_null(fx->cfg.token_file);
	assert_null(fx->cfg.cert_file);
	assert_null(fx->cfg.cert_data);
	assert_int_equal(fx->cfg.insecure, 0);
	assert_string_equal(fx->cfg.namespace, "team-a");
}

static void test_wrapped_base64_and_key_data(void **state)
{
	struct fixture *fx = *state;
	/* a folded block scalar: the decoder must skip the line breaks */
	assert_int_equal(load(fx, "current-context: x\n"
				  "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
				  "clusters:\n"
				  "- name: c\n"
				  "  cluster:\n"
				  "    server: https://k:443\n"
				  "users:\n"
				  "- name: u\n"
				  "  user:\n"
				  "    client-certificate-data: |\n"
				  "      LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1J\n"
				  "      SUJrVENCK3dJSkFLSEhJRwotLS0tLUVORCBDRVJU\n"
				  "      SUZJQ0FURS0tLS0tCg==\n"
				  "    client-key-data: aGVsbG8=\n"),
			 0);
	assert_string_equal(fx->cfg.cert_data, PEM);
	assert_string_equal(fx->cfg.key_data, "hello");
	assert_null(fx->cfg.token);
	assert_string_equal(fx->cfg.namespace, "default");
}

static void test_token_file_relative(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(
	    load(fx, "current-context: x\n"
		     "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		     "clusters:\n"
		     "- name: c\n"
		     "  cluster: {server: 'https://k:443', insecure-skip-tls-verify: true}\n"
		     "users:\n"
		     "- name: u\n"
		     "  user: {tokenFile: secrets/token}\n"),
	    0);
	char want[256];
	snprintf(want, sizeof want, "%s/secrets/token", fx->dir);
	assert_string_equal(fx->cfg.token_file, want);
	assert_null(fx->cfg.token);
	assert_int_equal(fx->cfg.insecure, 1);
	assert_string_equal(fx->cfg.namespace, "default");
}

static void test_client_cert_files_relative(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(load(fx, "current-context: x\n"
				  "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
				  "clusters:\n"
				  "- name: c\n"
				  "  cluster:\n"
				  "    server: https://k:443\n"
				  "    certificate-authority: ca.crt\n"
				  "users:\n"
				  "- name: u\n"
				  "  user:\n"
				  "    client-certificate: pki/client.crt\n"
				  "    client-key: /etc/pki/client.key\n"),
			 0);
	char want[256];
	snprintf(want, sizeof want, "%s/ca.crt", fx->dir);
	assert_string_equal(fx->cfg.ca_file, want);
	snprintf(want, sizeof want, "%s/pki/client.crt", fx->dir);
	assert_string_equal(fx->cfg.cert_file, want);
	assert_string_equal(fx->cfg.key_file, "/etc/pki/client.key");
	assert_null(fx->cfg.ca_data);
}

static void test_missing_context(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(load(fx, "current-context: foo\n"
				  "contexts: [{name: bar, context: {cluster: c}}]\n"
				  "clusters: [{name: c, cluster: {server: 'https://k'}}]\n"),
			 -1);
	char want[256];
	snprintf(want, sizeof want, "kubeconfig %s: context \"foo\" (current-context) not found",
		 fx->path);
	assert_string_equal(fx->err, want);
	assert_null(fx->cfg.server); /* nothing half-filled is left behind */
}

static void test_malformed_yaml(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(load(fx, "current-context: x\n"
				  "contexts:\n"
				  "  - name: [x\n"
				  "clusters: {}\n"),
			 -1);
	assert_non_null(strstr(fx->err, fx->path));
	assert_non_null(strstr(fx->err, "line 4"));
}

static void test_errors_name_the_problem(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(load(fx, "current-context: x\n"
				  "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
				  "clusters: [{name: c, cluster: {server: 'https://k'}}]\n"
				  "users: [{name: v, user: {token: t}}]\n"),
			 -1);
	assert_non_null(strstr(fx->err, "user \"u\" (of context \"x\") not found"));

	kube_config_free(&fx->cfg);
	assert_int_equal(load(fx, "current-context: x\n"
				  "contexts: [{name: x, context: {cluster: c}}]\n"
				  "clusters:\n"
				  "- name: c\n"
				  "  cluster:\n"
				  "    server: https://k\n"
				  "    certificate-authority-data: 'not base64!'\n"),
			 -1);
	assert_non_null(strstr(fx->err, "line 7: certificate-authority-data of cluster \"c\""));

	kube_config_free(&fx->cfg);
	assert_int_equal(load(fx,
			      "current-context: x\n"
			      "contexts: [{name: x, context: {cluster: c}}]\n"
			      "clusters: [{name: c, cluster: {insecure-skip-tls-verify: true}}]\n"),
			 -1);
	assert_non_null(strstr(fx->err, "cluster \"c\" needs a server"));

	kube_config_free(&fx->cfg);
	assert_int_equal(load(fx, "current-context: x\n"
				  "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
				  "clusters: [{name: c, cluster: {server: 'https://k'}}]\n"
				  "users: [{name: u, user: {exec: {command: aws}}}]\n"),
			 -1);
	assert_non_null(strstr(fx->err, "uses exec credentials"));

	kube_config_free(&fx->cfg);
	assert_int_equal(load(fx, "kind: Config\n"), -1);
	assert_non_null(strstr(fx->err, "current-context is not set"));
}

static void test_missing_file(void **state)
{
	struct fixture *fx = *state;
	char p[200];
	snprintf(p, sizeof p, "%s/nope", fx->dir);
	assert_int_equal(kube_config_load_file(p, &fx->cfg, fx->err, sizeof fx->err), -1);
	assert_non_null(strstr(fx->err, p));
	assert_non_null(strstr(fx->err, "No such file"));
}

static void test_in_cluster(void **state)
{
	struct fixture *fx = *state;
	write_file(fx->dir, "token", "sa-token-1\n");
	write_file(fx->dir, "ca.crt", PEM);
	write_file(fx->dir, "namespace", "gpu-system\n");
	setenv("VX_SERVICEACCOUNT_DIR", fx->dir, 1);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_in_cluster(&fx->cfg, fx->err, sizeof fx->err), 0);
	assert_string_equal(fx->cfg.server, "https://10.96.0.1:443");
	assert_string_equal(fx->cfg.token, "sa-token-1");
	char want[256];
	snprintf(want, sizeof want, "%s/token", fx->dir);
	assert_string_equal(fx->cfg.token_file, want);
	snprintf(want, sizeof want, "%s/ca.crt", fx->dir);
	assert_string_equal(fx->cfg.ca_file, want);
	assert_string_equal(fx->cfg.namespace, "gpu-system");
	assert_int_equal(fx->cfg.insecure, 0);
}

static void test_in_cluster_ipv6_defaults(void **state)
{
	struct fixture *fx = *state;
	write_file(fx->dir, "token", "t");
	setenv("VX_SERVICEACCOUNT_DIR", fx->dir, 1);
	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
	assert_int_equal(kube_config_in_cluster(&fx->cfg, fx->err, sizeof fx->err), 0);
	assert_string_equal(fx->cfg.server, "https://[fd00:10:96::1]:6443");
	assert_null(fx->cfg.ca_file); /* no ca.crt: the system CAs decide */
	assert_string_equal(fx->cfg.namespace, "default");
}

static void test_in_cluster_errors(void **state)
{
	struct fixture *fx = *state;
	setenv("VX_SERVICEACCOUNT_DIR", fx->dir, 1);
	assert_int_equal(kube_config_in_cluster(&fx->cfg, fx->err, sizeof fx->err), -1);
	assert_non_null(strstr(fx->err, "KUBERNETES_SERVICE_HOST"));

	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	assert_int_equal(kube_config_in_cluster(&fx->cfg, fx->err, sizeof fx->err), -1);
	char want[256];
	snprintf(want, sizeof want, "token file %s/token", fx->dir);
	assert_non_null(strstr(fx->err, want));
	assert_null(fx->cfg.server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_token_and_ca_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrapped_base64_and_key_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_token_file_relative, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_cert_files_relative, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_context, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_yaml, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors_name_the_problem, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_in_cluster, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_in_cluster_ipv6_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_in_cluster_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
