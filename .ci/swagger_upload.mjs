// Uploads a file through Swagger UI's "Try it out" in headless Chromium, as a
// tester would: Authorize with a token, open POST /api/v1/uploads, choose a
// file, Execute; passes when the answer is 201 with the file's name and type.
// BASE (the server), PASSWORD (admin's), CHROMIUM (the browser's path).
import { chromium } from 'playwright-core';
import { writeFileSync } from 'fs';
const base = process.env.BASE || 'http://127.0.0.1:18111';
const login = await fetch(`${base}/api/v1/auth/login`, {
  method: 'POST', headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ username: 'admin', password: process.env.PASSWORD }),
});
const { access_token } = await login.json();
// a real PNG: 1x1
const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const file = `${process.env.TMPDIR || '/tmp'}/现场照片.png`;
writeFileSync(file, png);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
const page = await browser.newPage();
await page.goto(`${base}/swagger-ui/`);
await page.waitForSelector('.btn.authorize');
await page.click('.btn.authorize');
await page.fill('.auth-container input[type=text]', access_token);
await page.click('.auth-btn-wrapper .authorize');
await page.click('.btn-done');
await page.click('#operations-attachments-create_upload .opblock-summary');
await page.click('#operations-attachments-create_upload .try-out__btn');
await page.setInputFiles('#operations-attachments-create_upload input[type=file]', file);
await page.click('#operations-attachments-create_upload .execute');
await page.waitForSelector('#operations-attachments-create_upload .live-responses-table tbody .response-col_status');
const status = (await page.textContent('#operations-attachments-create_upload .live-responses-table tbody .response-col_status')).trim();
const body = await page.textContent('#operations-attachments-create_upload .live-responses-table tbody .response-col_description');
console.log('status', status);
console.log(body.slice(0, 400));
await browser.close();
const ok = status.startsWith('201') && body.includes('现场照片.png') && body.includes('image/png');
process.exit(ok ? 0 : 1);
