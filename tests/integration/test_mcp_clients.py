"""The official MCP tools against the real server (tests/mcp-clients pins
them, with the Node 22 they need from npm's node package):

- the conformance suite (@modelcontextprotocol/conformance), every server
  scenario of 2025-11-25 and every scenario that 2026-07-28 requires. The
  suite cannot send a bearer token, so it talks to auth_proxy.AuthProxy,
  which adds one; the server verifies it as always. A scenario that needs
  the suite's own diagnostic fixtures (tools, prompts and resources named
  test_*) is left out, with the reason below; every other check must pass.
- the MCP Inspector CLI, straight over HTTPS with an Authorization header.
"""
import glob
import json
import os
import subprocess

from auth_proxy import AuthProxy
from harness import PORT, ROOT, Client, expect

SERVER = dict(workers=2)
CLIENTS = os.path.join(ROOT, "tests", "mcp-clients")
BIN = os.path.join(CLIENTS, "node_modules", ".bin")
SUITE = os.path.join(CLIENTS, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")

FIXTURE = "needs the suite's diagnostic fixture"
# Scenarios left out, and why. Everything else the suite runs must pass.
LEFT_OUT = {
    "tools-call-simple-text": FIXTURE + " tool test_simple_text",
    "tools-call-image": FIXTURE + " tool test_image_content",
    "tools-call-audio": FIXTURE + " tool test_audio_content",
    "tools-call-embedded-resource": FIXTURE + " tool test_embedded_resource",
    "tools-call-mixed-content": FIXTURE + " tool test_multiple_content_types",
    "tools-call-with-logging": FIXTURE + " tool test_tool_with_logging",
    "tools-call-error": FIXTURE + " tool test_error_handling",
    "tools-call-with-progress": FIXTURE + " tool test_tool_with_progress",
    "tools-call-sampling": FIXTURE + " tool test_sampling",
    "tools-call-elicitation": FIXTURE + " tool test_elicitation",
    "elicitation-sep1034-defaults": FIXTURE + " tool test_elicitation_sep1034_defaults",
    "elicitation-sep1330-enums": FIXTURE + " tool test_elicitation_sep1330_enums",
    "json-schema-2020-12": FIXTURE + " tool json_schema_2020_12_tool",
    "prompts-get-simple": FIXTURE + " prompt test_simple_prompt",
    "prompts-get-with-args": FIXTURE + " prompt test_prompt_with_arguments",
    "prompts-get-embedded-resource": FIXTURE + " prompt test_prompt_with_embedded_resource",
    "prompts-get-with-image": FIXTURE + " prompt test_prompt_with_image",
    "completion-complete": FIXTURE + " prompt test_prompt_with_arguments (this server answers "
                                     "an unknown prompt with -32602, as the specification asks)",
    "resources-read-text": FIXTURE + " resource test://static-text",
    "resources-read-binary": FIXTURE + " resource test://static-binary",
    "resources-templates-read": FIXTURE + " template test://template/{id}/data",
    "resources-subscribe": "no subscriptions: stateless, no server-to-client stream",
    "resources-unsubscribe": "no subscriptions: stateless, no server-to-client stream",
    "logging-set-level": "no logging capability: the server sends no log notifications",
    "server-sse-polling": "no SSE streams: every answer is one JSON response",
    "http-custom-header-server-validation": "no tool declares x-mcp-header parameters (pending SEP-2243)",
}
LEFT_OUT_PREFIXES = {
    "input-required-result-": FIXTURE + " tools (test_*) that ask the client for input",
    "tasks-": "tasks extension, not implemented",
}
# Checks inside scenarios that run, which the suite itself reports as not
# testable without a diagnostic tool; they must fail only that way.
NOT_TESTABLE = {
    "sep-2575-server-rejects-undeclared-capability": "test_missing_capability",
    "sep-2575-missing-capability-http-400": "test_missing_capability",
    "sep-2575-http-server-no-independent-requests-on-stream": "test_streaming_elicitation",
    "sep-2575-server-no-log-without-loglevel": "test_logging_tool",
}
# Checks the suite may report SKIPPED, and why; any other SKIPPED check
# fails the test (a skip is not a pass).
SUBSCRIPTIONS = "no subscriptions: stateless, no server-to-client stream"
SKIPS_ALLOWED = {
    "sep-2549-resources-read-caching-hints": "resources/list is empty by design (documents are reached "
                                             "by the URIs tools return): the check needs a listed "
                                             "resource to read",
    "sep-2575-server-sends-subscription-ack": SUBSCRIPTIONS,
    "sep-2575-server-tags-subscription-id": SUBSCRIPTIONS,
    "sep-2575-server-honors-notification-filter": SUBSCRIPTIONS,
    "sep-2575-server-sends-prompts-list-changed-on-subscription": SUBSCRIPTIONS,
    "sep-2575-server-sends-tools-list-changed-on-subscription": SUBSCRIPTIONS,
}
# Scenarios that must have run (so the test cannot pass on an empty run).
MUST_RUN = {
    "2025-11-25": {"server-initialize", "ping", "tools-list", "prompts-list", "resources-list",
                   "dns-rebinding-protection"},
    "2026-07-28": {"server-stateless", "tools-list", "prompts-list", "resources-list", "caching",
                   "sep-2164-resource-not-found", "dns-rebinding-protection"},
}


def ensure_installed():
    if not os.path.isfile(SUITE) or not os.path.exists(os.path.join(BIN, "mcp-inspector")):
        # npm install, not npm ci: the lock names a Windows-only optional
        # dependency it holds no entry for, which npm ci refuses; install
        # still takes every locked version and, with --no-save, changes
        # neither file.
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save", "--loglevel=error"],
                       cwd=CLIENTS, check=True, timeout=600)
    node = os.path.join(BIN, "node")
    v = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    expect(v.startswith("v22."), f"private Node 22 expected, got {v!r}")
    return node


