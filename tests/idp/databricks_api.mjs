#!/usr/bin/env node
// Fake Databricks workspace + account REST API for gw-admin's end-to-end test.
//
//   node databricks_api.mjs            serve (see below)
//   node databricks_api.mjs --browse URL
//                                      act as $BROWSER for the account sign-in: GET URL and
//                                      follow its redirects by hand (gw's one-shot start link,
//                                      the authorize endpoint, the loopback callback); exit 0
//                                      when one answers 2xx
//
// Serving: listens on 127.0.0.1:0, prints exactly one line {"url":"http://127.0.0.1:P"} on
// stdout, and exits when stdin reaches EOF (or on SIGTERM/SIGINT). Plain node:http, no deps.
// Everything lives in memory and behaves like Databricks where gw-admin can tell:
//
// Workspace (bearer $FAKE_WS_TOKEN, default ws-test-token):
//   GET    /api/2.0/serving-endpoints                  {"endpoints":[...]}
//   POST   /api/2.0/serving-endpoints                  create; 409 RESOURCE_ALREADY_EXISTS
//   GET    /api/2.0/serving-endpoints/{name}           404 RESOURCE_DOES_NOT_EXIST; a new or
//                                                      updated config goes live (READY,
//                                                      NOT_UPDATING) after $FAKE_READY_AFTER
//                                                      GETs (default 2)
//   PUT    /api/2.0/serving-endpoints/{name}/config
//   PUT    /api/2.0/serving-endpoints/{name}/ai-gateway   stored with the server's defaults
//                                                      (rate limit key `endpoint`, table
//                                                      prefix = endpoint name); moving an
//                                                      enabled inference table is a 400;
//                                                      409 RESOURCE_CONFLICT while a config
//                                                      update is in progress
//   GET    /api/2.0/permissions/serving-endpoints/{id}    by id only (a name is a 404)
//   PATCH  /api/2.0/permissions/serving-endpoints/{id}    merges entries
// Account (bearer $FAKE_ACCOUNT_TOKEN, default acct-test-token, or one issued below):
//   GET    /api/2.0/accounts/{a}/federationPolicies    pages of $FAKE_PAGE_SIZE (default 2):
//                                                      {"policies":[...],"next_page_token"}
//   POST   /api/2.0/accounts/{a}/federationPolicies?policy_id=ID   bare policy body
//   GET|PATCH /api/2.0/accounts/{a}/federationPolicies/{id}[?update_mask=...]
//   the same under /api/2.0/accounts/{a}/servicePrincipals/{numeric id}/federationPolicies
//   GET    /oidc/accounts/{a}/v1/authorize             PKCE (S256), client databricks-cli,
//                                                      redirect http://localhost:8020-8040;
//                                                      302 to the redirect with code+state
//   POST   /oidc/accounts/{a}/v1/token                 authorization_code + code_verifier, or
//                                                      refresh_token (rotated: each works once);
//                                                      access tokens live $FAKE_ACCOUNT_TOKEN_TTL s
// SQL Statement Execution API and SCIM lists: see sql_api.mjs (statements are not writes).
// Test routes (not counted):
//   GET  /__stats   {"requests":n,"writes":n,"by_route":{...},"oauth_tokens":n,"oauth_refreshes":n}
//   POST /__seed_policy?account=A&policy_id=ID  body: oidc_policy  (an unrelated policy)
// Errors are Databricks' {"error_code","message"}. Env FAKE_SEED_POLICIES=N seeds N
// unrelated account policies in account $FAKE_SEED_ACCOUNT (default acct-e2e), so listing
// has to follow next_page_token.

import http from 'node:http';
import crypto from 'node:crypto';
import { createSqlApi } from './sql_api.mjs';

if (process.argv[2] === '--browse') {
  await browse(process.argv[3]);
} else {
  serve();
}

async function browse(url) {
  try {
    let next = url;
    for (let hop = 0; hop < 5; hop += 1) {
      const res = await fetch(next, { redirect: 'manual' });
      if (res.status >= 200 && res.status < 300 && hop > 0) process.exit(0);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) {
        process.stderr.write(`browse: ${next} answered ${res.status} without a redirect\n`);
        process.exit(1);
      }
      next = new URL(location, next).href;
    }
    process.stderr.write('browse: too many redirects\n');
    process.exit(1);
  } catch (e) {
    process.stderr.write(`browse: ${e}\n`);
    process.exit(1);
  }
}

