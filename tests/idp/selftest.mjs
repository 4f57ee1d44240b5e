// Self-check for server.mjs + browser.mjs. Run: node tests/idp/selftest.mjs
// (exits non-zero on failure). Acts as a public native OAuth client.

import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import * as http from 'node:http';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';

const HERE = new URL('.', import.meta.url);
const SERVER = new URL('server.mjs', HERE).pathname;
const BROWSER = new URL('browser.mjs', HERE).pathname;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const timings = {};

// ------------------------------------------------------------- helpers --

async function startServer(env = {}) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const line = await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not start; stderr: ${stderr}`)), 10000);
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
  });
  const startupMs = performance.now() - t0;
  let extraStdout = '';
  child.stdout.on('data', (d) => { extraStdout += d; });
  const info = JSON.parse(line);
  return {
    info, child, exited, startupMs, line,
    get stderr() { return stderr; },
    get extraStdout() { return extraStdout; },
  };
}

function runBrowser(url, env = {}) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BROWSER, url], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

// A tiny loopback redirect_uri listener; resolves each callback's query.
async function loopback() {
  const hits = [];
  let waiter;
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    hits.push(u);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('You can close this window.');
    if (waiter) { waiter(u); waiter = undefined; }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    hits,
    next: () => new Promise((r) => { waiter = r; }),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

const b64u = (buf) => Buffer.from(buf).toString('base64url');

function pkce() {
  const verifier = b64u(crypto.randomBytes(32));
  const challenge = b64u(crypto.createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

async function postForm(url, form) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text, ctype: res.headers.get('content-type') };
}

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, json: await res.json() };
}

async function postJson(url, body) {
  const res = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}),
  });
  return { status: res.status, json: await res.json() };
}

function authorizeUrl(disco, { clientId = 'gw-test', redirectUri, scope = 'openid profile email offline_access', challenge, state, nonce, extra }) {
  const u = new URL(disco.authorization_endpoint);
  if (!extra) extra = {};
  u.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  }).toString();
  return u.href;
}

// Full interactive code flow through browser.mjs; returns the callback query.
async function codeFlow(ctx, opts = {}) {
  const lb = await loopback();
  try {
    const { verifier, challenge } = pkce();
    const state = b64u(crypto.randomBytes(12));
    const nonce = b64u(crypto.randomBytes(12));
    const redirectUri = `http://127.0.0.1:${lb.port}/callback`;
    const url = authorizeUrl(ctx.disco, {
      redirectUri, challenge, state, nonce, ...(opts.scope ? { scope: opts.scope } : {}), extra: opts.extra,
    });
    const got = lb.next();
    const br = await runBrowser(url, opts.browserEnv);
    if (opts.expectNoCallback) {
      return { br, verifier, state, nonce, redirectUri, lb };
    }
    assert.equal(br.code, 0, `browser failed: ${br.stderr}`);
    const cb = await Promise.race([got, new Promise((_, rej) => setTimeout(() => rej(new Error('no callback')), 3000))]);
    return { cb, br, verifier, state, nonce, redirectUri };
  } finally {
    if (!opts.expectNoCallback) await lb.close();
  }
}

async function redeem(ctx, { code, verifier, redirectUri, clientId = 'gw-test' }) {
  return postForm(ctx.disco.token_endpoint, {
    grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: clientId, code_verifier: verifier,
  });
}

async function refresh(ctx, refreshToken) {
  return postForm(ctx.disco.token_endpoint, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'gw-test' });
}

async function exchange(ctx, subjectToken, extra = {}) {
  return postForm(`${ctx.info.workspace}/oidc/v1/token`, {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    scope: 'all-apis',
    subject_token: subjectToken,
    ...extra,
  });
}

async function verifyIdToken(ctx, idToken, { nonce, alg = 'RS256' } = {}) {
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, ctx.jwks, {
    issuer: ctx.info.issuer, audience: 'gw-test', algorithms: [alg],
  });
  assert.equal(protectedHeader.alg, alg);
  assert.ok(protectedHeader.kid, 'kid in header');
  if (nonce !== undefined) assert.equal(payload.nonce, nonce);
  return payload;
}

