#!/usr/bin/env node
// An HTTPS server with a certificate from the test CA (tests/fixtures/tls), and an HTTP proxy
// that tunnels CONNECT requests and counts them. For tests/tls.rs.
//
// Prints one line: {"https":"https://127.0.0.1:P","proxy":"http://127.0.0.1:Q"}; exits when
// stdin closes. The HTTPS server answers an OIDC discovery document (issuer = its own URL)
// and a workspace's OAuth metadata, so `gw doctor` can check both over verified TLS.
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';

const dir = new URL('../fixtures/tls/', import.meta.url);
const tls = { key: fs.readFileSync(new URL('server-key.pem', dir)), cert: fs.readFileSync(new URL('server.pem', dir)) };

let origin = '';
const server = https.createServer(tls, (req, res) => {
  const doc = req.url.startsWith('/.well-known/openid-configuration')
    ? { issuer: origin, authorization_endpoint: `${origin}/auth`, token_endpoint: `${origin}/token`, jwks_uri: `${origin}/jwks` }
    : req.url.startsWith('/oidc/.well-known/oauth-authorization-server')
      ? { issuer: `${origin}/oidc`, authorization_endpoint: `${origin}/oidc/v1/authorize`, token_endpoint: `${origin}/oidc/v1/token` }
      : null;
  res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json' });
  res.end(JSON.stringify(doc ?? { error: 'not found' }));
});

const tunnels = [];
const proxy = http.createServer((req, res) => {
  // Only the proxy's own stats are served; anything else is refused.
  if (req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ connect: tunnels.length, targets: tunnels }));
  } else {
    res.writeHead(405);
    res.end();
  }
});
proxy.on('connect', (req, socket, head) => {
  tunnels.push(req.url);
  const [host, port] = req.url.split(':');
  if (host !== '127.0.0.1' && host !== 'localhost') {
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    return;
  }
  const upstream = net.connect(Number(port), host, () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});

const listen = (s) => new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s.address().port)));
const [p1, p2] = await Promise.all([listen(server), listen(proxy)]);
origin = `https://127.0.0.1:${p1}`;
process.stdout.write(`${JSON.stringify({ https: origin, proxy: `http://127.0.0.1:${p2}` })}\n`);

const stop = () => process.exit(0);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
