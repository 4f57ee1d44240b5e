// The fake workspace's model APIs for the agents other than Claude Code, and the one workspace
// API call the Databricks SDK tests make. Each verifies the bearer token through
// `ctx.validateBearer` (the workspace's own token table) and records what it saw:
//
//   POST /ai-gateway/codex/v1/responses         OpenAI Responses API, SSE (Codex CLI)
//   GET  /ai-gateway/codex/v1/models            404 (Codex tolerates it, as on a real gateway)
//   POST /ai-gateway/gemini/v1beta/models/<m>:streamGenerateContent?alt=sse   Gemini, SSE
//   POST /ai-gateway/gemini/v1beta/models/<m>:generateContent | :countTokens  Gemini, JSON
//   GET  /api/2.0/preview/scim/v2/Me            SCIM Me (databricks-sdk `current_user.me()`)
//   POST /ai-gateway/slow/v1/stream             SSE: `data: first` at once, then holds the rest
//                                               until `POST /__release` (a test proves the first
//                                               event crossed gw's endpoint before the last left);
//                                               with ?delay_ms=D&events=N&gap_ms=G instead: the
//                                               first event after D ms, N in all, G ms apart
//                                               (time to first byte in scripts/bench)
//
// Replies carry "STUB-REPLY model=<model>" so a test can read the model back from the CLI's
// own output. Record fields: kind ("responses" | "gemini" | "scim_me"), method, path, query,
// headers (authorization, x-api-key, x-goog-api-key, user-agent, content-type,
// x-databricks-use-coding-agent-mode), token, token_source, status, model, token_sub, reason.
// The token may come from `Authorization: Bearer`, `x-goog-api-key` or `x-api-key`.

const MAX_BODY = 32 * 1024 * 1024;
export const STUB_REPLY_PREFIX = 'STUB-REPLY';

export const PREFIXES = ['/ai-gateway/codex/', '/ai-gateway/gemini/', '/ai-gateway/slow/', '/api/2.0/preview/scim/v2/Me', '/__release'];

let held = [];

