// Test OpenID provider (oidc-provider 9) + fake Databricks workspace for gw's
// integration tests. One process, two loopback HTTP servers on ephemeral ports.
//
// stdout: exactly one JSON line once both servers listen:
//   {"issuer":"http://127.0.0.1:P1","workspace":"http://127.0.0.1:P2","client_id":"gw-test"}
// Then serves until stdin reaches EOF or SIGTERM/SIGINT arrives; exits 0.
// Diagnostics go to stderr only when IDP_DEBUG=1. See README.md for knobs.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as util from 'node:util';
import { createSqlApi } from './sql_api.mjs';

const DEBUG = process.env.IDP_DEBUG === '1';

// Keep stdout reserved for the single JSON line and stderr quiet unless
// IDP_DEBUG=1: oidc-provider prints notices with console.info (stdout!) and
// warnings with console.warn; Koa logs errors with console.error.
const log = DEBUG
  ? (...args) => { process.stderr.write(`[test-idp] ${util.format(...args)}\n`); }
  : () => {};
for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace']) console[m] = log;
process.removeAllListeners('warning');
process.on('warning', (w) => log('process warning:', w?.stack || w));

const jose = await import('jose');
// Key generation runs on libuv's thread pool; start it before the (slow)
// oidc-provider import so the two overlap.
const keysReady = Promise.all([
  makeKey('RS256', `rsa-${crypto.randomBytes(6).toString('hex')}`, { modulusLength: 2048 }),
  makeKey('ES256', `ec-${crypto.randomBytes(6).toString('hex')}`),
]);
// Imported after console is patched so import-time notices are silenced too.
const { default: Provider } = await import('oidc-provider');

// ---------------------------------------------------------------- settings --