async function deviceFlow(ctx, { scope = 'openid profile email offline_access', browserEnv, maxPolls = 50 } = {}) {
  const da = await postForm(ctx.disco.device_authorization_endpoint, { client_id: 'gw-test', scope });
  assert.equal(da.status, 200, da.text);
  const pending = await postForm(ctx.disco.token_endpoint, { grant_type: DEVICE_GRANT, device_code: da.json.device_code, client_id: 'gw-test' });
  assert.equal(pending.status, 400);
  assert.equal(pending.json.error, 'authorization_pending');
  const br = await runBrowser(da.json.verification_uri_complete, browserEnv);
  let tok;
  for (let i = 0; i < maxPolls; i += 1) {
    tok = await postForm(ctx.disco.token_endpoint, { grant_type: DEVICE_GRANT, device_code: da.json.device_code, client_id: 'gw-test' });
    if (tok.json?.error !== 'authorization_pending') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { da: da.json, br, tok };
}

async function setup(env) {
  const srv = await startServer(env);
  const disco = (await getJson(`${srv.info.issuer}/.well-known/openid-configuration`)).json;
  const jwks = jose.createRemoteJWKSet(new URL(disco.jwks_uri));
  return { srv, info: srv.info, disco, jwks };
}

async function stop(ctx) {
  if (!ctx?.srv) return;
  ctx.srv.child.kill('SIGTERM');
  await ctx.srv.exited;
}

// --------------------------------------------------------------- tests --

describe('default configuration', () => {
  let ctx;
  before(async () => {
    ctx = await setup({});
    timings.serverStartupMs = ctx.srv.startupMs;
  });
  after(() => stop(ctx));

  it('prints exactly one JSON line with issuer/workspace/client_id', () => {
    assert.match(ctx.srv.line, /^\{"issuer":"http:\/\/127\.0\.0\.1:\d+","workspace":"http:\/\/127\.0\.0\.1:\d+","client_id":"gw-test"\}$/);
    assert.equal(ctx.srv.extraStdout, '');
  });

  it('discovery has the expected metadata', () => {
    const d = ctx.disco;
    assert.equal(d.issuer, ctx.info.issuer);
    assert.ok(!d.issuer.endsWith('/'));
    assert.equal(d.device_authorization_endpoint, `${ctx.info.issuer}/device/auth`);
    assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
    assert.equal(d.authorization_response_iss_parameter_supported, true);
    assert.equal(d.token_endpoint, `${ctx.info.issuer}/token`);
    assert.equal(d.jwks_uri, `${ctx.info.issuer}/jwks`);
  });

  let tokens;
  let first;
  it('code flow + PKCE: id_token and refresh_token without prompt=consent', async () => {
    await postJson(`${ctx.info.issuer}/__reset`);
    first = await codeFlow(ctx);
    timings.browserRunMs = first.br.ms;
    const q = first.cb.searchParams;
    assert.equal(first.cb.pathname, '/callback');
    assert.equal(q.get('state'), first.state);
    assert.equal(q.get('iss'), ctx.info.issuer, 'RFC 9207 iss in the authorization response');
    assert.ok(q.get('code'));
    const r = await redeem(ctx, { code: q.get('code'), verifier: first.verifier, redirectUri: first.redirectUri });
    assert.equal(r.status, 200, r.text);
    tokens = r.json;
    assert.ok(tokens.id_token && tokens.refresh_token && tokens.access_token);
    assert.equal(tokens.token_type, 'Bearer');
    assert.ok(tokens.scope.split(' ').includes('offline_access'), tokens.scope);
    const claims = await verifyIdToken(ctx, tokens.id_token, { nonce: first.nonce });
    assert.equal(claims.sub, 'alice@example.com');
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.email_verified, true);
    assert.equal(claims.preferred_username, 'alice@example.com');
    assert.ok(claims.exp - claims.iat === 3600);
  });

  it('code is single-use (replay revokes its grant); wrong code_verifier fails', async () => {
    const f0 = await codeFlow(ctx);
    const once = await redeem(ctx, { code: f0.cb.searchParams.get('code'), verifier: f0.verifier, redirectUri: f0.redirectUri });
    assert.equal(once.status, 200, once.text);
    const again = await redeem(ctx, { code: f0.cb.searchParams.get('code'), verifier: f0.verifier, redirectUri: f0.redirectUri });
    assert.equal(again.status, 400);
    assert.equal(again.json.error, 'invalid_grant');
    const revoked = await refresh(ctx, once.json.refresh_token);
    assert.equal(revoked.status, 400);
    assert.equal(revoked.json.error, 'invalid_grant');
    const f = await codeFlow(ctx);
    const bad = await redeem(ctx, { code: f.cb.searchParams.get('code'), verifier: pkce().verifier, redirectUri: f.redirectUri });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'invalid_grant');
    const f2 = await codeFlow(ctx);
    const noVerifier = await postForm(ctx.disco.token_endpoint, {
      grant_type: 'authorization_code', code: f2.cb.searchParams.get('code'), redirect_uri: f2.redirectUri, client_id: 'gw-test',
    });
    assert.equal(noVerifier.status, 400);
    assert.equal(noVerifier.json.error, 'invalid_grant');
  });

  it('localhost redirect_uri on any port works; no offline_access => no refresh_token', async () => {
    const f = await codeFlow(ctx, { scope: 'openid email' });
    assert.ok(f.cb.searchParams.get('code'));
    const lb = await loopback();
    try {
      const { verifier, challenge } = pkce();
      const redirectUri = `http://localhost:${lb.port}/`;
      const got = lb.next();
      const br = await runBrowser(authorizeUrl(ctx.disco, { redirectUri, scope: 'openid email', challenge, state: 's', nonce: 'n' }));
      assert.equal(br.code, 0, br.stderr);
      const cb = await got;
      const r = await redeem(ctx, { code: cb.searchParams.get('code'), verifier, redirectUri });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.id_token);
      assert.equal(r.json.refresh_token, undefined);
    } finally {
      await lb.close();
    }
  });

  let wsToken;
  it('workspace token exchange accepts the id_token; __whoami accepts the result', async () => {
    const r = await exchange(ctx, tokens.id_token);
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.access_token, /^dbx_/);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.scope, 'all-apis');
    assert.ok(r.json.expires_in > 3500 && r.json.expires_in <= 3600, String(r.json.expires_in));
    wsToken = r.json.access_token;
    const who = await getJson(`${ctx.info.workspace}/__whoami`, { authorization: `Bearer ${wsToken}` });
    assert.equal(who.status, 200);
    assert.equal(who.json.sub, 'alice@example.com');
    assert.ok(who.json.expires_in > 0);
    const nope = await getJson(`${ctx.info.workspace}/__whoami`, { authorization: 'Bearer dbx_nope' });
    assert.equal(nope.status, 401);
  });

  it('workspace rejects bad exchanges like Databricks', async () => {
    const withClient = await exchange(ctx, tokens.id_token, { client_id: 'gw-test' });
    assert.equal(withClient.status, 400);
    assert.equal(withClient.json.error, 'invalid_request');
    const [h, p, s] = tokens.id_token.split('.');
    const tampered = `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    const badSig = await exchange(ctx, tampered);
    assert.equal(badSig.status, 401);
    assert.equal(badSig.json.error, 'invalid_grant');
    const garbage = await exchange(ctx, 'not-a-jwt');
    assert.equal(garbage.status, 400);
    assert.equal(garbage.json.error, 'invalid_request');
    const noScope = await postForm(`${ctx.info.workspace}/oidc/v1/token`, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: tokens.id_token,
    });
    assert.equal(noScope.status, 400);
    assert.equal(noScope.json.error, 'invalid_request');
    // wrong audience: an ID token issued to databricks-cli
    const lb = await loopback();
    try {
      const { verifier, challenge } = pkce();
      const redirectUri = `http://localhost:${lb.port}`;
      const got = lb.next();
      const br = await runBrowser(authorizeUrl(ctx.disco, {
        clientId: 'databricks-cli', redirectUri, scope: 'openid', challenge, state: 's', nonce: 'n',
      }));
      assert.equal(br.code, 0, br.stderr);
      const cb = await got;
      const r = await redeem(ctx, { code: cb.searchParams.get('code'), verifier, redirectUri, clientId: 'databricks-cli' });
      assert.equal(r.status, 200, r.text);
      const badAud = await exchange(ctx, r.json.id_token);
      assert.equal(badAud.status, 400);
      assert.equal(badAud.json.error, 'invalid_grant');
    } finally {
      await lb.close();
    }
  });

  it('refresh rotates the refresh token and returns a new id_token; reuse => invalid_grant + family revoked', async () => {
    const r1 = await refresh(ctx, tokens.refresh_token);
    assert.equal(r1.status, 200, r1.text);
    assert.ok(r1.json.refresh_token && r1.json.refresh_token !== tokens.refresh_token);
    // A new ID token: it verifies, for the same user, issued no earlier than the first. (Its
    // bytes may equal the first one's when both are minted in the same second.)
    assert.ok(r1.json.id_token);
    const first = await verifyIdToken(ctx, tokens.id_token);
    const c = await verifyIdToken(ctx, r1.json.id_token);
    assert.equal(c.email, 'alice@example.com');
    assert.equal(c.sub, first.sub);
    assert.ok(c.iat >= first.iat, `iat ${c.iat} < ${first.iat}`);
    const reuse = await refresh(ctx, tokens.refresh_token);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.json.error, 'invalid_grant');
    const family = await refresh(ctx, r1.json.refresh_token);
    assert.equal(family.status, 400);
    assert.equal(family.json.error, 'invalid_grant');
    const bogus = await refresh(ctx, 'bogus');
    assert.equal(bogus.json.error, 'invalid_grant');
  });

  it('IdP __stats counts endpoint hits', async () => {
    const s = (await getJson(`${ctx.info.issuer}/__stats`)).json;
    assert.equal(s.authorize, 7);
    assert.equal(s.token_authorization_code, 7);
    assert.equal(s.token_refresh_token, 5);
    assert.equal(s.refresh_token_reuse, 1);
    assert.ok(s.jwks >= 1);
    assert.equal(s.device_authorization, 0);
    await postJson(`${ctx.info.issuer}/__reset`);
    const z = (await getJson(`${ctx.info.issuer}/__stats`)).json;
    assert.ok(Object.values(z).every((v) => v === 0), JSON.stringify(z));
  });

  it('device flow: browser confirms, logs in, consents; polling yields tokens', async () => {
    const { da, br, tok } = await deviceFlow(ctx);
    assert.equal(br.code, 0, br.stderr);
    assert.equal(da.interval, undefined, 'oidc-provider omits interval unless IDP_DEVICE_INTERVAL');
    assert.equal(tok.status, 200, tok.text);
    assert.ok(tok.json.id_token && tok.json.refresh_token);
    await verifyIdToken(ctx, tok.json.id_token);
    const s = (await getJson(`${ctx.info.issuer}/__stats`)).json;
    assert.equal(s.device_authorization, 1);
    assert.ok(s.token_device_code >= 2);
    const r = await refresh(ctx, tok.json.refresh_token);
    assert.equal(r.status, 200, r.text);
  });

  it('device flow deny => access_denied', async () => {
    const { br, tok } = await deviceFlow(ctx, { browserEnv: { TEST_BROWSER_MODE: 'deny' } });
    assert.equal(br.code, 0, br.stderr);
    assert.equal(tok.status, 400);
    assert.equal(tok.json.error, 'access_denied');
  });

  it('TEST_BROWSER_MODE=deny delivers error=access_denied to the loopback', async () => {
    const f = await codeFlow(ctx, { browserEnv: { TEST_BROWSER_MODE: 'deny' } });
    assert.equal(f.cb.searchParams.get('error'), 'access_denied');
    assert.equal(f.cb.searchParams.get('state'), f.state);
    assert.equal(f.cb.searchParams.get('iss'), ctx.info.issuer);
  });

  it('TEST_BROWSER_MODE=no-callback prints the loopback URL and does not call it', async () => {
    const f = await codeFlow(ctx, { expectNoCallback: true, browserEnv: { TEST_BROWSER_MODE: 'no-callback' } });
    try {
      assert.equal(f.br.code, 0, f.br.stderr);
      const printed = new URL(f.br.stdout.trim());
      assert.equal(printed.origin, new URL(f.redirectUri).origin);
      assert.ok(printed.searchParams.get('code'));
      assert.equal(f.lb.hits.length, 0);
      const r = await redeem(ctx, { code: printed.searchParams.get('code'), verifier: f.verifier, redirectUri: f.redirectUri });
      assert.equal(r.status, 200, r.text);
    } finally {
      await f.lb.close();
    }
  });

  it('browser.mjs fails loudly on an IdP error page', async () => {
    const br = await runBrowser(`${ctx.disco.authorization_endpoint}?client_id=nope&response_type=code&scope=openid`);
    assert.notEqual(br.code, 0);
    assert.match(br.stderr, /HTTP 400/);
  });

  it('bad redirect_uri / missing PKCE are rejected', async () => {
    const bad = await runBrowser(authorizeUrl(ctx.disco, { redirectUri: 'http://127.0.0.1:9/other', challenge: pkce().challenge, state: 's', nonce: 'n' }));
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /redirect_uri/);
    const lb = await loopback();
    try {
      const got = lb.next();
      const u = new URL(authorizeUrl(ctx.disco, { redirectUri: `http://127.0.0.1:${lb.port}/callback`, challenge: 'x', state: 's', nonce: 'n' }));
      u.searchParams.delete('code_challenge');
      u.searchParams.delete('code_challenge_method');
      const br = await runBrowser(u.href);
      assert.notEqual(br.code, 0); // IdP redirected with error=invalid_request
      const cb = await got;
      assert.equal(cb.searchParams.get('error'), 'invalid_request');
    } finally {
      await lb.close();
    }
  });

  it('workspace fail modes: html502 and policy403 via /__fail_mode', async () => {
    let m = await postJson(`${ctx.info.workspace}/__fail_mode`, { mode: 'html502' });
    assert.equal(m.status, 200);
    const r = await exchange(ctx, tokens.id_token);
    assert.equal(r.status, 502);
    assert.match(r.ctype, /^text\/html/);
    assert.equal(r.text, '<html><body><h1>502 Bad Gateway</h1></body></html>');
    m = await postJson(`${ctx.info.workspace}/__fail_mode`, { mode: 'policy403' });
    const p = await exchange(ctx, tokens.id_token);
    assert.equal(p.status, 403);
    assert.equal(p.json.error, 'invalid_request');
    m = await postJson(`${ctx.info.workspace}/__fail_mode`, { mode: null });
    assert.equal(m.json.mode, null);
    const ok = await exchange(ctx, tokens.id_token);
    assert.equal(ok.status, 200);
    const s = (await getJson(`${ctx.info.workspace}/__stats`)).json;
    assert.ok(s.exchange >= 8 && s.exchange_ok >= 2, JSON.stringify(s));
  });

  it('workspace misc routes', async () => {
    const cfg = await getJson(`${ctx.info.workspace}/.well-known/databricks-config`);
    assert.equal(cfg.json.host_type, 'WORKSPACE_HOST');
    const res = await fetch(`${ctx.info.workspace}/serving-endpoints/anthropic/v1/messages`, { method: 'POST', body: '{}' });
    await res.arrayBuffer();
    if (existsSync(new URL('anthropic.mjs', HERE))) {
      // anthropic.mjs present: an unauthenticated call is refused and recorded.
      assert.equal(res.status, 401);
      assert.equal((await getJson(`${ctx.info.workspace}/__requests`)).json.length, 1);
      const ex = await exchange(ctx, tokens.id_token);
      const ok = await fetch(`${ctx.info.workspace}/serving-endpoints/anthropic/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ex.json.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      });
      await ok.arrayBuffer();
      assert.equal(ok.status, 200);
      const reqs = (await getJson(`${ctx.info.workspace}/__requests`)).json;
      assert.equal(reqs.at(-1).token_sub, 'alice@example.com');
    } else {
      assert.equal(res.status, 501);
      assert.deepEqual((await getJson(`${ctx.info.workspace}/__requests`)).json, []);
    }
    await postJson(`${ctx.info.workspace}/__reset`);
    const z = (await getJson(`${ctx.info.workspace}/__stats`)).json;
    assert.ok(Object.values(z).every((v) => v === 0), JSON.stringify(z));
    assert.deepEqual((await getJson(`${ctx.info.workspace}/__requests`)).json, []);
  });

  it('exits 0 promptly on stdin EOF', async () => {
    const t0 = performance.now();
    ctx.srv.child.stdin.end();
    const { code } = await ctx.srv.exited;
    timings.shutdownMs = performance.now() - t0;
    assert.equal(code, 0);
    assert.equal(ctx.srv.stderr, '', 'stderr must be quiet without IDP_DEBUG');
  });
});

describe('env knobs', () => {
  let ctx;
  before(async () => {
    ctx = await setup({
      IDP_ID_TOKEN_ALG: 'ES256',
      IDP_NO_REFRESH_ID_TOKEN: '1',
      IDP_DEVICE_INTERVAL: '1',
      IDP_ID_TOKEN_TTL: '5',
      IDP_ACCESS_TOKEN_TTL: '120',
      WS_EXPECT_CLIENT_ID: 'my-fed-client',
      WS_TOKEN_TTL: '60',
      WS_FAIL_MODE: 'policy403',
    });
  });
  after(() => stop(ctx));

  let tokens;
  let idClaims;
  it('ES256 id_token, custom user, TTLs', async () => {
    const f = await codeFlow(ctx, { browserEnv: { TEST_BROWSER_USER: 'bob@example.org' } });
    const r = await redeem(ctx, { code: f.cb.searchParams.get('code'), verifier: f.verifier, redirectUri: f.redirectUri });
    assert.equal(r.status, 200, r.text);
    tokens = r.json;
    assert.equal(tokens.expires_in, 120);
    const c = await verifyIdToken(ctx, tokens.id_token, { alg: 'ES256', nonce: f.nonce });
    assert.equal(c.sub, 'bob@example.org');
    assert.equal(c.exp - c.iat, 5);
    idClaims = c;
  });

  it('WS_FAIL_MODE env, WS_EXPECT_CLIENT_ID, expiry-derived expires_in, expired subject token', async () => {
    const blocked = await exchange(ctx, tokens.id_token, { client_id: 'my-fed-client' });
    assert.equal(blocked.status, 403);
    await postJson(`${ctx.info.workspace}/__fail_mode`, { mode: null });
    const missing = await exchange(ctx, tokens.id_token);
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error, 'invalid_request');
    const ok = await exchange(ctx, tokens.id_token, { client_id: 'my-fed-client' });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(ok.json.expires_in <= 5 && ok.json.expires_in > 0, String(ok.json.expires_in));
    // Wait until the ID token (and so the workspace token) is past its own exp, by its clock.
    await new Promise((r) => setTimeout(r, Math.max(0, (idClaims.exp + 1) * 1000 - Date.now())));
    const who = await getJson(`${ctx.info.workspace}/__whoami`, { authorization: `Bearer ${ok.json.access_token}` });
    assert.equal(who.status, 401);
    const expired = await exchange(ctx, tokens.id_token, { client_id: 'my-fed-client' });
    assert.equal(expired.status, 401);
    assert.equal(expired.json.error, 'invalid_grant');
  });

  it('IDP_NO_REFRESH_ID_TOKEN drops id_token from refresh responses', async () => {
    const r = await refresh(ctx, tokens.refresh_token);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id_token, undefined);
    assert.ok(r.json.refresh_token && r.json.access_token);
    tokens.refresh_token = r.json.refresh_token;
  });

  it('__revoke_all kills refresh tokens', async () => {
    await postJson(`${ctx.info.issuer}/__revoke_all`);
    const r = await refresh(ctx, tokens.refresh_token);
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'invalid_grant');
  });

  it('IDP_DEVICE_INTERVAL adds interval to the device authorization response', async () => {
    const { da, br, tok } = await deviceFlow(ctx);
    assert.equal(br.code, 0, br.stderr);
    assert.equal(da.interval, 1);
    assert.equal(tok.status, 200, tok.text);
  });

  it('exits 0 on SIGTERM', async () => {
    ctx.srv.child.kill('SIGTERM');
    const { code } = await ctx.srv.exited;
    assert.equal(code, 0);
    ctx = undefined;
  });
});

describe('slow_down enforcement', () => {
  let ctx;
  // A 3 s interval: the back-to-back second poll is well inside it even on a loaded machine.
  before(async () => { ctx = await setup({ IDP_DEVICE_INTERVAL: '3', IDP_DEVICE_ENFORCE_INTERVAL: '1' }); });
  after(() => stop(ctx));

  it('polling faster than interval => slow_down', async () => {
    const da = await postForm(ctx.disco.device_authorization_endpoint, { client_id: 'gw-test', scope: 'openid' });
    const poll = () => postForm(ctx.disco.token_endpoint, { grant_type: DEVICE_GRANT, device_code: da.json.device_code, client_id: 'gw-test' });
    assert.equal((await poll()).json.error, 'authorization_pending');
    assert.equal((await poll()).json.error, 'slow_down');
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal((await poll()).json.error, 'authorization_pending');
  });
});

after(() => {
  process.stderr.write(`timings: ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])))}\n`);
});