export function handles(path) {
  return PREFIXES.some((p) => path === p || path.startsWith(p));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function pickHeaders(h) {
  const out = {};
  for (const n of ['authorization', 'x-api-key', 'x-goog-api-key', 'user-agent', 'content-type',
    'x-databricks-use-coding-agent-mode']) {
    if (h[n] !== undefined) out[n] = h[n];
  }
  return out;
}

function extractToken(h) {
  const auth = h.authorization;
  if (typeof auth === 'string' && auth.length > 0) {
    const m = /^Bearer\s+(.*)$/i.exec(auth.trim());
    return { token: m ? m[1].trim() : '', source: 'authorization' };
  }
  for (const name of ['x-goog-api-key', 'x-api-key']) {
    if (typeof h[name] === 'string' && h[name].length > 0) return { token: h[name].trim(), source: name };
  }
  return { token: '', source: null };
}

// Databricks-style 401 body (what the SDKs and the gateway answer).
function unauthorized(res, reason) {
  sendJson(res, 401, { error_code: 'UNAUTHENTICATED', message: `Invalid access token: ${reason}` });
}

export async function handleAgents(req, res, ctx) {
  const url = new URL(req.url, 'http://stub.invalid');
  const path = url.pathname;
  const method = (req.method || 'GET').toUpperCase();
  const raw = method === 'POST' ? await readBody(req) : '';
  const { token, source } = extractToken(req.headers);
  const v = token ? ctx.validateBearer(token) : { ok: false, reason: 'missing bearer token' };
  const base = {
    method, path, query: url.search, headers: pickHeaders(req.headers), token, token_source: source,
    time: new Date().toISOString(),
  };
  let body = {};
  try {
    body = raw ? JSON.parse(raw) : {};
  } catch {
    body = {};
  }

  if (path === '/__release' && method === 'POST') {
    const n = held.length;
    for (const r of held) {
      r.write('data: last\n\n');
      r.end();
    }
    held = [];
    return sendJson(res, 200, { released: n });
  }

  if (path === '/ai-gateway/slow/v1/stream') {
    if (!v.ok) {
      ctx.record({ ...base, kind: 'slow', status: 401, reason: v.reason });
      return unauthorized(res, v.reason);
    }
    ctx.record({ ...base, kind: 'slow', status: 200, token_sub: v.sub });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const q = url.searchParams;
    if (q.has('delay_ms')) {
      const events = Math.max(1, Number(q.get('events')) || 1);
      const gap = Number(q.get('gap_ms')) || 0;
      let sent = 0;
      const tick = () => {
        sent += 1;
        res.write(`data: event ${sent}\n\n`);
        if (sent >= events) res.end();
        else setTimeout(tick, gap);
      };
      setTimeout(tick, Number(q.get('delay_ms')) || 0);
      return undefined;
    }
    res.write('data: first\n\n');
    held.push(res);
    return undefined;
  }

  if (path === '/api/2.0/preview/scim/v2/Me') {
    const kind = 'scim_me';
    if (!v.ok) {
      ctx.record({ ...base, kind, status: 401, reason: v.reason });
      return unauthorized(res, v.reason);
    }
    ctx.record({ ...base, kind, status: 200, token_sub: v.sub });
    return sendJson(res, 200, {
      id: '1234567890',
      userName: v.sub,
      displayName: v.sub,
      active: true,
      emails: [{ value: v.sub, primary: true, type: 'work' }],
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    });
  }

  if (path.startsWith('/ai-gateway/codex/')) {
    const kind = 'responses';
    if (method === 'GET' && path.endsWith('/models')) {
      ctx.record({ ...base, kind: 'codex_models', status: 404 });
      return sendJson(res, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: 'no model list here' });
    }
    if (!(method === 'POST' && path === '/ai-gateway/codex/v1/responses')) {
      ctx.record({ ...base, kind: 'unknown', status: 404 });
      return sendJson(res, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: `No API found for '${method} ${path}'` });
    }
    const model = typeof body.model === 'string' ? body.model : '';
    if (!v.ok) {
      ctx.record({ ...base, kind, model, status: 401, reason: v.reason });
      return unauthorized(res, v.reason);
    }
    ctx.record({ ...base, kind, model, status: 200, token_sub: v.sub, stream: body.stream === true });
    return sendResponsesSse(res, model);
  }

  // Gemini: /ai-gateway/gemini/v1beta/models/<model>:<method>
  const m = /^\/ai-gateway\/gemini\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/.exec(path);
  if (!m || method !== 'POST') {
    ctx.record({ ...base, kind: 'unknown', status: 404 });
    return sendJson(res, 404, { error: { code: 404, message: `not found: ${method} ${path}`, status: 'NOT_FOUND' } });
  }
  const model = decodeURIComponent(m[1]);
  const call = m[2];
  const kind = call === 'countTokens' ? 'gemini_count' : 'gemini';
  if (!v.ok) {
    ctx.record({ ...base, kind, model, status: 401, reason: v.reason });
    return sendJson(res, 401, { error: { code: 401, message: `Invalid access token: ${v.reason}`, status: 'UNAUTHENTICATED' } });
  }
  ctx.record({ ...base, kind, model, status: 200, token_sub: v.sub });
  if (call === 'countTokens') return sendJson(res, 200, { totalTokens: 5 });
  const chunk = {
    candidates: [{
      content: { parts: [{ text: `${STUB_REPLY_PREFIX} model=${model}` }], role: 'model' },
      finishReason: 'STOP',
      index: 0,
    }],
    usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 },
    modelVersion: model,
  };
  if (call === 'generateContent') return sendJson(res, 200, chunk);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
  res.end();
}

function sendResponsesSse(res, model) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const id = `resp_stub${Date.now().toString(36)}`;
  const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  ev('response.created', { response: { id } });
  ev('response.output_item.done', {
    item: {
      type: 'message', role: 'assistant', id: `msg_${id}`,
      content: [{ type: 'output_text', text: `${STUB_REPLY_PREFIX} model=${model}` }],
    },
  });
  ev('response.completed', {
    response: {
      id,
      usage: { input_tokens: 5, input_tokens_details: null, output_tokens: 3, output_tokens_details: null, total_tokens: 8 },
    },
  });
  res.end();
}