function envInt(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`server.mjs: ${name} must be a non-negative integer, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return n;
}

const HOST = '127.0.0.1';
const CLIENT_ID = 'gw-test';
const ID_TOKEN_ALG = process.env.IDP_ID_TOKEN_ALG || 'RS256';
if (!['RS256', 'ES256'].includes(ID_TOKEN_ALG)) {
  process.stderr.write(`server.mjs: IDP_ID_TOKEN_ALG must be RS256 or ES256, got ${ID_TOKEN_ALG}\n`);
  process.exit(2);
}
const TTL = {
  IdToken: envInt('IDP_ID_TOKEN_TTL', 3600),
  AccessToken: envInt('IDP_ACCESS_TOKEN_TTL', 3600),
  RefreshToken: envInt('IDP_REFRESH_TOKEN_TTL', 86400),
  DeviceCode: envInt('IDP_DEVICE_CODE_TTL', 600),
};
const DEVICE_INTERVAL = process.env.IDP_DEVICE_INTERVAL ? envInt('IDP_DEVICE_INTERVAL', 5) : undefined;
const DEVICE_ENFORCE_INTERVAL = process.env.IDP_DEVICE_ENFORCE_INTERVAL === '1';
const NO_REFRESH_ID_TOKEN = process.env.IDP_NO_REFRESH_ID_TOKEN === '1';

const WS_AUDIENCE = process.env.WS_AUDIENCE || CLIENT_ID;
const WS_EXPECT_CLIENT_ID = process.env.WS_EXPECT_CLIENT_ID || undefined;
const WS_TOKEN_TTL = process.env.WS_TOKEN_TTL ? envInt('WS_TOKEN_TTL', 3600) : undefined;
const FAIL_MODES = new Set(['html502', 'policy403']);
let wsFailMode = process.env.WS_FAIL_MODE || null;
if (wsFailMode && !FAIL_MODES.has(wsFailMode)) {
  process.stderr.write(`server.mjs: WS_FAIL_MODE must be one of ${[...FAIL_MODES].join(', ')}\n`);
  process.exit(2);
}

// -------------------------------------------------------------------- keys --

async function makeKey(alg, kid, opts) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, ...opts });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, kid, alg, use: 'sig' };
}

const [rsaJwk, ecJwk] = await keysReady;
const PRIVATE_PARAMS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];
const publicJwks = {
  keys: [rsaJwk, ecJwk].map((k) => Object.fromEntries(
    Object.entries(k).filter(([name]) => !PRIVATE_PARAMS.includes(name)),
  )),
};
// The workspace verifies subject tokens against these keys in-process (no HTTP
// call, so the IdP's jwks counter only counts gw's own fetches).
const localJwks = jose.createLocalJWKSet(publicJwks);

// ----------------------------------------------------------------- helpers --

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

async function readBody(req, limit = 1024 * 1024) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const epoch = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------- in-memory adapter (listable) --
// Own adapter instead of oidc-provider's LRU one so that __revoke_all can
// enumerate and drop every grant / token.

const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);

class Store {
  constructor() {
    this.items = new Map(); // key -> { payload, expiresAt }
    this.grants = new Map(); // grantId -> Set(key)
    this.userCodes = new Map(); // userCode -> id
    this.sessionUids = new Map(); // uid -> id
  }

  get(key) {
    const item = this.items.get(key);
    if (!item) return undefined;
    if (item.expiresAt !== undefined && item.expiresAt <= Date.now()) {
      this.items.delete(key);
      return undefined;
    }
    return item.payload;
  }

  delete(key) {
    this.items.delete(key);
  }

  clearModels(models) {
    for (const key of [...this.items.keys()]) {
      if (models.has(key.slice(0, key.indexOf(':')))) this.items.delete(key);
    }
    this.grants.clear();
    this.userCodes.clear();
  }
}

const store = new Store();

class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + (expiresIn * 1000) : undefined;
    store.items.set(key, { payload, expiresAt });
    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!store.grants.has(payload.grantId)) store.grants.set(payload.grantId, new Set());
      store.grants.get(payload.grantId).add(key);
    }
    if (payload.userCode) store.userCodes.set(payload.userCode, id);
    if (this.model === 'Session' && payload.uid) store.sessionUids.set(payload.uid, id);
  }

  async find(id) {
    return id === undefined ? undefined : store.get(this.key(id));
  }

  async findByUserCode(userCode) {
    return this.find(store.userCodes.get(userCode));
  }

  async findByUid(uid) {
    return this.find(store.sessionUids.get(uid));
  }

  async consume(id) {
    const payload = store.get(this.key(id));
    if (payload) payload.consumed = epoch();
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const keys = store.grants.get(grantId);
    if (!keys) return;
    for (const key of [...keys]) {
      if (key.startsWith(`${this.model}:`)) {
        store.delete(key);
        keys.delete(key);
      }
    }
    if (keys.size === 0) store.grants.delete(grantId);
  }
}

// --------------------------------------------------------------------- IdP --

const idpStats = () => ({
  discovery: 0,
  jwks: 0,
  authorize: 0,
  token_authorization_code: 0,
  token_refresh_token: 0,
  token_device_code: 0,
  device_authorization: 0,
  refresh_token_reuse: 0,
});
let istats = idpStats();

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const GRANT_COUNTER = {
  authorization_code: 'token_authorization_code',
  refresh_token: 'token_refresh_token',
  [DEVICE_GRANT]: 'token_device_code',
};

const idpServer = http.createServer();
const idpPort = await listen(idpServer);
const ISSUER = `http://${HOST}:${idpPort}`;
// The workspace listens before the IdP is configured: its U2M relay is a registered redirect.
const wsServer = http.createServer();
const wsPort = await listen(wsServer);
const WORKSPACE = `http://${HOST}:${wsPort}`;
const U2M_RELAY = `${WORKSPACE}/oidc/v1/relay`;

const nativeClient = (clientId, redirectUris) => ({
  client_id: clientId,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
  response_types: ['code'],
  redirect_uris: redirectUris,
  id_token_signed_response_alg: ID_TOKEN_ALG,
});

const provider = new Provider(ISSUER, {
  adapter: TestAdapter,
  clients: [
    // oidc-provider ignores the port when matching loopback (127.0.0.1, ::1,
    // localhost) http redirect URIs of native clients (RFC 8252 section 7.3).
    nativeClient(CLIENT_ID, ['http://127.0.0.1/callback', 'http://localhost/']),
    nativeClient('databricks-cli', ['http://localhost:8020', 'http://localhost:8020/', U2M_RELAY]),
  ],
  jwks: { keys: [rsaJwk, ecJwk] },
  responseTypes: ['code'],
  cookies: {
    keys: [crypto.randomBytes(32).toString('base64url'), crypto.randomBytes(32).toString('base64url')],
  },
  // all-apis: so the databricks-cli client can emulate Databricks U2M scopes.
  scopes: ['openid', 'offline_access', 'all-apis'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
  },
  // Put the claims of granted scopes straight into the ID token.
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: sub,
          email_verified: true,
          preferred_username: sub,
          name: sub.split('@')[0],
        };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
  },
  pkce: { required: () => true },
  // Like Entra/Okta: a refresh token whenever offline_access was requested
  // (see the extraParams hook below that keeps offline_access without
  // prompt=consent) and the client may use the refresh_token grant.
  async issueRefreshToken(ctx, client, code) {
    return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
  },
  rotateRefreshToken: true,
  extraParams: {
    // oidc-provider strips offline_access from an authorization request unless
    // prompt includes "consent" (OIDC Core 11). Real IdPs don't, and gw must
    // not force a consent screen. Extra-param validators run after the scope
    // check for every authorization request (even when the param is absent),
    // so this one re-adds offline_access when the raw request asked for it.
    async x_test_idp_keep_offline_access(ctx) {
      if (ctx.oidc.route !== 'authorization') return;
      const raw = ctx.method === 'POST' ? ctx.oidc.body?.scope : ctx.query.scope;
      if (typeof raw !== 'string' || !raw.split(' ').includes('offline_access')) return;
      if (!ctx.oidc.client?.grantTypeAllowed('refresh_token')) return;
      if (!String(ctx.oidc.params.response_type || '').split(' ').includes('code')) return;
      const scopes = new Set((ctx.oidc.params.scope || '').split(' ').filter(Boolean));
      if (!scopes.has('offline_access')) {
        scopes.add('offline_access');
        ctx.oidc.params.scope = [...scopes].join(' ');
      }
    },
  },
  ttl: {
    AccessToken: TTL.AccessToken,
    IdToken: TTL.IdToken,
    RefreshToken: TTL.RefreshToken,
    DeviceCode: TTL.DeviceCode,
    AuthorizationCode: 60,
    Interaction: 3600,
    Session: Math.max(TTL.RefreshToken, 14 * 24 * 3600),
    Grant: Math.max(TTL.RefreshToken, 14 * 24 * 3600),
  },
});
provider.proxy = false;

