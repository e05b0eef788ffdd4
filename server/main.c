/*
 * main.c - the mcp-invoiced command line: serve, migrate, check-balances,
 * token, check-config, tools. Runs as the first process; `serve` becomes the master.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/check_balances.h"
#include "server/lib/log.h"
#include "server/master.h"
#include "server/migrate.h"
#include "server/proc/config.h"
#include "server/proto/entry.h"
#include "server/token_cli.h"

static void usage(FILE *out)
{
	fprintf(out,
	    "usage: mcp-invoiced COMMAND [options]\n"
	    "\n"
	    "commands:\n"
	    "  serve [--config FILE]          run the server in the foreground (master + workers)\n"
	    "  migrate [--config FILE]        apply database migrations (safe to repeat)\n"
	    "  check-balances [--config FILE] compare the kept open balances with the invoices\n"
	    "                                 (exit 0: equal, 3: differences, printed)\n"
	    "  token --sub S --tenant T [--scope \"...\"] [--ttl SECONDS] [--config FILE]\n"
	    "                                 mint an HS256 token for development and tests\n"
	    "  check-config [--config FILE]   validate the configuration and print it\n"
	    "  tools                          print the tool table (Markdown)\n"
	    "  config-keys                    print every configuration key, its range and default\n"
	    "  statements                     print the SQL every worker prepares (name, statement)\n"
	    "  --version, --help\n"
	    "\n"
	    "The configuration file defaults to " CONFIG_DEFAULT_PATH "; every key can be\n"
	    "overridden by the environment variable MCP_INVOICED_<KEY>.\n");
}

struct cli {
	const char *config;
	const char *sub;
	const char *tenant;
	const char *scope;
	long ttl;
};

static int parse_options(int argc, char **argv, struct cli *o)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "mcp-invoiced: option %s needs a value\n", a);
			return -1;
		}
		if (strcmp(a, "--config") == 0)
			o->config = v;
		else if (strcmp(a, "--sub") == 0)
			o->sub = v;
		else if (strcmp(a, "--tenant") == 0)
			o->tenant = v;
		else if (strcmp(a, "--scope") == 0)
			o->scope = v;
		else if (strcmp(a, "--ttl") == 0) {
			char *end;
			o->ttl = strtol(v, &end, 10);
			if (*end || o->ttl < 1 || o->ttl > 31536000) {
				fprintf(stderr, "mcp-invoiced: --ttl must be 1-31536000 seconds\n");
				return -1;
			}
		} else {
			fprintf(stderr, "mcp-invoiced: unknown option %s\n", a);
			return -1;
		}
		i++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli o = { .scope = "invoices:read invoices:write payments:write", .ttl = 3600 };
	struct config cfg;
	char err[1024];
	const char *cmd = argc > 1 ? argv[1] : "--help";

	log_init("cli", LOG_INFO);
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return argc > 1 ? 0 : 2;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("mcp-invoiced %s\n", MCPI_VERSION);
		return 0;
	}
	if (strcmp(cmd, "config-keys") == 0) {
		config_keys_print(stdout);
		return 0;
	}
	if (strcmp(cmd, "statements") == 0) {
		db_statements_print(stdout);
		return 0;
	}
	if (strcmp(cmd, "tools") == 0) {
		char *md = tools_markdown();
		fputs(md, stdout);
		free(md);
		return 0;
	}
	if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0 && strcmp(cmd, "check-balances") != 0 &&
	    strcmp(cmd, "token") != 0 && strcmp(cmd, "check-config") != 0) {
		fprintf(stderr, "mcp-invoiced: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (config_load(&cfg, o.config, err, sizeof(err)) < 0) {
		fprintf(stderr, "mcp-invoiced: configuration error: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (strcmp(cmd, "serve") == 0)
		return master_run(&cfg, o.config);
	if (strcmp(cmd, "migrate") == 0) {
		int rc = migrate_run(&cfg) < 0 ? 1 : 0;
		config_free(&cfg);
		return rc;
	}
	if (strcmp(cmd, "check-balances") == 0) {
		int rc = check_balances_run(&cfg, stdout);
		config_free(&cfg);
		return rc < 0 ? 1 : rc > 0 ? 3 : 0;
	}
	if (strcmp(cmd, "token") == 0) {
		int rc;
		if (!o.sub || !o.tenant) {
			fprintf(stderr, "mcp-invoiced: token needs --sub and --tenant\n");
			config_free(&cfg);
			return 2;
		}
		rc = token_mint(&cfg, o.sub, o.tenant, o.scope, o.ttl);
		config_free(&cfg);
		return rc;
	}
	{
		char dump[8192];
		config_dump(&cfg, dump, sizeof(dump));
		printf("# configuration OK (%s)\n%s", cfg.source_path ? cfg.source_path : "defaults and environment", dump);
		config_free(&cfg);
	}
	return 0;
}
