#!/usr/bin/env node
// Headless stand-in for a web browser, used as gw's $BROWSER in tests.
//
//   node browser.mjs <url>
//
// <url> is either an authorization URL of the test IdP (Authorization Code
// flow), a link that redirects to one (gw's one-shot loopback start link), or its
// device verification URL (Device Flow, verification_uri_complete).
// Walks oidc-provider's dev interaction pages over plain HTTP with a cookie jar
// and manual redirects: login (as $TEST_BROWSER_USER, any password), consent,
// and for the device flow the user-code confirmation. For the code flow the
// final redirect to the client's loopback redirect_uri is then requested
// (GET, or POST for response_mode=form_post).
//
// Env:
//   TEST_BROWSER_USER       login name (default alice@example.com)
//   TEST_BROWSER_MODE       normal (default) | deny | no-callback
//   TEST_BROWSER_USER_CODE  user code to type when the URL has none
//   TEST_BROWSER_DEBUG=1    trace every request on stderr
//
// Exit 0 on success; non-zero with a message on stderr otherwise.

const MODES = new Set(['normal', 'deny', 'no-callback']);
const MODE = process.env.TEST_BROWSER_MODE || 'normal';
const USER = process.env.TEST_BROWSER_USER || 'alice@example.com';
const USER_CODE = process.env.TEST_BROWSER_USER_CODE || '';
const DEBUG = process.env.TEST_BROWSER_DEBUG === '1';
const MAX_STEPS = 40;
const TIMEOUT_MS = Number(process.env.TEST_BROWSER_TIMEOUT_MS || 15000);

class Failure extends Error {}

function fail(msg) {
  throw new Failure(msg);
}

function trace(...args) {
  if (DEBUG) process.stderr.write(`browser.mjs: ${args.join(' ')}\n`);
}

// ------------------------------------------------------------ cookie jar --

class CookieJar {
  #cookies = []; // { name, value, host, path, expires }

  store(url, setCookieHeaders) {
    const u = new URL(url);
    for (const header of setCookieHeaders) {
      const [pair, ...attrs] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = u.pathname.slice(0, u.pathname.lastIndexOf('/')) || '/';
      let expires = Infinity;
      for (const attr of attrs) {
        const i = attr.indexOf('=');
        const key = (i === -1 ? attr : attr.slice(0, i)).trim().toLowerCase();
        const val = i === -1 ? '' : attr.slice(i + 1).trim();
        if (key === 'path' && val.startsWith('/')) path = val;
        else if (key === 'max-age') expires = Date.now() + (Number(val) * 1000);
        else if (key === 'expires' && expires === Infinity) {
          const t = Date.parse(val);
          if (!Number.isNaN(t)) expires = t;
        }
      }
      this.#cookies = this.#cookies.filter((c) => !(c.name === name && c.host === u.hostname && c.path === path));
      if (expires > Date.now()) this.#cookies.push({ name, value, host: u.hostname, path, expires });
    }
  }

