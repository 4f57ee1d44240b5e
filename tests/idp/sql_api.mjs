// A fake of the SQL Statement Execution API over seeded usage rows, and the SCIM lists usage
// per group needs; mounted by databricks_api.mjs and server.mjs. Plain node, no deps.
//
//   POST /api/2.0/sql/statements                  {statement, warehouse_id, parameters, ...}
//        unknown warehouse → 404 RESOURCE_DOES_NOT_EXIST; FAKE_SQL_DENY=1 → the statement
//        FAILED with [INSUFFICIENT_PERMISSIONS]; the first answer is PENDING (poll it)
//   GET  /api/2.0/sql/statements/{id}             SUCCEEDED with the first chunk
//   GET  /api/2.0/sql/statements/{id}/result/chunks/{n}
//   GET  /api/2.0/preview/scim/v2/Users           {Resources: [{id, userName}]}
//   GET  /api/2.0/preview/scim/v2/Groups          {Resources: [{displayName, members: [{value}]}]}
//
// It is not a SQL engine: it reads what gw's usage queries say (the GROUP BY column, a
// `current_user()` filter, the `:since` parameter) and aggregates the seeded rows the same way.
// Env: FAKE_WAREHOUSE_ID (default wh-test), FAKE_SQL_CHUNK_ROWS (default 2).

const HOUR = 3600 * 1000;

export function createSqlApi({ userOf }) {
  const WAREHOUSE = process.env.FAKE_WAREHOUSE_ID || 'wh-test';
  const CHUNK = Number(process.env.FAKE_SQL_CHUNK_ROWS || 2);
  const now = Date.now();
  // requester, endpoint, hours ago, input tokens, output tokens
  const seed = [
    ['alice@example.com', 'claude-code', 1, 1000, 200],
    ['alice@example.com', 'claude-code', 5, 3000, 800],
    ['alice@example.com', 'databricks-claude-sonnet-4-5', 30, 500, 100],
    ['bob@example.com', 'claude-code', 2, 700, 300],
    ['admin@example.com', 'claude-code', 3, 10, 5],
    ['carol@example.com', 'claude-code', 24 * 40, 99999, 99999], // outside a 30-day window
  ].map(([requester, endpoint, ago, input, output]) => ({ requester, endpoint, at: now - ago * HOUR, input, output }));
  const users = ['alice@example.com', 'bob@example.com', 'admin@example.com', 'carol@example.com'].map((u, i) => ({ id: String(100 + i), userName: u }));
  const groups = [
    { displayName: 'developers', members: [{ value: '100' }, { value: '101' }] },
    { displayName: 'admins', members: [{ value: '102' }] },
  ];
  const statements = new Map();
  const stats = { statements: 0, polls: 0, chunks: 0, scim: 0 };

  function run(body, token) {
    const sql = String(body.statement || '');
    const params = Object.fromEntries((body.parameters || []).map((p) => [p.name, p]));
    if (!/FROM system\.serving\.endpoint_usage/.test(sql)) return { state: 'FAILED', error: { error_code: 'BAD_REQUEST', message: '[TABLE_OR_VIEW_NOT_FOUND] this fake knows system.serving.endpoint_usage only' } };
    if (process.env.FAKE_SQL_DENY === '1') return { state: 'FAILED', error: { error_code: 'BAD_REQUEST', message: '[INSUFFICIENT_PERMISSIONS] User does not have SELECT on Table system.serving.endpoint_usage.' } };
    if (!params.since || params.since.type !== 'TIMESTAMP') return { state: 'FAILED', error: { error_code: 'BAD_REQUEST', message: '[UNBOUND_SQL_PARAMETER] since' } };
    const since = Date.parse(params.since.value);
    const by = (sql.match(/GROUP BY\s+(\S+)/) || [])[1];
    const key = { 'u.requester': (r) => r.requester, 'se.endpoint_name': (r) => r.endpoint }[by];
    if (!key) return { state: 'FAILED', error: { error_code: 'BAD_REQUEST', message: `unsupported GROUP BY ${by}` } };
    const me = userOf(token);
    const rows = new Map();
    for (const r of seed) {
      if (r.at < since) continue;
      if (/current_user\(\)/.test(sql) && r.requester !== me) continue;
      const k = key(r);
      const acc = rows.get(k) || [k, 0, 0, 0];
      acc[1] += 1; acc[2] += r.input; acc[3] += r.output;
      rows.set(k, acc);
    }
    const data = [...rows.values()]
      .sort((a, b) => (b[2] + b[3]) - (a[2] + a[3]) || a[0].localeCompare(b[0]))
      .map((r) => r.map(String));
    return { state: 'SUCCEEDED', data };
  }

  function chunk(st, n) {
    const data = st.data.slice(n * CHUNK, (n + 1) * CHUNK);
    const out = { chunk_index: n, row_offset: n * CHUNK, row_count: data.length, data_array: data };
    if ((n + 1) * CHUNK < st.data.length) out.next_chunk_index = n + 1;
    return out;
  }

  function view(id, st) {
    const out = { statement_id: id, status: { state: st.polled ? st.state : 'PENDING' } };
    if (st.polled && st.error) out.status.error = st.error;
    if (st.polled && st.state === 'SUCCEEDED') {
      out.manifest = { format: 'JSON_ARRAY', schema: { column_count: 4, columns: ['key', 'requests', 'input_tokens', 'output_tokens'].map((name, position) => ({ name, position, type_name: position ? 'LONG' : 'STRING' })) }, total_row_count: st.data.length, total_chunk_count: Math.max(1, Math.ceil(st.data.length / CHUNK)) };
      out.result = chunk(st, 0);
    }
    return out;
  }

  // [status, body] for a route of this API, or null when the path is not one of its.
  function handle(method, path, body, token) {
    let m;
    if (path === '/api/2.0/sql/statements' && method === 'POST') {
      if (body.warehouse_id !== WAREHOUSE) return [404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: `SQL warehouse ${body.warehouse_id} does not exist.` }];
      stats.statements += 1;
      const id = `01f0-${stats.statements}-${Math.random().toString(16).slice(2, 10)}`;
      statements.set(id, { ...run(body, token), polled: false });
      return [200, view(id, statements.get(id))];
    }
    if ((m = path.match(/^\/api\/2\.0\/sql\/statements\/([^/]+)$/)) && method === 'GET') {
      const st = statements.get(m[1]);
      if (!st) return [404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such statement' }];
      stats.polls += 1;
      st.polled = true;
      return [200, view(m[1], st)];
    }
    if ((m = path.match(/^\/api\/2\.0\/sql\/statements\/([^/]+)\/result\/chunks\/(\d+)$/)) && method === 'GET') {
      const st = statements.get(m[1]);
      if (!st || !st.polled) return [404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such result' }];
      stats.chunks += 1;
      return [200, chunk(st, Number(m[2]))];
    }
    if (path === '/api/2.0/preview/scim/v2/Users' && method === 'GET') {
      stats.scim += 1;
      return [200, { totalResults: users.length, startIndex: 1, itemsPerPage: users.length, Resources: users }];
    }
    if (path === '/api/2.0/preview/scim/v2/Groups' && method === 'GET') {
      stats.scim += 1;
      return [200, { totalResults: groups.length, startIndex: 1, itemsPerPage: groups.length, Resources: groups }];
    }
    return null;
  }

  return { handle, stats };
}