def left_out_reason(scenario):
    if scenario in LEFT_OUT:
        return LEFT_OUT[scenario]
    for prefix, why in LEFT_OUT_PREFIXES.items():
        if scenario.startswith(prefix):
            return why
    return None


def run_suite(env, node, era_args, out):
    with AuthProxy(PORT, env.cafile, env.token(tenant="conformance-suite")) as proxy:
        run = subprocess.run([node, SUITE, "server", "--url", f"http://localhost:{proxy.port}/mcp",
                              "-o", out] + era_args, capture_output=True, text=True, timeout=540,
                             cwd=CLIENTS, env=dict(os.environ, NO_COLOR="1"))
    results = {}
    for path in glob.glob(os.path.join(out, "*", "checks.json")):
        name = os.path.basename(os.path.dirname(path))
        scenario = name[len("server-"):].rsplit("-", 6)[0]  # server-<scenario>-<timestamp>
        with open(path) as f:
            results[scenario] = json.load(f)
    expect(results, "the suite wrote no results:\n" + run.stdout[-2000:] + run.stderr[-2000:])
    return results


def judge(era, results):
    passed, skipped, left, problems = 0, 0, [], []
    for scenario, checks in sorted(results.items()):
        why = left_out_reason(scenario)
        if why:
            left.append(scenario)
            continue
        for ch in checks:
            status = ch.get("status")
            if status == "SKIPPED":
                if ch["id"] in SKIPS_ALLOWED:
                    skipped += 1
                    continue
                problems.append(f"{era} {scenario}/{ch['id']}: SKIPPED without a reason in SKIPS_ALLOWED "
                                f"{ch.get('errorMessage', '')}")
                continue
            if status in ("SUCCESS", "INFO", "WARNING"):
                passed += status == "SUCCESS"
                if status == "WARNING":
                    print(f"    warning {era} {scenario}/{ch['id']}: {ch.get('errorMessage', '')}")
                continue
            tool = NOT_TESTABLE.get(ch["id"])
            if tool and tool in (ch.get("errorMessage") or "") and "Not testable" in ch["errorMessage"]:
                continue
            problems.append(f"{era} {scenario}/{ch['id']}: {status} {ch.get('errorMessage', '')}")
    missing = MUST_RUN[era] - set(results)
    expect(not missing, f"{era}: scenarios that did not run: {sorted(missing)}")
    expect(not problems, "conformance failures:\n" + "\n".join(problems))
    print(f"    conformance {era}: {len(results) - len(left)} scenarios run, {passed} checks passed, "
          f"0 failed, {skipped} skipped as allowed; {len(left)} left out (diagnostic fixtures, subscriptions, "
          f"logging, tasks)")
    expect(passed > 0, f"{era}: no check passed")


