// Stub of the Anthropic Messages API as served by a Databricks workspace under
// `/serving-endpoints/anthropic/...` (and `/ai-gateway/anthropic/...`).
//
// Good enough for the real Claude Code CLI (`claude -p`) to run against it
// offline. Used by the IdP test server (server.mjs), which provides `ctx`:
//
//   ctx.validateBearer(token) -> { ok: boolean, sub?: string, reason?: string }
//   ctx.record(obj)           -> stores obj for the test to inspect
//   ctx.stats                 -> counters object; numeric fields named
//                                messages / count_tokens / anthropic_401 /
//                                anthropic_other are incremented when present
//
// Behaviour
//   POST .../v1/messages               auth, record, reply "STUB-REPLY model=<model>"
//                                      (JSON, or SSE when body.stream === true)
//   POST .../v1/messages/count_tokens  auth, record, {"input_tokens": N}
//   GET  .../v1/models[/<id>]          auth, record, a model list / model object
//   HEAD / GET anything else under the prefix   200 {} (recorded, kind "other")
//   other methods / paths under the prefix      404 Anthropic-style not_found_error
//
// Token: taken from `Authorization: Bearer <t>`; if there is no Authorization
// header, from `x-api-key` (the record's `token_source` says which). Claude
// Code with apiKeyHelper sends the helper's output in BOTH headers.
//
// Scripted turns (to make one `claude -p` process send several requests):
// if a user text block of the conversation contains
//     [[stub-bash: <command>]]
// and the request offers the Bash tool and carries no tool_result yet, the
// reply is a `tool_use` of Bash running <command>; once the tool_result comes
// back the normal text reply follows. `[[stub-bash-N: <command>]]` (N = 1..9)
// asks for N consecutive Bash calls (one per request) before the text reply.
// Claude Code sends the next request whether the tool ran or was denied.
// Side requests without tools (e.g. the haiku session-title request Claude
// Code sends in parallel) always get text; when a request asks for
// output_config.format json_schema, the text is JSON shaped like the schema.
//
// Record fields for messages: kind, method, path, query, headers (authorization,
// x-api-key, x-databricks-use-coding-agent-mode, user-agent, anthropic-beta,
// anthropic-version, x-app, x-claude-code-session-id, content-type), token
// (full value), token_source, time, status, model, token_sub, stream, reply
// ("text" | "tool_use"), tool_results, tool_names, prompt, max_tokens.
// Rejected requests are recorded too, with status 401 and reason.

export const STUB_REPLY_PREFIX = "STUB-REPLY";

const PREFIXES = ["/serving-endpoints/anthropic", "/ai-gateway/anthropic"];
const MAX_BODY = 32 * 1024 * 1024;

let seq = 0;
function nextId(prefix) {
  seq += 1;
  return `${prefix}_stub${Date.now().toString(36)}${seq.toString(36).padStart(6, "0")}`;
}

function bump(stats, field) {
  if (stats && typeof stats[field] === "number") stats[field] += 1;
}

function sendJson(res, status, obj, extraHeaders = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    "request-id": nextId("req"),
    ...extraHeaders,
  });
  res.end(body);
}