  header(url) {
    const u = new URL(url);
    const now = Date.now();
    const pathMatches = (cp) => u.pathname === cp
      || (u.pathname.startsWith(cp) && (cp.endsWith('/') || u.pathname[cp.length] === '/'));
    const matching = this.#cookies
      .filter((c) => c.host === u.hostname && c.expires > now && pathMatches(c.path))
      .sort((a, b) => b.path.length - a.path.length);
    return matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

const jar = new CookieJar();

async function request(url, { method = 'GET', form } = {}) {
  const headers = { 'user-agent': 'gw-test-browser/1', accept: 'text/html,*/*' };
  const cookie = jar.header(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    body = new URLSearchParams(form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  trace(method, url, form ? JSON.stringify(form) : '');
  let res;
  try {
    res = await fetch(url, {
      method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    fail(`${method} ${url} failed: ${err?.cause?.message || err?.message || err}`);
  }
  jar.store(url, res.headers.getSetCookie());
  const text = await res.text();
  const loc = res.headers.get('location');
  const location = loc ? new URL(loc, url).href : undefined;
  trace('  ->', res.status, location || '');
  return { url, status: res.status, location, text };
}

// ------------------------------------------------------------ HTML bits --

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos|#39);/gi, (m, e) => {
    const k = e.toLowerCase();
    if (k === 'amp') return '&';
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'quot') return '"';
    if (k === 'apos') return "'";
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
    return m;
  });
}

function attrs(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function parseForms(html, baseUrl) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const a = attrs(m[1]);
    const inputs = [];
    for (const im of m[2].matchAll(/<input\b([^>]*)>/gi)) {
      const ia = attrs(im[1]);
      if (ia.name) inputs.push({ name: ia.name, value: ia.value ?? '', type: (ia.type || 'text').toLowerCase() });
    }
    forms.push({
      id: a.id || '',
      method: (a.method || 'GET').toUpperCase(),
      action: new URL(a.action || baseUrl, baseUrl).href,
      inputs,
    });
  }
  return forms;
}

function formData(form, overrides = {}) {
  const data = {};
  for (const i of form.inputs) data[i.name] = i.value;
  return { ...data, ...overrides };
}

function textOf(html) {
  return decodeEntities(html
    .replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

function title(html) {
  const m = html.match(/<title>([\s\S]*?)<\/title>/i);
  return m ? textOf(m[1]) : '';
}

// ---------------------------------------------------------------- flows --

async function deliverCallback(step) {
  const cb = new URL(step.url);
  const params = step.form ? new URLSearchParams(step.form) : cb.searchParams;
  const error = params.get('error');

  if (MODE === 'no-callback') {
    process.stdout.write(`${step.url}\n`);
    return;
  }
  if (MODE === 'deny' && error !== 'access_denied') {
    process.stderr.write(`browser.mjs: warning: deny mode but callback carries error=${error}\n`);
  }

  // Follow redirects the callback answers with: the loopback server's own, or a relay's
  // (the fake workspace's U2M relay hands the code on to the client's loopback).
  let cur = step;
  let res;
  for (let i = 0; i < 5; i += 1) {
    res = await request(cur.url, { method: cur.form ? 'POST' : 'GET', form: cur.form });
    if (res.status >= 300 && res.status < 400 && res.location
      && (new URL(res.location).origin === new URL(cur.url).origin || isCallback({ url: res.location }))) {
      cur = { url: res.location };
      continue;
    }
    break;
  }
  if (MODE === 'deny') return; // any answer from the client is fine here
  if (res.status < 200 || res.status > 299) {
    fail(`loopback callback ${cur.url} answered HTTP ${res.status}: ${textOf(res.text).slice(0, 300)}`);
  }
  if (error) {
    fail(`IdP redirected with error=${error} error_description=${params.get('error_description') ?? ''} (delivered to the client)`);
  }
}

// The redirect that hands the authorization response to the client: `state` with `code` or
// `error`, in the query or in a form_post body.
function isCallback(step) {
  const params = step.form ? new URLSearchParams(step.form) : new URL(step.url).searchParams;
  return params.has('state') && (params.has('code') || params.has('error'));
}

async function run(startUrl) {
  let start;
  try {
    start = new URL(startUrl);
  } catch {
    fail(`not a URL: ${startUrl}`);
  }
  let step = { url: start.href };
  let denied = false;

  for (let n = 0; n < MAX_STEPS; n += 1) {
    if (isCallback(step)) {
      await deliverCallback(step);
      return;
    }
    const res = await request(step.url, { method: step.form ? 'POST' : 'GET', form: step.form });

    if (res.status >= 300 && res.status < 400) {
      if (!res.location) fail(`HTTP ${res.status} without Location at ${res.url}`);
      step = { url: res.location };
      continue;
    }
    if (res.status >= 400) {
      fail(`HTTP ${res.status} at ${res.url}: ${textOf(res.text).slice(0, 500)}`);
    }

    const html = res.text;
    const forms = parseForms(html, res.url);
    const byPrompt = (p) => forms.find((f) => f.inputs.some((i) => i.name === 'prompt' && i.value === p));
    const login = byPrompt('login');
    const consent = byPrompt('consent');
    const confirm = forms.find((f) => f.id === 'op.deviceConfirmForm');
    const codeInput = forms.find((f) => f.id === 'op.deviceInputForm');

    if (login) {
      const overrides = {};
      for (const i of login.inputs) {
        if (i.type === 'password') overrides[i.name] = 'test-password';
        else if (i.type !== 'hidden') overrides[i.name] = USER;
      }
      step = { url: login.action, form: formData(login, overrides) };
    } else if (consent) {
      if (MODE === 'deny') {
        // The dev interaction's "[ Cancel ]" link aborts with access_denied.
        const abort = [...html.matchAll(/<a\b([^>]*)>/gi)].map((m) => attrs(m[1]).href)
          .find((h) => h && /\/abort(?:$|[?#])/.test(h));
        if (!abort) fail(`no abort link on consent page ${res.url}`);
        denied = true;
        step = { url: new URL(abort, res.url).href };
      } else {
        step = { url: consent.action, form: formData(consent) };
      }
    } else if (confirm) {
      if (MODE === 'deny') {
        denied = true;
        step = { url: confirm.action, form: formData(confirm, { abort: 'yes' }) };
      } else {
        step = { url: confirm.action, form: formData(confirm) };
      }
    } else if (codeInput) {
      const errMsg = html.match(/<p class="red">([\s\S]*?)<\/p>/i);
      if (errMsg) {
        const msg = textOf(errMsg[1]);
        if (denied && /interrupted/i.test(msg)) return; // device flow denied as asked
        fail(`device verification page says: ${msg}`);
      }
      if (!USER_CODE) fail(`device code entry page shown but no user_code in the URL and TEST_BROWSER_USER_CODE unset (${res.url})`);
      const field = codeInput.inputs.find((i) => i.type !== 'hidden')?.name || 'user_code';
      step = { url: codeInput.action, form: formData(codeInput, { [field]: USER_CODE }) };
    } else if (/sign-in success/i.test(title(html))) {
      if (MODE === 'deny') fail('deny mode, but the device sign-in succeeded');
      return;
    } else if (forms.length === 1 && forms[0].method === 'POST'
      && forms[0].inputs.every((i) => i.type === 'hidden')) {
      // Auto-submitting page (form_post response mode, device user_code hand-off).
      step = { url: forms[0].action, form: formData(forms[0]) };
    } else {
      fail(`unrecognized page at ${res.url} (HTTP ${res.status}, title "${title(html)}"): ${textOf(html).slice(0, 300)}`);
    }
  }
  fail(`gave up after ${MAX_STEPS} requests`);
}

if (!MODES.has(MODE)) {
  process.stderr.write(`browser.mjs: TEST_BROWSER_MODE must be one of ${[...MODES].join(', ')}\n`);
  process.exit(2);
}
if (process.argv.length < 3) {
  process.stderr.write('usage: browser.mjs <authorize-or-device-url>\n');
  process.exit(2);
}

try {
  await run(process.argv[2]);
  process.exit(0);
} catch (err) {
  process.stderr.write(`browser.mjs: ${err instanceof Failure ? err.message : err?.stack || err}\n`);
  process.exit(1);
}