def test_official_conformance_suite_2025_11_25(env):
    node = ensure_installed()
    results = run_suite(env, node, ["--spec-version", "2025-11-25"], os.path.join(env.dir, "conf-2025"))
    judge("2025-11-25", results)


def test_official_conformance_suite_2026_07_28(env):
    node = ensure_installed()
    results = run_suite(env, node, ["--requirements", "2026-07-28"], os.path.join(env.dir, "conf-2026"))
    judge("2026-07-28", results)


def inspector(env, node, *args, stderr=None):
    cmd = [node, os.path.join(BIN, "mcp-inspector"), "--cli", f"https://127.0.0.1:{PORT}/mcp",
           "--header", "Authorization: Bearer " + env.token(tenant="inspector")] + list(args)
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=CLIENTS,
                         env=dict(os.environ, NODE_EXTRA_CA_CERTS=env.cafile, NO_COLOR="1"))
    expect(run.returncode == 0, (args, run.stdout[-1500:], run.stderr[-1500:]))
    if stderr is not None:
        stderr.append(run.stderr)
    return json.loads(run.stdout)


def test_mcp_inspector_cli(env):
    node = ensure_installed()
    lint = []
    tools = inspector(env, node, "--method", "tools/list", "--strict", stderr=lint)
    names = [t["name"] for t in tools["tools"]]
    expect("create_invoice" in names and "apply_payment" in names, names)
    # The Inspector's schema portability check (type unions, untyped and
    # remote schemas) finds nothing in any input or output schema.
    expect("Warning:" not in lint[0] and "Error:" not in lint[0] and "Schema portability" not in lint[0],
           lint[0][-2000:])
    made = inspector(env, node, "--method", "tools/call", "--tool-name", "upsert_customer",
                     "--tool-arg", "customer_id=inspector-1", "--tool-arg", "name=Inspector Ltd")
    expect(made.get("isError") is False, made)
    expect(made["structuredContent"]["customer_id"] == "inspector-1", made)
    got = inspector(env, node, "--method", "tools/call", "--tool-name", "get_customer",
                    "--tool-arg", "customer_id=inspector-1")
    expect(got["structuredContent"]["name"] == "Inspector Ltd", got)
    templates = inspector(env, node, "--method", "resources/templates/list")
    expect(isinstance(templates.get("resourceTemplates"), list), templates)
    prompts = inspector(env, node, "--method", "prompts/list")
    expect([p["name"] for p in prompts["prompts"]][:1] == ["collect_overdue"], prompts)
    prompt = inspector(env, node, "--method", "prompts/get", "--prompt-name", "collect_overdue",
                       "--prompt-args", "customer_id=inspector-1")
    expect("no overdue invoices" in prompt["messages"][0]["content"]["text"], prompt)
    print(f"    Inspector CLI: {len(names)} tools, tools/call, resources/templates/list, "
          f"{len(prompts['prompts'])} prompts, prompts/get")