function sendError(res, status, type, message) {
  sendJson(res, status, { type: "error", error: { type, message } });
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("request body too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

// Returns the API path after the gateway prefix ("/v1/messages"), or null.
function apiPath(pathname) {
  for (const p of PREFIXES) {
    if (pathname === p) return "/";
    if (pathname.startsWith(p + "/")) return pathname.slice(p.length);
  }
  return null;
}

function pickHeaders(h) {
  const names = [
    "authorization",
    "x-api-key",
    "x-databricks-use-coding-agent-mode",
    "user-agent",
    "anthropic-beta",
    "anthropic-version",
    "x-app",
    "x-claude-code-session-id",
    "content-type",
  ];
  const out = {};
  for (const n of names) if (h[n] !== undefined) out[n] = h[n];
  return out;
}

function extractToken(h) {
  const auth = h["authorization"];
  if (typeof auth === "string" && auth.length > 0) {
    const m = /^Bearer\s+(.*)$/i.exec(auth.trim());
    return { token: m ? m[1].trim() : "", source: "authorization", malformed: !m };
  }
  const key = h["x-api-key"];
  if (typeof key === "string" && key.length > 0) {
    return { token: key.trim(), source: "x-api-key", malformed: false };
  }
  return { token: "", source: null, malformed: false };
}

function authenticate(req, res, ctx) {
  const { token, source, malformed } = extractToken(req.headers);
  if (!token) {
    const reason = malformed
      ? "Authorization header is not a Bearer token"
      : "missing Authorization: Bearer token";
    return { ok: false, token, source, reason };
  }
  let v;
  try {
    v = ctx.validateBearer(token) || { ok: false, reason: "validator returned nothing" };
  } catch (e) {
    v = { ok: false, reason: `validator threw: ${e && e.message}` };
  }
  return { ok: !!v.ok, token, source, sub: v.sub, reason: v.reason };
}

function textOf(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((b) => b && b.type === "text" && typeof b.text === "string")
    .map((b) => b.text)
    .join("\n");
}

function countToolResults(messages) {
  let n = 0;
  for (const m of messages) {
    if (m && m.role === "user" && Array.isArray(m.content)) {
      for (const b of m.content) if (b && b.type === "tool_result") n += 1;
    }
  }
  return n;
}

function userTexts(messages) {
  const out = [];
  for (const m of messages) {
    if (!m || m.role !== "user") continue;
    if (typeof m.content === "string") out.push(m.content);
    else if (Array.isArray(m.content))
      for (const b of m.content) if (b && b.type === "text" && typeof b.text === "string") out.push(b.text);
  }
  return out;
}

function toolNames(body) {
  return Array.isArray(body.tools) ? body.tools.map((t) => (t && t.name) || "").filter(Boolean) : [];
}

// Decide what the assistant says: {kind:"text"} or {kind:"tool_use", command}.
// Only requests that offer the Bash tool (the main agent loop) get tool_use;
// side requests (session title etc., sent without tools) always get text.
function planReply(body) {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  if (!toolNames(body).includes("Bash")) return { kind: "text" };
  for (const text of userTexts(messages)) {
    const m = /\[\[stub-bash(?:-([1-9]))?:\s*([^\]]*?)\s*\]\]/.exec(text);
    if (!m) continue;
    const wanted = m[1] ? Number(m[1]) : 1;
    if (countToolResults(messages) < wanted) return { kind: "tool_use", command: m[2] };
    break;
  }
  return { kind: "text" };
}

// The user's prompt as Claude Code sent it (system-reminder blocks dropped).
function promptExcerpt(messages) {
  const t = userTexts(messages)
    .filter((x) => !x.trimStart().startsWith("<system-reminder>"))
    .join("\n");
  return t.length > 300 ? t.slice(0, 300) + "..." : t;
}

// Requests with output_config.format json_schema (e.g. the session-title side
// request) get JSON text that matches the schema's shape.
function fillSchema(schema, text, depth = 0) {
  if (!schema || typeof schema !== "object" || depth > 8) return text;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  switch (type) {
    case "object": {
      const o = {};
      for (const [k, v] of Object.entries(schema.properties || {})) o[k] = fillSchema(v, text, depth + 1);
      return o;
    }
    case "array":
      return [];
    case "number":
    case "integer":
      return 0;
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return text;
  }
}

function replyText(body, model) {
  const text = `${STUB_REPLY_PREFIX} model=${model}`;
  const fmt = body.output_config && body.output_config.format;
  if (fmt && fmt.type === "json_schema" && fmt.schema) return JSON.stringify(fillSchema(fmt.schema, text));
  return text;
}

function roughTokens(body) {
  const s = JSON.stringify(body.messages || "") + JSON.stringify(body.system || "");
  return Math.max(1, Math.ceil(s.length / 4));
}

function messageObject(model, plan, inputTokens, text) {
  const content =
    plan.kind === "tool_use"
      ? [
          {
            type: "tool_use",
            id: nextId("toolu"),
            name: "Bash",
            input: { command: plan.command, description: "stub tool call" },
          },
        ]
      : [{ type: "text", text }];
  return {
    id: nextId("msg"),
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: plan.kind === "tool_use" ? "tool_use" : "end_turn",
    stop_sequence: null,
    usage: {
      input_tokens: inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 8,
    },
  };
}

function sendSse(res, msg) {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "request-id": nextId("req"),
  });
  const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  ev("message_start", {
    type: "message_start",
    message: {
      ...msg,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...msg.usage, output_tokens: 1 },
    },
  });
  msg.content.forEach((block, index) => {
    if (block.type === "text") {
      ev("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } });
      ev("ping", { type: "ping" });
      ev("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: block.text } });
    } else {
      ev("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      ev("content_block_delta", {
        type: "content_block_delta",
        index,
        delta: { type: "input_json_delta", partial_json: JSON.stringify(block.input) },
      });
    }
    ev("content_block_stop", { type: "content_block_stop", index });
  });
  ev("message_delta", {
    type: "message_delta",
    delta: { stop_reason: msg.stop_reason, stop_sequence: null },
    usage: { output_tokens: msg.usage.output_tokens },
  });
  ev("message_stop", { type: "message_stop" });
  res.end();
}

