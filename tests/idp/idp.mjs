// idp.mjs - a real OpenID provider for the identity tests: panva's
// oidc-provider on HTTPS loopback, with resource indicators (RFC 8707),
// JWT access tokens (RFC 9068) carrying tenant_id, dynamic client
// registration, PKCE, a pre-registered public client and a machine client
// (client_credentials). Its dev login and consent pages are completed over
// HTTP by client.mjs. /test/* are the test's own handles: counters of the
// JWKS and metadata fetches, and tokens signed with the provider's keys or
// forged by an attacker.
//
//   node idp.mjs serve CONFIG.json        (prints "listening" when up)
//   node idp.mjs genkey ALG KID           (prints a private JWK)
import fs from 'node:fs';
import https from 'node:https';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import * as jose from 'jose';

const SCOPES = 'invoices:read invoices:write payments:write';

async function genkey(alg, kid) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  Object.assign(jwk, { kid, alg, use: 'sig' });
  process.stdout.write(JSON.stringify(jwk) + '\n');
}

function body(req) {
  return new Promise((resolve) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => resolve(parts.length ? JSON.parse(Buffer.concat(parts)) : {}));
  });
}

async function sign(keys, { claims, header = {}, kid }) {
  const jwk = kid ? keys.find((k) => k.kid === kid) : keys[0];
  const key = await jose.importJWK(jwk, jwk.alg);
  return new jose.SignJWT(claims).setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'at+jwt', ...header }).sign(key);
}

// Tokens an attacker makes: each must be refused.
async function forge(keys, { kind, claims }) {
  const real = keys[0];
  const pub = { ...real };
  for (const p of ['d', 'p', 'q', 'dp', 'dq', 'qi']) delete pub[p];
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  if (kind === 'none')
    return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
  if (kind === 'hs256-public-key') {
    // HS256 keyed with the provider's public key (as PEM and as JWK text):
    // the algorithm-confusion attack.
    const pem = crypto.createPublicKey({ key: pub, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const input = `${enc({ alg: 'HS256', typ: 'JWT', kid: real.kid })}.${enc(claims)}`;
    return `${input}.${crypto.createHmac('sha256', pem).update(input).digest('base64url')}`;
  }
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const attackerJwk = await jose.exportJWK(publicKey);
  const header = { alg: 'ES256', kid: real.kid, typ: 'JWT' };
  if (kind === 'jwk') header.jwk = attackerJwk;
  if (kind === 'jku') header.jku = 'https://127.0.0.1:1/attacker-jwks';
  if (kind === 'x5u') header.x5u = 'https://127.0.0.1:1/attacker.pem';
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(privateKey);
}

async function serve(path) {
  const cfg = JSON.parse(fs.readFileSync(path, 'utf8'));
  const issuer = `https://127.0.0.1:${cfg.port}`;
  const stats = { jwks: 0, discovery: 0 };
  const allowed = [cfg.resource, ...(cfg.other_resources || [])];
  const provider = new Provider(issuer, {
    jwks: { keys: cfg.keys },
    clients: [
      { client_id: 'preregistered-public', token_endpoint_auth_method: 'none', redirect_uris: [cfg.redirect_uri],
        grant_types: ['authorization_code'], response_types: ['code'] },
      { client_id: 'machine', client_secret: cfg.machine_secret, grant_types: ['client_credentials'],
        redirect_uris: [], response_types: [] },
    ],
    scopes: ['openid', ...SCOPES.split(' ')],
    clientDefaults: { grant_types: ['authorization_code'], response_types: ['code'],
                      id_token_signed_response_alg: cfg.keys[0].alg },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => cfg.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (!allowed.includes(resource)) throw new errors.InvalidTarget();
          return { scope: SCOPES, audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 3600,
                   jwt: { sign: { alg: cfg.keys[0].alg } } };
        },
      },
    },
    extraTokenClaims: () => ({ tenant_id: cfg.tenant }),
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.use(async (ctx, next) => {
    if (ctx.path === '/jwks') stats.jwks++;
    if (ctx.path.startsWith('/.well-known/')) stats.discovery++;
    await next();
  });
  const app = provider.callback();
  const server = https.createServer({ cert: fs.readFileSync(cfg.cert), key: fs.readFileSync(cfg.key) }, async (req, res) => {
    if (!req.url.startsWith('/test/')) return app(req, res);
    try {
      let out;
      if (req.url === '/test/stats') out = stats;
      else if (req.url === '/test/sign') out = { token: await sign(cfg.keys, await body(req)) };
      else if (req.url === '/test/forge') out = { token: await forge(cfg.keys, await body(req)) };
      else { res.writeHead(404); return res.end(); }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out));
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  server.listen(cfg.port, '127.0.0.1', () => console.log('listening'));
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'genkey') await genkey(args[0], args[1]);
else if (cmd === 'serve') await serve(args[0]);
else { console.error('usage: idp.mjs serve CONFIG | genkey ALG KID'); process.exit(2); }