def test_make_run_client_lines_work_as_printed(env):
    """The lines `make run` prints: the Inspector CLI line runs as printed
    (npx fetches Node 22 and the Inspector), the longer-lived token command
    mints a token the server accepts, and each JSON block parses."""
    conf = os.path.join(env.dir, "mcp-invoiced.conf")
    url = f"https://127.0.0.1:{PORT}/mcp"
    out = subprocess.run(["sh", os.path.join(ROOT, "tests", "client-lines.sh"), url, env.cafile, conf,
                          env.token(tenant="dev")], capture_output=True, text=True, check=True, timeout=30).stdout
    lines = out.splitlines()

    def after(title, n=1):
        i = next(k for k, line in enumerate(lines) if line.startswith(title))
        return "\n".join(line.strip() for line in lines[i + 1:i + 1 + n])

    mint = after("A longer-lived one").split("=", 1)[1]
    token = subprocess.run(["sh", "-c", "printf %s " + mint], capture_output=True, text=True,
                           check=True, timeout=30, cwd=ROOT).stdout.strip()
    st, _, body = Client(env, token).rpc("tools/list", {})
    expect(st == 200 and len(body["result"]["tools"]) >= 9, (st, body))
    claims = json.loads(base64_url(token.split(".")[1]))
    expect(claims["exp"] - claims["iat"] == 2592000, claims)

    cli = after("MCP Inspector CLI")
    expect(cli.startswith("NODE_EXTRA_CA_CERTS=") and "--cli " + url in cli, cli)
    run = subprocess.run(["sh", "-c", cli], capture_output=True, text=True, timeout=300, cwd=env.dir,
                         env=dict(os.environ, MCPI_TOKEN=token, NO_COLOR="1"))
    expect(run.returncode == 0, (cli, run.stdout[-1500:], run.stderr[-1500:]))
    expect("create_invoice" in [t["name"] for t in json.loads(run.stdout)["tools"]], run.stdout[:500])

    # No raw token in a file people commit: VS Code prompts once (secret
    # storage), Cursor and Claude Code read it from the environment.
    vscode = json.loads(after("VS Code", 2))
    expect(vscode["servers"]["invoices"]["url"] == url, vscode)
    expect(vscode["servers"]["invoices"]["headers"]["Authorization"] == "Bearer ${input:mcpi-token}", vscode)
    expect(vscode["inputs"][0]["id"] == "mcpi-token" and vscode["inputs"][0]["password"] is True, vscode)
    generic = json.loads(after("Cursor", 2))
    expect(generic["mcpServers"]["invoices"]["headers"]["Authorization"] == "Bearer ${env:MCPI_TOKEN}", generic)
    claude = after("Claude Code")
    expect(claude == f"claude mcp add --transport http invoices {url} --header "
           "'Authorization: Bearer ${MCPI_TOKEN}'", claude)
    expect(env.token(tenant="dev").split(".")[0] not in out.split("export MCPI_TOKEN=")[-1], "a raw token")

    # The TypeScript SDK program runs as printed.
    i = next(k for k, line in enumerate(lines) if line.startswith("An agent of your own"))
    program = "\n".join(line[2:] for line in lines[i + 2:] if line.startswith("  "))
    sdk = os.path.join(ROOT, "tests", "sdk")
    if not os.path.isdir(os.path.join(sdk, "node_modules", "@modelcontextprotocol")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=sdk,
                       check=True, timeout=300)
    path = os.path.join(sdk, "printed-agent.mjs")
    with open(path, "w") as f:
        f.write(program + "\n")
    try:
        run = subprocess.run(["node", path], capture_output=True, text=True, timeout=60, cwd=sdk,
                             env=dict(os.environ, MCPI_TOKEN=token, NODE_EXTRA_CA_CERTS=env.cafile))
    finally:
        os.unlink(path)
    expect(run.returncode == 0, (run.stdout[-1000:], run.stderr[-1500:]))
    names, owed = run.stdout.strip().splitlines()[:2]
    expect("create_invoice" in names.split() and "balances" in json.loads(owed), run.stdout[:500])


def base64_url(part):
    import base64
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