provider.on('server_error', (ctx, err) => log('server_error', err?.stack || err));
provider.on('grant.error', (ctx, err) => log('grant.error', err?.error, err?.error_detail || err?.error_description));
provider.on('authorization.error', (ctx, err) => log('authorization.error', err?.error, err?.error_detail || err?.error_description));

// Track last poll time per device_code for IDP_DEVICE_ENFORCE_INTERVAL.
const devicePolls = new Map();

function sendJson(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.set('cache-control', 'no-store');
  ctx.body = body;
}

// Secret values seen by either server (codes, verifiers, tokens): GET <issuer>/__secrets.
const secretsSeen = [];
// POST /__fail_jwks {"status": N}: /jwks answers N until set back to null.
let jwksFailStatus = null;

// Test-only routes and counters, mounted in front of oidc-provider's router.
provider.use(async (ctx, next) => {
  const { path, method } = ctx;
  log('idp', method, ctx.url);

  if (path === '/__stats' && method === 'GET') return sendJson(ctx, 200, istats);
  if (path === '/__secrets' && method === 'GET') return sendJson(ctx, 200, secretsSeen);
  if (path === '/__reset' && method === 'POST') {
    istats = idpStats();
    return sendJson(ctx, 200, { ok: true });
  }
  if (path === '/__revoke_all' && method === 'POST') {
    store.clearModels(new Set(['AccessToken', 'RefreshToken', 'AuthorizationCode', 'DeviceCode', 'Grant']));
    devicePolls.clear();
    return sendJson(ctx, 200, { ok: true });
  }
  if (path === '/__fail_jwks' && method === 'POST') {
    // {"status": 503} makes /jwks answer that status (an outage); {"status": null} ends it.
    const chunks = [];
    for await (const c of ctx.req) chunks.push(c);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    jwksFailStatus = body.status ?? null;
    return sendJson(ctx, 200, { status: jwksFailStatus });
  }
  if (path.startsWith('/__')) return sendJson(ctx, 404, { error: 'not_found' });

  if (path === '/.well-known/openid-configuration') istats.discovery += 1;
  else if (path === '/jwks') {
    istats.jwks += 1;
    if (jwksFailStatus !== null) {
      ctx.status = jwksFailStatus;
      ctx.type = 'text/html';
      ctx.body = `<html><body><h1>${jwksFailStatus}</h1></body></html>`;
      return undefined;
    }
  }
  else if (path === '/auth') istats.authorize += 1;
  else if (path === '/device/auth' && method === 'POST') {
    istats.device_authorization += 1;
    await next();
    if (ctx.status === 200 && ctx.body && typeof ctx.body === 'object' && DEVICE_INTERVAL !== undefined) {
      // oidc-provider omits "interval" (clients then default to 5 s, RFC 8628 3.2).
      ctx.body = { ...ctx.body, interval: DEVICE_INTERVAL };
    }
    return undefined;
  }

  if (path === '/token' && method === 'POST') {
    // Read the form ourselves to learn grant_type; oidc-provider falls back to
    // req.body when the stream has already been consumed.
    const raw = await readBody(ctx.req, 64 * 1024);
    ctx.req.body = raw.toString('utf8');
    const form = new URLSearchParams(ctx.req.body);
    const gty = form.get('grant_type');
    if (GRANT_COUNTER[gty]) istats[GRANT_COUNTER[gty]] += 1;

    if (gty === 'refresh_token' && form.get('refresh_token')) {
      const rt = await provider.RefreshToken.find(form.get('refresh_token'), { ignoreExpiration: true });
      // oidc-provider answers invalid_grant and revokes the whole grant.
      if (rt?.consumed) istats.refresh_token_reuse += 1;
    }

    if (gty === DEVICE_GRANT && DEVICE_ENFORCE_INTERVAL && form.get('device_code')) {
      const dc = form.get('device_code');
      const now = Date.now();
      const last = devicePolls.get(dc);
      devicePolls.set(dc, now);
      const minMs = ((DEVICE_INTERVAL ?? 5) * 1000) - 250;
      if (last !== undefined && now - last < minMs) {
        return sendJson(ctx, 400, {
          error: 'slow_down',
          error_description: 'you are polling too quickly and should back off at a reasonable rate',
        });
      }
    }

    await next();

    // Every secret that crossed this endpoint, for the tests' leak scans.
    for (const f of ['code', 'code_verifier', 'refresh_token', 'device_code']) {
      if (form.get(f)) secretsSeen.push(form.get(f));
    }
    if (ctx.body && typeof ctx.body === 'object') {
      for (const f of ['access_token', 'refresh_token', 'id_token']) {
        if (typeof ctx.body[f] === 'string') secretsSeen.push(ctx.body[f]);
      }
    }

    if (NO_REFRESH_ID_TOKEN && gty === 'refresh_token' && ctx.status === 200
      && ctx.body && typeof ctx.body === 'object') {
      const { id_token: _dropped, ...rest } = ctx.body;
      ctx.body = rest;
    }
    return undefined;
  }

  return next();
});

