// client.mjs - the official MCP TypeScript SDK client with its OAuth
// support (@modelcontextprotocol/sdk/client/auth.js) against mcp-invoiced:
// on 401 it reads the protected-resource metadata, discovers the
// authorization server, registers (dynamically, or uses a pre-registered
// client id), runs authorization code + PKCE with a resource indicator,
// and on a 403 insufficient_scope steps up. The OAuthClientProvider below
// completes oidc-provider's login and consent pages over HTTP (cookies,
// forms) as a person in a browser would.
//
//   node client.mjs MCP_URL MODE [SCOPE]   MODE: dcr | preregistered | stepup
// Prints one JSON line: what happened.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const [url, mode, scope] = process.argv.slice(2);
const REDIRECT = 'http://127.0.0.1:9/callback';
const log = { authorizations: 0, registered: null, scopes: [] };

// A browser: cookies per host, redirects followed by hand until the
// redirect URI, forms filled (login, then consent) and posted.
async function completeInBrowser(authUrl) {
  const jar = new Map();
  let next = authUrl.toString(), method = 'GET', form = null;
  for (let hop = 0; hop < 20; hop++) {
    const headers = { cookie: [...jar.entries()].map(([k, v]) => `${k}=${v}`).join('; ') };
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(next, { method, headers, body: form, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const i = kv.indexOf('=');
      jar.set(kv.slice(0, i), kv.slice(i + 1));
    }
    form = null;
    method = 'GET';
    if (res.status >= 300 && res.status < 400) {
      next = new URL(res.headers.get('location'), next).toString();
      if (next.startsWith(REDIRECT)) {
        const u = new URL(next);
        if (u.searchParams.get('error')) throw new Error(`authorization refused: ${u.searchParams.get('error_description')}`);
        return u.searchParams.get('code');
      }
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html);
    if (!action) throw new Error(`no form at ${next}: ${res.status} ${html.slice(0, 300)}`);
    const fields = new URLSearchParams();
    for (const [tag] of html.matchAll(/<input[^>]*>/g)) {
      const name = /name="([^"]+)"/.exec(tag), value = /value="([^"]*)"/.exec(tag);
      if (name) fields.set(name[1], value ? value[1] : '');
    }
    if (fields.has('login')) { fields.set('login', 'agent-alice'); fields.set('password', 'any'); }
    next = new URL(action[1], next).toString();
    method = 'POST';
    form = fields.toString();
  }
  throw new Error('too many redirects');
}

class Provider {
  constructor(clientId) {
    this._client = clientId ? { client_id: clientId } : undefined;
    this._tokens = undefined;
    this.code = null;
  }
  get redirectUrl() { return REDIRECT; }
  get clientMetadata() {
    return { client_name: 'mcp-invoiced identity test', redirect_uris: [REDIRECT], grant_types: ['authorization_code'],
             response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() { return this._client; }
  saveClientInformation(info) {
    if (info.client_id !== this._client?.client_id) log.registered = info.client_id;
    this._client = info;
  }
  tokens() { return this._tokens; }
  saveTokens(t) { this._tokens = t; log.scopes.push(t.scope ?? null); }
  saveCodeVerifier(v) { this._verifier = v; }
  codeVerifier() { return this._verifier; }
  async redirectToAuthorization(authUrl) {
    log.authorizations++;
    // A least-privilege client: its first authorization asks for SCOPE only
    // (the SDK would ask for every scope the metadata lists).
    if (scope && log.authorizations === 1) authUrl.searchParams.set('scope', scope);
    log.resource = authUrl.searchParams.get('resource');
    log.code_challenge_method = authUrl.searchParams.get('code_challenge_method');
    log.requested_scope = authUrl.searchParams.get('scope');
    this.code = await completeInBrowser(authUrl);
  }
}

const provider = new Provider(mode === 'preregistered' ? 'preregistered-public' : undefined);

// Runs fn; when the SDK needed the user to authorize (401, or a 403 step
// up), completes it and runs fn again on a new transport.
async function authorized(fn) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
    try {
      return await fn(transport);
    } catch (e) {
      if (!(e instanceof UnauthorizedError) || !provider.code) throw e;
      await transport.finishAuth(provider.code);
      provider.code = null;
    }
  }
  throw new Error('still unauthorized');
}

async function session(transport) {
  const client = new Client({ name: 'mcpi-identity-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

try {
  const client = await authorized(session);
  const tools = await client.listTools();
  log.tools = tools.tools.map((t) => t.name).sort();
  const read = await client.callTool({ name: 'list_customers', arguments: {} });
  log.read_ok = !read.isError;
  if (mode === 'stepup') {
    // The token holds invoices:read only: a write is 403 insufficient_scope,
    // the SDK asks for the scopes the challenge names, and the retry works.
    let saved;
    try {
      saved = await client.callTool({ name: 'upsert_customer', arguments: { customer_id: 'stepup-co', name: 'Step Up Co' } });
    } catch (e) {
      if (!(e instanceof UnauthorizedError) || !provider.code) throw e;
      await client.transport.finishAuth(provider.code);
      provider.code = null;
      saved = await client.callTool({ name: 'upsert_customer', arguments: { customer_id: 'stepup-co', name: 'Step Up Co' } });
    }
    log.write_ok = !saved.isError;
  }
  log.access_token = provider.tokens()?.access_token;
  await client.close();
  console.log(JSON.stringify({ ok: true, ...log }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e?.stack || e), ...log }));
  process.exit(1);
}
