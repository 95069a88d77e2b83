// CORS in a real browser (headless Chromium): a page served from an origin
// the server lists (AFTERCARE_CORS_ORIGINS) logs in, registers a complaint
// with an Idempotency-Key (and sees the retry's Idempotent-Replayed), reads
// a customer's ETag and changes it with If-Match; the same page from an
// origin not listed is refused by the browser.
// BASE (the server, started with AFTERCARE_CORS_ORIGINS=http://127.0.0.1:18141),
// PASSWORD (admin's), CHROMIUM (the browser's path).
import { chromium } from 'playwright-core';
import http from 'http';
const base = process.env.BASE || 'http://127.0.0.1:18140';
const password = process.env.PASSWORD;

// the setup, from Node (no browser, no CORS): a branch, its engineer, a project
async function api(method, path, token, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const admin = (await api('POST', '/api/v1/auth/login', null, { username: 'admin', password })).access_token;
const group = (await api('POST', '/api/v1/org-units', admin, { name: 'Group', kind: 'group' })).id;
const branch = (await api('POST', '/api/v1/org-units', admin, { name: 'East', kind: 'branch', parent_id: group })).id;
const pd = (await api('POST', '/api/v1/org-units', admin, { name: 'East PD', kind: 'project_department', parent_id: branch })).id;
await api('POST', '/api/v1/users', admin, { username: 'east.engineer', display_name: '工程部', role: 'branch_engineer', org_unit_id: branch, password: 'browser-password-1' });
const customer = (await api('POST', '/api/v1/customers', admin, { name: '业主 Owner', kind: 'owner_organisation', branch_id: branch })).id;
const project = (await api('POST', '/api/v1/projects', admin, {
  code: 'CORS-1', name: 'Project CORS', address: '1 River Road', project_department_id: pd, customer_id: customer,
  completion_accepted_on: '2026-01-05', handover_on: '2026-01-06', design_service_life_years: 50,
})).id;

// two origins serving the same empty page
const page_html = '<!doctype html><meta charset="utf-8"><title>web app</title>';
const serve = (port) => new Promise((ok) => {
  const s = http.createServer((_, res) => { res.setHeader('Content-Type', 'text/html'); res.end(page_html); });
  s.listen(port, '127.0.0.1', () => ok(s));
});
const allowed = await serve(18141);
const refused = await serve(18142);

// what the web app does, run in the page (its origin's fetch)
async function app({ base, project, customer }) {
  const out = {};
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'east.engineer', password: 'browser-password-1' }),
  });
  out.login = login.status;
  const token = (await login.json()).access_token;
  const auth = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const complaint = JSON.stringify({
    project_id: project, received_at: new Date().toISOString(), category: 'warranty', channel: 'phone',
    complainant_name: '王先生', complainant_phone: '13800138000', description: '卫生间漏水 the bathroom leaks',
  });
  const key = `browser-${Date.now()}`;
  const first = await fetch(`${base}/api/v1/complaints`, { method: 'POST', headers: { ...auth, 'Idempotency-Key': key }, body: complaint });
  out.register = first.status;
  out.location = first.headers.get('Location');
  out.etag = first.headers.get('ETag');
  out.remaining = first.headers.get('RateLimit-Remaining');
  const again = await fetch(`${base}/api/v1/complaints`, { method: 'POST', headers: { ...auth, 'Idempotency-Key': key }, body: complaint });
  out.replayed = again.headers.get('Idempotent-Replayed');
  out.same = (await again.json()).id === (await first.json()).id;
  const read = await fetch(`${base}/api/v1/customers/${customer}`, { headers: auth });
  out.customer_etag = read.headers.get('ETag');
  const changed = await fetch(`${base}/api/v1/customers/${customer}`, {
    method: 'PATCH', headers: { ...auth, 'If-Match': out.customer_etag }, body: JSON.stringify({ contact_phone: '13900139000' }),
  });
  out.update = changed.status;
  const stale = await fetch(`${base}/api/v1/customers/${customer}`, {
    method: 'PATCH', headers: { ...auth, 'If-Match': out.customer_etag }, body: JSON.stringify({ contact_phone: '13700137000' }),
  });
  out.stale = stale.status;
  return out;
}
async function blocked({ base }) {
  try {
    await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'east.engineer', password: 'browser-password-1' }),
    });
    return 'answered';
  } catch (e) {
    return `refused: ${e}`;
  }
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
const page = await browser.newPage();
await page.goto('http://127.0.0.1:18141/');
const seen = await page.evaluate(app, { base, project, customer });
console.log('listed origin:', JSON.stringify(seen));
await page.goto('http://127.0.0.1:18142/');
const other = await page.evaluate(blocked, { base });
console.log('other origin:', other);
await browser.close();
allowed.close();
refused.close();
const ok = seen.login === 200 && seen.register === 201 && seen.location && seen.etag
  && seen.remaining !== null && seen.replayed === 'true' && seen.same
  && seen.customer_etag && seen.update === 200 && seen.stale === 412
  && other.startsWith('refused');
process.exit(ok ? 0 : 1);