idpServer.on('request', provider.callback());

// ------------------------------------------------------- fake workspace --

// messages / count_tokens / anthropic_401 / anthropic_other are bumped by
// anthropic.mjs's handler through ctx.stats (server.mjs does not touch them).
const wsStats = () => ({
  u2m: 0, exchange: 0, exchange_ok: 0, messages: 0, count_tokens: 0, anthropic_401: 0, anthropic_other: 0,
});
const wstats = wsStats();
const issuedTokens = new Map(); // token -> { sub, exp }
let recorded = [];

function send(res, status, body, headers = {}) {
  const isJson = typeof body !== 'string';
  const payload = isJson ? JSON.stringify(body) : body;
  res.writeHead(status, {
    'content-type': isJson ? 'application/json' : 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

const oauthError = (res, status, error, description) => send(res, status, { error, error_description: description });

function validateBearer(token) {
  if (typeof token !== 'string' || token === '') return { ok: false, reason: 'missing bearer token' };
  const t = token.replace(/^bearer\s+/i, '').trim();
  const entry = issuedTokens.get(t);
  if (!entry) return { ok: false, reason: 'unknown token' };
  if (entry.exp <= epoch()) return { ok: false, reason: 'token expired' };
  return { ok: true, sub: entry.sub };
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

async function tokenExchange(req, res) {
  const raw = (await readBody(req, 256 * 1024)).toString('utf8');
  const grant = new URLSearchParams(raw).get('grant_type');
  if (grant === 'authorization_code' || grant === 'refresh_token') return u2mToken(raw, res);
  wstats.exchange += 1;
  if (exchangeDelayMs > 0) await new Promise((r) => setTimeout(r, exchangeDelayMs));

  if (wsFailMode === 'html502') {
    return send(res, 502, '<html><body><h1>502 Bad Gateway</h1></body></html>', { 'content-type': 'text/html' });
  }
  if (wsFailMode === 'policy403') {
    return send(res, 403, {
      error: 'invalid_request',
      error_description: 'Token exchange failed: no matching federation policy found for the token issuer and subject',
    });
  }

  const ctype = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
  if (ctype !== 'application/x-www-form-urlencoded') {
    return oauthError(res, 400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
  }
  const form = new URLSearchParams(raw);
  for (const [name, value] of [...form]) {
    if (form.getAll(name).length > 1) return oauthError(res, 400, 'invalid_request', `duplicate parameter: ${name}`);
    if (value === '') form.delete(name);
  }
  if (form.get('grant_type') !== TOKEN_EXCHANGE) {
    return oauthError(res, 400, form.has('grant_type') ? 'unsupported_grant_type' : 'invalid_request',
      form.has('grant_type') ? `unsupported grant_type: ${form.get('grant_type')}` : 'missing grant_type');
  }
  if (form.get('subject_token_type') !== JWT_TOKEN_TYPE) {
    return oauthError(res, 400, 'invalid_request', `subject_token_type must be ${JWT_TOKEN_TYPE}`);
  }
  if (form.get('scope') !== 'all-apis') {
    return oauthError(res, 400, 'invalid_request', 'scope must be all-apis');
  }
  if (!form.has('subject_token')) {
    return oauthError(res, 400, 'invalid_request', 'missing subject_token');
  }
  if (WS_EXPECT_CLIENT_ID) {
    if (form.get('client_id') !== WS_EXPECT_CLIENT_ID) {
      return oauthError(res, 400, 'invalid_request', `client_id must be ${WS_EXPECT_CLIENT_ID} for this federation policy`);
    }
  } else if (form.has('client_id')) {
    return oauthError(res, 400, 'invalid_request', 'client_id must not be sent for account-wide token federation');
  }

  const subjectToken = form.get('subject_token');
  try {
    jose.decodeProtectedHeader(subjectToken);
    jose.decodeJwt(subjectToken);
  } catch {
    return oauthError(res, 400, 'invalid_request', 'subject_token is not a valid JWT');
  }

  let payload;
  try {
    ({ payload } = await jose.jwtVerify(subjectToken, localJwks, {
      algorithms: ['RS256', 'ES256'],
      issuer: ISSUER,
      audience: WS_AUDIENCE,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch (err) {
    if (err?.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && err.claim === 'aud') {
      return oauthError(res, 400, 'invalid_grant', `Token audience does not match the federation policy (expected ${WS_AUDIENCE})`);
    }
    let why;
    switch (err?.code) {
      case 'ERR_JWT_EXPIRED': why = 'Token is expired'; break;
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': why = `Token claim "${err.claim}" is invalid: ${err.reason}`; break;
      case 'ERR_JOSE_ALG_NOT_ALLOWED': why = 'Token signing algorithm is not allowed'; break;
      case 'ERR_JWKS_NO_MATCHING_KEY': why = 'No matching key found for the token signature'; break;
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': why = 'Token signature verification failed'; break;
      default: why = `Token validation failed: ${err?.message || err}`;
    }
    return oauthError(res, 401, 'invalid_grant', why);
  }

  const now = epoch();
  let expiresIn = payload.exp - now;
  if (WS_TOKEN_TTL !== undefined) expiresIn = Math.min(expiresIn, WS_TOKEN_TTL);
  if (expiresIn <= 0) return oauthError(res, 401, 'invalid_grant', 'Token is expired');

  const accessToken = `dbx_${crypto.randomBytes(24).toString('hex')}`;
  secretsSeen.push(subjectToken, accessToken);
  issuedTokens.set(accessToken, { sub: payload.sub, exp: now + expiresIn });
  wstats.exchange_ok += 1;
  return send(res, 200, {
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: expiresIn,
    scope: 'all-apis',
  });
}

// Databricks' own OAuth (U2M, client `databricks-cli`): the workspace is the authorization
// server, with issuer `<workspace>/oidc` (RFC 8414: the issuer its metadata URL is formed
// from). The fake relays to the test IdP: `/oidc/v1/authorize` sends the browser to the IdP
// with the workspace's relay as redirect URI; the relay sends it on to the client's own
// redirect URI with `code` and `state` only (no `iss`: the IdP's would not be the workspace's);
// code and refresh grants posted to `/oidc/v1/token` are forwarded to the IdP with the relay
// as redirect URI, and the access tokens it returns become workspace tokens.
const u2mRedirects = new Map(); // state -> the client's redirect_uri

function u2mAuthorize(url, res) {
  const q = new URLSearchParams(url.search);
  const state = q.get('state');
  const redirect = q.get('redirect_uri');
  if (!state || !redirect) return send(res, 400, { error: 'invalid_request', error_description: 'state and redirect_uri are required' });
  u2mRedirects.set(state, redirect);
  q.set('redirect_uri', U2M_RELAY);
  return send(res, 302, '', { location: `${ISSUER}/auth?${q}` });
}

function u2mRelay(url, res) {
  const q = new URLSearchParams(url.search);
  const state = q.get('state');
  const redirect = state && u2mRedirects.get(state);
  if (!redirect) return send(res, 400, { error: 'invalid_request', error_description: 'unknown state' });
  u2mRedirects.delete(state);
  const out = new URL(redirect);
  for (const k of ['code', 'state', 'error', 'error_description']) {
    if (q.has(k)) out.searchParams.set(k, q.get(k));
  }
  return send(res, 302, '', { location: out.href });
}

async function u2mToken(raw, res) {
  wstats.u2m += 1;
  const form = new URLSearchParams(raw);
  if (form.has('redirect_uri')) form.set('redirect_uri', U2M_RELAY);
  const upstream = await fetch(`${ISSUER}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const body = await upstream.json().catch(() => ({ error: 'server_error' }));
  if (upstream.ok && typeof body.access_token === 'string') {
    const expiresIn = WS_TOKEN_TTL !== undefined ? Math.min(body.expires_in, WS_TOKEN_TTL) : body.expires_in;
    body.expires_in = expiresIn;
    issuedTokens.set(body.access_token, { sub: 'u2m-user', exp: epoch() + expiresIn });
  }
  return send(res, upstream.status, body);
}

function u2mMetadata() {
  return {
    issuer: `${WORKSPACE}/oidc`,
    authorization_endpoint: `${WORKSPACE}/oidc/v1/authorize`,
    token_endpoint: `${WORKSPACE}/oidc/v1/token`,
    code_challenge_methods_supported: ['S256'],
    response_types_supported: ['code'],
  };
}

// POST /__delay {"ms": N}: hold every exchange N ms (crash tests kill gw meanwhile).
let exchangeDelayMs = 0;

let anthropicModule;
async function loadAnthropic() {
  if (!anthropicModule) {
    anthropicModule = import(new URL('./anthropic.mjs', import.meta.url).href).catch((err) => {
      anthropicModule = undefined; // retry on the next request (file may appear later)
      throw err;
    });
  }
  return anthropicModule;
}

const ANTHROPIC_PREFIXES = ['/serving-endpoints/anthropic', '/ai-gateway/anthropic'];
const agentsApi = await import(new URL('./agents_api.mjs', import.meta.url).href);
const modelCtx = {
  validateBearer,
  record(obj) { recorded.push(obj); },
  stats: wstats,
};

async function workspaceHandler(req, res) {
  const url = new URL(req.url, `http://${HOST}`);
  const path = url.pathname;
  const { method } = req;
  log('ws', method, req.url);

  if (ANTHROPIC_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))) {
    let mod;
    try {
      mod = await loadAnthropic();
    } catch (err) {
      const missing = err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('anthropic.mjs');
      log('anthropic.mjs import failed:', err?.stack || err);
      return send(res, missing ? 501 : 500, {
        error_code: missing ? 'NOT_IMPLEMENTED' : 'INTERNAL_ERROR',
        message: missing ? 'anthropic.mjs is not available' : `anthropic.mjs failed to load: ${err?.message}`,
      });
    }
    if (typeof mod.handleAnthropic !== 'function') {
      return send(res, 501, { error_code: 'NOT_IMPLEMENTED', message: 'anthropic.mjs does not export handleAnthropic' });
    }
    return mod.handleAnthropic(req, res, modelCtx);
  }
  if (agentsApi.handles(path)) return agentsApi.handleAgents(req, res, modelCtx);

  if (path === '/oidc/v1/token') {
    if (method !== 'POST') return oauthError(res, 405, 'invalid_request', 'method not allowed');
    return tokenExchange(req, res);
  }
  if (path === '/oidc/.well-known/oauth-authorization-server' && method === 'GET') {
    return send(res, 200, u2mMetadata());
  }
  if (path === '/oidc/v1/authorize' && method === 'GET') return u2mAuthorize(url, res);
  if (path === '/oidc/v1/relay' && method === 'GET') return u2mRelay(url, res);
  if (path === '/.well-known/databricks-config' && method === 'GET') {
    return send(res, 200, {
      account_id: '00000000-0000-0000-0000-000000000000',
      cloud: 'aws',
      host_type: 'WORKSPACE_HOST',
    });
  }
  if (path === '/__stats' && method === 'GET') return send(res, 200, wstats);
  if (path === '/__requests' && method === 'GET') return send(res, 200, recorded);
  if (path === '/__reset' && method === 'POST') {
    Object.assign(wstats, wsStats());
    recorded = [];
    return send(res, 200, { ok: true });
  }
  if (path === '/__revoke_tokens' && method === 'POST') {
    // Forget every workspace token (as if revoked): the next request with one gets 401.
    issuedTokens.clear();
    return send(res, 200, { ok: true });
  }
  if (path === '/__delay' && method === 'POST') {
    const body = JSON.parse((await readBody(req)).toString('utf8') || '{}');
    exchangeDelayMs = Number(body.ms) || 0;
    return send(res, 200, { ms: exchangeDelayMs });
  }
  if (path === '/__fail_mode' && method === 'POST') {
    let body;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8') || '{}');
    } catch {
      return send(res, 400, { error: 'invalid JSON' });
    }
    const mode = body?.mode ?? null;
    if (mode !== null && !FAIL_MODES.has(mode)) {
      return send(res, 400, { error: `mode must be null or one of ${[...FAIL_MODES].join(', ')}` });
    }
    wsFailMode = mode;
    return send(res, 200, { mode: wsFailMode });
  }
  if (path.startsWith('/api/2.0/sql/') || path.startsWith('/api/2.0/preview/scim/v2/')) {
    // The SQL Statement Execution API for usage queries (sql_api.mjs), as the token's user.
    const v = validateBearer(String(req.headers.authorization || '').replace(/^bearer\s+/i, '').trim());
    if (!v.ok) return send(res, 401, { error_code: 'UNAUTHENTICATED', message: v.reason });
    const raw = (await readBody(req)).toString('utf8');
    const [status, out] = sqlApi.handle(method, path, raw ? JSON.parse(raw) : {}, v.sub) || [404, { error_code: 'ENDPOINT_NOT_FOUND', message: path }];
    return send(res, status, out);
  }
  if (path === '/__whoami' && method === 'GET') {
    const authz = String(req.headers.authorization || '');
    if (!/^bearer\s+\S/i.test(authz)) {
      return send(res, 401, { error_code: 'UNAUTHENTICATED', message: 'missing bearer token' }, { 'www-authenticate': 'Bearer' });
    }
    const token = authz.replace(/^bearer\s+/i, '').trim();
    const v = validateBearer(token);
    if (!v.ok) return send(res, 401, { error_code: 'UNAUTHENTICATED', message: v.reason }, { 'www-authenticate': 'Bearer' });
    return send(res, 200, { sub: v.sub, expires_in: issuedTokens.get(token).exp - epoch() });
  }
  return send(res, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: `No API found for '${method} ${path}'` });
}

const sqlApi = createSqlApi({ userOf: (sub) => sub });

wsServer.on('request', (req, res) => {
  workspaceHandler(req, res).catch((err) => {
    log('workspace error:', err?.stack || err);
    if (!res.headersSent) send(res, 500, { error_code: 'INTERNAL_ERROR', message: String(err?.message || err) });
    else res.destroy();
  });
});

// ------------------------------------------------------------ lifecycle --

let stopping = false;
function shutdown(why) {
  if (stopping) return;
  stopping = true;
  log('shutting down:', why);
  for (const s of [idpServer, wsServer]) {
    s.close();
    s.closeAllConnections?.();
  }
  // Exit promptly even if something keeps the event loop alive.
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (process.env.IDP_IGNORE_STDIN !== '1') {
  process.stdin.on('end', () => shutdown('stdin EOF'));
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

const line = `${JSON.stringify({ issuer: ISSUER, workspace: WORKSPACE, client_id: CLIENT_ID })}\n`;
process.stdout.write(line);