function serve() {
  const WS_TOKEN = process.env.FAKE_WS_TOKEN || 'ws-test-token';
  const ACCOUNT_TOKEN = process.env.FAKE_ACCOUNT_TOKEN || 'acct-test-token';
  const READY_AFTER = Number(process.env.FAKE_READY_AFTER || 2);
  const PAGE_SIZE = Number(process.env.FAKE_PAGE_SIZE || 2);

  const endpoints = new Map(); // name -> endpoint record
  const acls = new Map(); // endpoint id -> Map(principalKey -> {kind, name, level})
  const policies = new Map(); // owner path -> Map(policy_id -> policy)
  const codes = new Map(); // code -> {challenge, redirect_uri, account}
  const accountTokens = new Set([ACCOUNT_TOKEN]);
  const refreshTokens = new Map(); // refresh token -> account
  const ACCOUNT_TOKEN_TTL = Number(process.env.FAKE_ACCOUNT_TOKEN_TTL || 3600);
  const stats = { requests: 0, writes: 0, by_route: {}, oauth_tokens: 0, oauth_refreshes: 0 };
  // The workspace token is the admin's (usage queries run as them).
  const sqlApi = createSqlApi({ userOf: () => 'admin@example.com' });

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
  const bad = (message) => new ApiError(400, 'INVALID_PARAMETER_VALUE', message);
  const notFound = (message) => new ApiError(404, 'RESOURCE_DOES_NOT_EXIST', message);

  const now = () => new Date().toISOString();
  const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

  // ---------------------------------------------------------------- seed --
  const seedAccount = process.env.FAKE_SEED_ACCOUNT || 'acct-e2e';
  for (let i = 0; i < Number(process.env.FAKE_SEED_POLICIES || 0); i++) {
    storePolicy(`/api/2.0/accounts/${seedAccount}/federationPolicies`, `seed-${i}`, {
      description: 'seeded',
      oidc_policy: { issuer: `https://idp-${i}.example.com`, audiences: [`app-${i}`], subject_claim: 'email' },
    }, seedAccount, null);
  }

  // ------------------------------------------------------------ endpoints --
  function view(e) {
    const out = {
      name: e.name,
      id: e.id,
      creator: 'admin@example.com',
      creation_timestamp: e.created,
      last_updated_timestamp: e.updated,
      state: clone(e.state),
      task: 'llm/v1/chat',
      endpoint_type: 'EXTERNAL_MODEL',
      ai_gateway: clone(e.ai_gateway),
    };
    if (e.config) out.config = clone(e.config);
    if (e.pending) out.pending_config = clone(e.pending);
    return out;
  }

  function tick(e) {
    if (!e.pending) return;
    e.countdown -= 1;
    if (e.countdown <= 0) {
      e.config = e.pending;
      e.pending = null;
      e.state = { ready: 'READY', config_update: 'NOT_UPDATING' };
      e.updated = Date.now();
    }
  }

  function checkConfig(config) {
    const ents = config && config.served_entities;
    if (!Array.isArray(ents) || ents.length === 0) throw bad('config.served_entities must be a non-empty list');
    const out = [];
    for (const se of ents) {
      const m = se.external_model;
      if (!m) throw bad('only external_model served entities are supported by this fake');
      for (const f of ['name', 'provider', 'task']) {
        if (typeof m[f] !== 'string' || !m[f]) throw bad(`external_model.${f} is required`);
      }
      if (m.provider !== 'anthropic') throw bad(`provider ${m.provider} is not configured in this fake`);
      const c = m.anthropic_config || {};
      const hasRef = typeof c.anthropic_api_key === 'string';
      const hasPlain = typeof c.anthropic_api_key_plaintext === 'string';
      if (hasRef === hasPlain) throw bad('exactly one of anthropic_api_key and anthropic_api_key_plaintext is required');
      if (hasPlain) throw bad('this fake refuses plaintext keys');
      if (!/^\{\{secrets\/[^/{}]+\/[^/{}]+\}\}$/.test(c.anthropic_api_key)) {
        throw bad(`anthropic_api_key must be a secret reference {{secrets/<scope>/<key>}}`);
      }
      out.push({
        name: se.name || m.name.replace(/[.:]/g, '-'),
        external_model: { name: m.name, provider: m.provider, task: m.task, anthropic_config: { anthropic_api_key: c.anthropic_api_key } },
      });
    }
    return { served_entities: out, traffic_config: { routes: out.map((s) => ({ served_model_name: s.name, traffic_percentage: Math.floor(100 / out.length) })) } };
  }

  function getEndpoint(name) {
    const e = endpoints.get(name);
    if (!e) throw notFound(`Endpoint with name '${name}' does not exist.`);
    return e;
  }

  function createEndpoint(body) {
    if (typeof body.name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(body.name)) throw bad('name must use letters, digits, - and _');
    if (endpoints.has(body.name)) {
      throw new ApiError(409, 'RESOURCE_ALREADY_EXISTS', `Endpoint with name '${body.name}' already exists.`);
    }
    const config = checkConfig(body.config);
    const e = {
      name: body.name,
      id: crypto.randomBytes(16).toString('hex'),
      created: Date.now(),
      updated: Date.now(),
      state: { ready: 'NOT_READY', config_update: 'IN_PROGRESS' },
      config: null,
      pending: config,
      countdown: READY_AFTER,
      ai_gateway: {},
    };
    if (body.ai_gateway) e.ai_gateway = checkGateway(e, body.ai_gateway);
    endpoints.set(e.name, e);
    acls.set(e.id, new Map([['user:admin@example.com', { kind: 'user_name', name: 'admin@example.com', level: 'CAN_MANAGE' }]]));
    return view(e);
  }

  function updateConfig(name, body) {
    const e = getEndpoint(name);
    if (e.pending) throw new ApiError(409, 'RESOURCE_CONFLICT', `Endpoint '${name}' has a config update in progress.`);
    e.pending = checkConfig(body);
    e.countdown = READY_AFTER;
    e.state = { ready: e.state.ready, config_update: 'IN_PROGRESS' };
    return view(e);
  }

  function checkGateway(e, body) {
    const out = {};
    for (const k of Object.keys(body)) {
      if (!['usage_tracking_config', 'rate_limits', 'guardrails', 'inference_table_config', 'fallback_config'].includes(k)) {
        throw bad(`unknown field ${k}`);
      }
    }
    if (body.usage_tracking_config) out.usage_tracking_config = { enabled: !!body.usage_tracking_config.enabled };
    if (body.rate_limits) {
      out.rate_limits = body.rate_limits.map((l) => {
        if (l.renewal_period !== 'minute') throw bad('rate_limits[].renewal_period must be minute');
        const key = l.key || 'endpoint';
        if (!['user', 'user_group', 'service_principal', 'endpoint'].includes(key)) throw bad(`bad rate limit key ${key}`);
        if (key === 'user_group' && !l.principal) throw bad('a user_group rate limit needs a principal');
        if (l.calls === undefined && l.tokens === undefined) throw bad('a rate limit needs calls or tokens');
        const r = { key, renewal_period: 'minute' };
        if (l.calls !== undefined) r.calls = l.calls;
        if (l.tokens !== undefined) r.tokens = l.tokens;
        if (l.principal) r.principal = l.principal;
        return r;
      });
    }
    if (body.guardrails) {
      out.guardrails = {};
      for (const side of ['input', 'output']) {
        const g = body.guardrails[side];
        if (!g) continue;
        if (g.pii && !['NONE', 'BLOCK', 'MASK'].includes(g.pii.behavior)) throw bad('pii.behavior must be NONE, BLOCK or MASK');
        out.guardrails[side] = clone(g);
      }
    }
    if (body.inference_table_config) {
      const t = clone(body.inference_table_config);
      if (t.enabled) {
        if (!t.catalog_name || !t.schema_name) throw bad('catalog_name and schema_name are required to enable inference tables');
        t.table_name_prefix = t.table_name_prefix || e.name;
        const cur = e.ai_gateway && e.ai_gateway.inference_table_config;
        if (cur && cur.enabled && (cur.catalog_name !== t.catalog_name || cur.schema_name !== t.schema_name || cur.table_name_prefix !== t.table_name_prefix)) {
          throw bad('disable the inference table before changing its catalog, schema or prefix');
        }
      }
      out.inference_table_config = t;
    }
    if (body.fallback_config) {
      if (typeof body.fallback_config.enabled !== 'boolean') throw bad('fallback_config.enabled is required');
      out.fallback_config = clone(body.fallback_config);
    }
    return out;
  }

  // ---------------------------------------------------------- permissions --
  const LEVELS = ['CAN_VIEW', 'CAN_QUERY', 'CAN_MANAGE'];

  function aclView(id) {
    const acl = acls.get(id);
    if (!acl) throw notFound(`Serving endpoint with id '${id}' does not exist.`);
    const list = [...acl.values()].map((p) => ({
      [p.kind]: p.name,
      all_permissions: [{ permission_level: p.level, inherited: false }],
    }));
    list.push({
      group_name: 'admins',
      all_permissions: [{ permission_level: 'CAN_MANAGE', inherited: true, inherited_from_object: ['/serving-endpoints/'] }],
    });
    return { object_id: `/serving-endpoints/${id}`, object_type: 'serving-endpoint', access_control_list: list };
  }

  function patchAcl(id, body) {
    const acl = acls.get(id);
    if (!acl) throw notFound(`Serving endpoint with id '${id}' does not exist.`);
    if (!Array.isArray(body.access_control_list)) throw bad('access_control_list is required');
    for (const entry of body.access_control_list) {
      const kinds = ['group_name', 'user_name', 'service_principal_name'].filter((k) => entry[k]);
      if (kinds.length !== 1) throw bad('each entry names exactly one principal');
      if (!LEVELS.includes(entry.permission_level)) throw bad(`bad permission_level ${entry.permission_level}`);
      const kind = kinds[0];
      acl.set(`${kind}:${entry[kind]}`, { kind, name: entry[kind], level: entry.permission_level });
    }
    return aclView(id);
  }

  // ----------------------------------------------------------- federation --
  function storePolicy(owner, id, body, account, sp) {
    if (!policies.has(owner)) policies.set(owner, new Map());
    const p = {
      name: sp ? `accounts/${account}/servicePrincipals/${sp}/federationPolicies/${id}` : `accounts/${account}/federationPolicies/${id}`,
      policy_id: id,
      uid: crypto.randomUUID(),
      description: body.description,
      oidc_policy: clone(body.oidc_policy),
      create_time: now(),
      update_time: now(),
    };
    if (sp) p.service_principal_id = Number(sp);
    policies.get(owner).set(id, p);
    return p;
  }

  function checkPolicy(body, sp) {
    if (body.policy) throw bad('the request body is the policy itself, not {"policy": ...}');
    const o = body.oidc_policy;
    if (!o || typeof o.issuer !== 'string') throw bad('oidc_policy.issuer is required');
    if (!/^https:\/\//.test(o.issuer) && !/^http:\/\/(127\.0\.0\.1|localhost)[:/]/.test(o.issuer)) throw bad('oidc_policy.issuer must be https');
    if (o.audiences !== undefined && (!Array.isArray(o.audiences) || o.audiences.some((a) => typeof a !== 'string' || !a))) {
      throw bad('oidc_policy.audiences must be a list of strings');
    }
    if (sp && !o.subject) throw bad('oidc_policy.subject is required for service principal federation policies');
    if (!sp && o.subject) throw bad('oidc_policy.subject must not be set for account federation policies');
  }

  function policyRoutes(method, url, body, m) {
    const [, account, sp, id] = m;
    if (sp !== undefined && !/^\d+$/.test(sp)) throw bad('service_principal_id must be the numeric id');
    const owner = sp ? `/api/2.0/accounts/${account}/servicePrincipals/${sp}/federationPolicies` : `/api/2.0/accounts/${account}/federationPolicies`;
    const all = policies.get(owner) || new Map();
    if (id === undefined && method === 'GET') {
      const size = Math.min(Number(url.searchParams.get('page_size') || 100), PAGE_SIZE);
      const start = Number(url.searchParams.get('page_token') || 0);
      const list = [...all.values()];
      const page = { policies: list.slice(start, start + size) };
      if (start + size < list.length) page.next_page_token = String(start + size);
      return [200, page];
    }
    if (id === undefined && method === 'POST') {
      checkPolicy(body, sp);
      const pid = url.searchParams.get('policy_id') || crypto.randomBytes(6).toString('hex');
      if (!/^[a-z0-9/-]{2,63}$/.test(pid)) throw bad(`bad policy_id ${pid}`);
      if (all.has(pid)) throw new ApiError(409, 'RESOURCE_ALREADY_EXISTS', `Federation policy ${pid} already exists.`);
      return [200, storePolicy(owner, pid, body, account, sp)];
    }
    if (id !== undefined) {
      const p = all.get(id);
      if (!p) throw notFound(`Federation policy ${id} does not exist.`);
      if (method === 'GET') return [200, p];
      if (method === 'PATCH') {
        const mask = url.searchParams.get('update_mask');
        const fields = mask ? mask.split(',') : ['description', 'oidc_policy'];
        for (const f of fields) {
          if (f === '*' || f === 'oidc_policy') {
            p.oidc_policy = clone(body.oidc_policy);
          } else if (f === 'description') {
            p.description = body.description;
          } else if (f.startsWith('oidc_policy.')) {
            const k = f.slice('oidc_policy.'.length);
            if (!['issuer', 'audiences', 'subject_claim', 'subject', 'jwks_uri', 'jwks_json'].includes(k)) throw bad(`bad update_mask field ${f}`);
            p.oidc_policy[k] = clone((body.oidc_policy || {})[k]);
          } else {
            throw bad(`bad update_mask field ${f}`);
          }
        }
        p.update_time = now();
        return [200, p];
      }
    }
    throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here`);
  }

  // ---------------------------------------------------------------- oauth --
  function authorize(url, account, res) {
    const q = url.searchParams;
    const redirect = q.get('redirect_uri') || '';
    const port = Number((redirect.match(/^http:\/\/localhost:(\d+)$/) || [])[1]);
    const problems = [];
    if (q.get('response_type') !== 'code') problems.push('response_type');
    if (q.get('client_id') !== 'databricks-cli') problems.push('client_id');
    if (!(port >= 8020 && port <= 8040)) problems.push('redirect_uri');
    if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) problems.push('pkce');
    if (!(q.get('scope') || '').split(' ').includes('all-apis')) problems.push('scope');
    if (!q.get('state')) problems.push('state');
    if (problems.length) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`bad authorization request: ${problems.join(', ')}`);
      return;
    }
    const code = crypto.randomBytes(16).toString('hex');
    codes.set(code, { challenge: q.get('code_challenge'), redirect_uri: redirect, account });
    const to = new URL(redirect);
    to.searchParams.set('code', code);
    to.searchParams.set('state', q.get('state'));
    res.writeHead(302, { location: to.toString() });
    res.end();
  }

  function issue(account) {
    const t = `acct-oauth-${crypto.randomBytes(12).toString('hex')}`;
    accountTokens.add(t);
    const refresh = `acct-refresh-${crypto.randomBytes(12).toString('hex')}`;
    refreshTokens.set(refresh, account);
    return [200, { access_token: t, token_type: 'Bearer', expires_in: ACCOUNT_TOKEN_TTL, scope: 'all-apis offline_access', refresh_token: refresh }];
  }

  function token(form, account) {
    const fail = (error, description) => [400, { error, error_description: description }];
    if (form.get('client_id') !== 'databricks-cli') return fail('invalid_client', 'unknown client');
    if (form.get('grant_type') === 'refresh_token') {
      // Rotated on every use, as Databricks does: a used refresh token is dead.
      const old = form.get('refresh_token') || '';
      if (refreshTokens.get(old) !== account) return fail('invalid_grant', 'Refresh token is invalid');
      refreshTokens.delete(old);
      stats.oauth_refreshes += 1;
      return issue(account);
    }
    if (form.get('grant_type') !== 'authorization_code') return fail('unsupported_grant_type', 'only authorization_code and refresh_token');
    const c = codes.get(form.get('code') || '');
    if (!c || c.account !== account) return fail('invalid_grant', 'unknown code');
    codes.delete(form.get('code'));
    if (form.get('redirect_uri') !== c.redirect_uri) return fail('invalid_grant', 'redirect_uri mismatch');
    const verifier = form.get('code_verifier') || '';
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
    if (challenge !== c.challenge) return fail('invalid_grant', 'PKCE verification failed');
    stats.oauth_tokens += 1;
    return issue(account);
  }

  // --------------------------------------------------------------- server --
  function send(res, status, body) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://127.0.0.1');
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = url.pathname;
      const method = req.method;
      try {
        if (path === '/__stats') return send(res, 200, stats);
        if (path === '/__seed_policy' && method === 'POST') {
          const account = url.searchParams.get('account');
          const id = url.searchParams.get('policy_id');
          return send(res, 200, storePolicy(`/api/2.0/accounts/${account}/federationPolicies`, id, JSON.parse(raw), account, null));
        }
        stats.requests += 1;
        let m;
        if ((m = path.match(/^\/oidc\/accounts\/([^/]+)\/v1\/authorize$/)) && method === 'GET') {
          return authorize(url, m[1], res);
        }
        if ((m = path.match(/^\/oidc\/accounts\/([^/]+)\/v1\/token$/)) && method === 'POST') {
          const [status, body] = token(new URLSearchParams(raw), m[1]);
          return send(res, status, body);
        }
        const isAccount = path.startsWith('/api/2.0/accounts/');
        const auth = req.headers.authorization || '';
        const presented = auth.startsWith('Bearer ') ? auth.slice(7) : null;
        const ok = isAccount ? accountTokens.has(presented) : presented === WS_TOKEN;
        if (!ok) {
          throw new ApiError(401, 'UNAUTHENTICATED', 'Credential was not sent or was of an unsupported type for this API.');
        }
        let body = {};
        if (raw) {
          try {
            body = JSON.parse(raw);
          } catch {
            throw new ApiError(400, 'MALFORMED_REQUEST', 'Could not parse request body as JSON.');
          }
        }
        const route = `${method} ${path.replace(/\/[0-9a-f]{32}(?=\/|$)/, '/{id}')}`;
        stats.by_route[route] = (stats.by_route[route] || 0) + 1;
        if (method !== 'GET' && !path.startsWith('/api/2.0/sql/')) stats.writes += 1;

        const sql = sqlApi.handle(method, path, body, presented);
        if (sql) return send(res, sql[0], sql[1]);
        if (path === '/api/2.0/serving-endpoints') {
          if (method === 'GET') return send(res, 200, { endpoints: [...endpoints.values()].map(view) });
          if (method === 'POST') return send(res, 200, createEndpoint(body));
        }
        if ((m = path.match(/^\/api\/2\.0\/serving-endpoints\/([^/]+)$/)) && method === 'GET') {
          const e = getEndpoint(decodeURIComponent(m[1]));
          tick(e);
          return send(res, 200, view(e));
        }
        if ((m = path.match(/^\/api\/2\.0\/serving-endpoints\/([^/]+)\/config$/)) && method === 'PUT') {
          return send(res, 200, updateConfig(decodeURIComponent(m[1]), body));
        }
        if ((m = path.match(/^\/api\/2\.0\/serving-endpoints\/([^/]+)\/ai-gateway$/)) && method === 'PUT') {
          const e = getEndpoint(decodeURIComponent(m[1]));
          if (e.pending) throw new ApiError(409, 'RESOURCE_CONFLICT', `Endpoint '${e.name}' is currently being updated.`);
          e.ai_gateway = checkGateway(e, body);
          return send(res, 200, clone(e.ai_gateway));
        }
        if ((m = path.match(/^\/api\/2\.0\/permissions\/serving-endpoints\/([^/]+)$/))) {
          if (method === 'GET') return send(res, 200, aclView(m[1]));
          if (method === 'PATCH') return send(res, 200, patchAcl(m[1], body));
        }
        if ((m = path.match(/^\/api\/2\.0\/accounts\/([^/]+)(?:\/servicePrincipals\/([^/]+))?\/federationPolicies(?:\/([^/]+))?$/))) {
          const [status, out] = policyRoutes(method, url, body, m);
          return send(res, status, out);
        }
        throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${path}'`);
      } catch (e) {
        if (e instanceof ApiError) return send(res, e.status, { error_code: e.code, message: e.message });
        send(res, 500, { error_code: 'INTERNAL_ERROR', message: String(e && e.stack || e) });
      }
    });
  });

  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    // Keep-alive connections would hold close() open.
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
