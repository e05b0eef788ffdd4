/* Unit tests for server/proc/config.c: parsing, validation and error locations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "server/proc/config.h"

static const char good[] =
	"# comment\n"
	"listen = 127.0.0.1:9443\n"
	"\n"
	"workers = 3   # trailing comment\n"
	"tls_cert = /c.pem\ntls_key = /k.pem\n"
	"database_url = dbname=x\n"
	"jwt_secret_file = /s\njwt_issuer = iss\njwt_audience = aud\n"
	"allowed_origins = https://a.example https://b.example\n";

static void test_parse_good(void **state)
{
	struct config cfg;
	char err[256] = "";
	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_parse_text(&cfg, "f.conf", good, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen, "127.0.0.1:9443");
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.rate_limit_rps, 1000);
	assert_int_equal(cfg.max_inflight, 64);
	assert_string_equal(cfg.allowed_origins, "https://a.example https://b.example");
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), 0);
	config_free(&cfg);
}

static void expect_error(const char *text, const char *want)
{
	struct config cfg;
	char err[256] = "";
	config_defaults(&cfg);
	assert_int_equal(config_parse_text(&cfg, "f.conf", text, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	config_free(&cfg);
}

static void test_parse_errors_name_line_and_reason(void **state)
{
	(void)state;
	expect_error("workers = 2\nbogus = 1\n", "f.conf:2: unknown key 'bogus' (`mcp-invoiced config-keys` lists them)");
	expect_error("worker_conections = 3\n", "f.conf:1: unknown key 'worker_conections' (did you mean 'worker_connections'?)");
	expect_error("Workers = 3\n", "unknown key 'Workers' (did you mean 'workers'?)");
	expect_error("\n\nworkers = many\n", "f.conf:3: workers must be an integer, got 'many'");
	expect_error("workers = 0\n", "f.conf:1: workers must be between 1 and 256, got 0");
	expect_error("rate_limit_rps = 99999999999999999999\n", "rate_limit_rps must be an integer");
	expect_error("jwt_alg = none\n", "jwt_alg must be one or more of: HS256 RS256 RS384 RS512 PS256 "
	             "PS384 PS512 ES256 ES384 EdDSA (separated by spaces); got 'none'");
	expect_error("jwt_alg = RS256  ES256\n", "jwt_alg must be one or more of");
	expect_error("log_level = loud\n", "log_level must be one of");
	expect_error("just words\n", "f.conf:1: expected 'key = value'");
	expect_error("max_body_bytes = 10\n", "between 1024 and");
}

static void test_validate_cross_rules(void **state)
{
	struct config cfg;
	char err[256];
	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_parse_text(&cfg, "f", good, err, sizeof(err)), 0);
	assert_int_equal(config_parse_text(&cfg, "f", "jwt_alg = RS256\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs jwt_public_key_file"));
	assert_int_equal(config_parse_text(&cfg, "f", "jwt_alg = HS256\nlisten = nohost\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "listen must be HOST:PORT"));
	assert_int_equal(config_parse_text(&cfg, "f", "listen = [::1]:8443\nmcp_path = mcp\n", err, sizeof(err)), 0);
	assert_int_equal(config_validate(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mcp_path must start with '/'"));
	config_free(&cfg);
}

/* path (a mkstemp template) becomes a file holding the good configuration. */
static void write_good_config(char *path)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, good, strlen(good)), (int)strlen(good));
	close(fd);
}

static void test_load_file_and_environment(void **state)
{
	char path[] = "/tmp/mcpi-config-XXXXXX", err[256];
	struct config cfg;
	(void)state;
	write_good_config(path);
	setenv("MCP_INVOICED_MAX_INFLIGHT", "7", 1);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.max_inflight, 7);
	assert_string_equal(cfg.public_url, "https://127.0.0.1:9443/mcp");
	assert_string_equal(cfg.migrate_database_url, "dbname=x");
	config_free(&cfg);
	/* A variable that names no key is refused, naming the nearest. */
	setenv("MCP_INVOICED_WORKRES", "3", 1);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	assert_string_equal(err, "environment MCP_INVOICED_WORKRES names no configuration key "
	                         "(did you mean MCP_INVOICED_WORKERS?)");
	config_free(&cfg);
	unsetenv("MCP_INVOICED_WORKRES");
	setenv("MCP_INVOICED_ZZZZZZZZZZZZ", "3", 1);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	assert_string_equal(err, "environment MCP_INVOICED_ZZZZZZZZZZZZ names no configuration key");
	config_free(&cfg);
	unsetenv("MCP_INVOICED_ZZZZZZZZZZZZ");
	setenv("MCP_INVOICED_MAX_INFLIGHT", "lots", 1);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "environment MCP_INVOICED_MAX_INFLIGHT: max_inflight must be an integer"));
	config_free(&cfg);
	unsetenv("MCP_INVOICED_MAX_INFLIGHT");
	assert_int_equal(config_load(&cfg, "/nonexistent/x.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x.conf: cannot open"));
	config_free(&cfg);
	unlink(path);
}

/* RFC 9728 metadata names authorization servers only as https URLs: an
 * https issuer is its own, a plain issuer name gives none. */
static void test_authorization_servers(void **state)
{
	char path[] = "/tmp/mcpi-config-XXXXXX", err[256];
	struct config cfg;
	(void)state;
	write_good_config(path);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.authorization_servers, "");
	config_free(&cfg);
	setenv("MCP_INVOICED_JWT_ISSUER", "https://login.example.test/tenant", 1);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.authorization_servers, "https://login.example.test/tenant");
	config_free(&cfg);
	setenv("MCP_INVOICED_AUTHORIZATION_SERVERS", "https://a.example.test https://b.example.test", 1);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.authorization_servers, "https://a.example.test https://b.example.test");
	config_free(&cfg);
	setenv("MCP_INVOICED_AUTHORIZATION_SERVERS", "https://a.example.test http://b.example.test", 1);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "authorization_servers must be https:// URLs separated by spaces, "
	                            "got 'http://b.example.test'"));
	config_free(&cfg);
	unsetenv("MCP_INVOICED_AUTHORIZATION_SERVERS");
	unsetenv("MCP_INVOICED_JWT_ISSUER");
	unlink(path);
}

static void test_dump_hides_passwords(void **state)
{
	struct config cfg;
	char err[256], dump[8192];
	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_parse_text(&cfg, "f", "database_url = postgresql://u:hunter2@h/db\n"
	                                   "migrate_database_url = host=h password=hunter2\n",
	                                   err, sizeof(err)), 0);
	config_dump(&cfg, dump, sizeof(dump));
	assert_null(strstr(dump, "hunter2"));
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_errors_name_line_and_reason),
		cmocka_unit_test(test_validate_cross_rules),
		cmocka_unit_test(test_load_file_and_environment),
		cmocka_unit_test(test_authorization_servers),
		cmocka_unit_test(test_dump_hides_passwords),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