export async function handleAnthropic(req, res, ctx) {
  const url = new URL(req.url, "http://stub.invalid");
  const path = apiPath(url.pathname);
  const method = (req.method || "GET").toUpperCase();
  const stats = ctx && ctx.stats;
  const time = new Date().toISOString();
  const record = (obj) => {
    try {
      if (ctx && typeof ctx.record === "function") ctx.record(obj);
    } catch {
      /* a failing recorder must not break the reply */
    }
  };

  if (path === null) {
    sendError(res, 404, "not_found_error", `not an anthropic gateway path: ${url.pathname}`);
    return;
  }

  let raw = "";
  if (method === "POST" || method === "PUT" || method === "PATCH") {
    try {
      raw = await readBody(req);
    } catch (e) {
      sendError(res, 413, "request_too_large", String(e && e.message));
      return;
    }
  }

  const route =
    method === "POST" && path === "/v1/messages"
      ? "messages"
      : method === "POST" && path === "/v1/messages/count_tokens"
        ? "count_tokens"
        : (method === "GET" || method === "HEAD") && (path === "/v1/models" || path.startsWith("/v1/models/"))
          ? "models"
          : method === "HEAD" || method === "GET"
            ? "other"
            : null;

  if (route === null) {
    record({ kind: "unknown", method, path: url.pathname, query: url.search, headers: pickHeaders(req.headers), time });
    bump(stats, "anthropic_other");
    sendError(res, 404, "not_found_error", `stub does not implement ${method} ${path}`);
    return;
  }

  if (route === "other") {
    // Reachability probes (HEAD / GET on the base URL): answer without auth.
    record({ kind: "other", method, path: url.pathname, query: url.search, headers: pickHeaders(req.headers), time });
    bump(stats, "anthropic_other");
    if (method === "HEAD") {
      res.writeHead(200, { "content-type": "application/json", "content-length": 2 });
      res.end();
    } else {
      sendJson(res, 200, {});
    }
    return;
  }

  const auth = authenticate(req, res, ctx);
  const base = {
    kind: route,
    method,
    path: url.pathname,
    query: url.search,
    headers: pickHeaders(req.headers),
    token: auth.token,
    token_source: auth.source,
    time,
  };

  if (!auth.ok) {
    record({ ...base, status: 401, reason: auth.reason || "invalid token" });
    bump(stats, "anthropic_401");
    sendError(res, 401, "authentication_error", `Invalid bearer token: ${auth.reason || "rejected"}`);
    return;
  }

  let body = {};
  if (raw) {
    try {
      body = JSON.parse(raw);
    } catch {
      record({ ...base, status: 400, token_sub: auth.sub, reason: "invalid JSON body" });
      sendError(res, 400, "invalid_request_error", "request body is not valid JSON");
      return;
    }
  }
  const model = typeof body.model === "string" ? body.model : "";

  if (route === "models") {
    record({ ...base, status: 200, token_sub: auth.sub });
    const m = (id) => ({ type: "model", id, display_name: id, created_at: "2025-01-01T00:00:00Z" });
    if (path.startsWith("/v1/models/")) {
      sendJson(res, 200, m(decodeURIComponent(path.slice("/v1/models/".length))));
    } else {
      const ids = ["databricks-claude-opus-4-8", "databricks-claude-sonnet-4-5", "databricks-claude-haiku-4-5"];
      sendJson(res, 200, { data: ids.map(m), has_more: false, first_id: ids[0], last_id: ids[ids.length - 1] });
    }
    return;
  }

  if (route === "count_tokens") {
    record({ ...base, status: 200, model, token_sub: auth.sub });
    bump(stats, "count_tokens");
    sendJson(res, 200, { input_tokens: roughTokens(body) });
    return;
  }

  // route === "messages"
  if (!model || !Array.isArray(body.messages)) {
    record({ ...base, status: 400, model, token_sub: auth.sub, reason: "model and messages are required" });
    sendError(res, 400, "invalid_request_error", "model and messages are required");
    return;
  }
  const stream = body.stream === true;
  const plan = planReply(body);
  record({
    ...base,
    status: 200,
    model,
    token_sub: auth.sub,
    stream,
    reply: plan.kind,
    tool_results: countToolResults(body.messages),
    tool_names: toolNames(body),
    prompt: promptExcerpt(body.messages),
    max_tokens: body.max_tokens,
  });
  bump(stats, "messages");

  const msg = messageObject(model, plan, roughTokens(body), replyText(body, model));
  if (stream) sendSse(res, msg);
  else sendJson(res, 200, msg);
}
