// End-to-end and accessibility tests for the Justat web server, driven in
// Debian's headless Chromium through playwright-core.
//
// Run: JUSTAT_BIN=/path/to/justat node --test --test-reporter=spec justat.test.mjs
//
// The server is started as `$JUSTAT_BIN demo` with a fresh data directory and
// JUSTAT_LISTEN=127.0.0.1:0; it must print a line containing
// `listening on http://127.0.0.1:PORT` (stdout or stderr) once it accepts
// connections.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import ICAL from 'ical.js';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const CHROMIUM = process.env.JUSTAT_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// The demo prepares its data (in a debug build, about a minute on two idle cores) before it
// listens; CI may be building something else at the same time.
const SERVER_START_TIMEOUT_MS = 300_000;
const TEST_TIMEOUT_MS = 90_000;
const ACTION_TIMEOUT_MS = 15_000;
const NAVIGATION_TIMEOUT_MS = 30_000;
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

const ADMIN_USER = 'admin';
const ADMIN_PASSWORD = 'justat-demo-admin';

let server; // ChildProcess
let serverOutput = ''; // everything the server printed, for diagnostics
let dataDir;
let baseUrl;
let browser;
let anyFailure = false;

// Strip ANSI colour codes (tracing may colour its output even through a pipe).
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

function tail(text, lines = 60) {
  return text.split('\n').slice(-lines).join('\n');
}

function startServer() {
  const bin = process.env.JUSTAT_BIN;
  if (!bin) {
    throw new Error(
      'JUSTAT_BIN is not set: point it at the justat binary, e.g. ' +
        'JUSTAT_BIN=$CARGO_TARGET_DIR/debug/justat node --test justat.test.mjs',
    );
  }
  dataDir = mkdtempSync(join(tmpdir(), 'justat-browser-'));
  const env = { ...process.env, JUSTAT_DATA_DIR: dataDir, JUSTAT_LISTEN: '127.0.0.1:0', NO_COLOR: '1' };
  delete env.JUSTAT_DATABASE_URL;

  return new Promise((resolvePromise, reject) => {
    let settled = false;
    const child = spawn(resolve(bin), ['demo'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    const timer = setTimeout(() => {
      fail(new Error(`server did not print "listening on http://…" within ${SERVER_START_TIMEOUT_MS / 1000} s`));
    }, SERVER_START_TIMEOUT_MS);

    function fail(err) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      err.message += `\n--- server output ---\n${tail(serverOutput)}\n--- end of server output ---`;
      reject(err);
    }
    function onData(chunk) {
      serverOutput += stripAnsi(chunk.toString('utf8'));
      if (settled) return;
      const m = serverOutput.match(/listening on (http:\/\/[^\s/]+)/);
      if (m) {
        settled = true;
        clearTimeout(timer);
        resolvePromise(m[1]);
      }
    }
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => fail(new Error(`cannot start ${bin}: ${err.message}`)));
    child.on('exit', (code, signal) => fail(new Error(`server exited early (code ${code}, signal ${signal})`)));
  });
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  const timeout = new Promise((r) => setTimeout(r, 5_000, 'timeout'));
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    server.kill('SIGKILL');
    await exited;
  }
}

// Never leave the server behind, even if the runner dies between hooks.
process.on('exit', () => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
});

before(async () => {
  baseUrl = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
}, { timeout: SERVER_START_TIMEOUT_MS + 60_000 });

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await stopServer();
  if (anyFailure) {
    process.stderr.write(`\n--- justat server output (last lines) ---\n${tail(serverOutput, 80)}\n--- end ---\n`);
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh browser context + page that records console errors and page errors. */
async function openPage() {
  const context = await browser.newContext({ locale: 'fr-FR' });
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      problems.push({ kind: 'console.error', text: msg.text(), url: msg.location()?.url ?? '' });
    }
  });
  page.on('pageerror', (err) => problems.push({ kind: 'pageerror', text: String(err?.stack || err), url: page.url() }));
  return { context, page, problems };
}

/**
 * Fail if the page logged console errors (CSP violations show up as
 * "Refused to …", failed subresources as "Failed to load resource") or threw.
 * `allow(problem)` may excuse an expected one.
 */
function assertNoPageProblems(problems, allow = () => false) {
  // Chromium fetches /favicon.ico on its own, at a moment that varies from run
  // to run; its 404 is not the page's fault, so it is not counted here.
  const isFavicon = (p) => p.kind === 'console.error' && /\/favicon\.ico$/.test(p.url);
  const unexpected = problems.filter((p) => !isFavicon(p) && !allow(p));
  assert.equal(
    unexpected.length,
    0,
    `browser reported ${unexpected.length} error(s):\n` +
      unexpected.map((p) => `  [${p.kind}] ${p.text}${p.url ? ` (at ${p.url})` : ''}`).join('\n'),
  );
}

/** Run axe-core (WCAG 2.0/2.1 A and AA rules) on the current page; fail on any violation. */
async function assertAccessible(page, label) {
  // page.evaluate goes through the DevTools protocol, so the site's CSP (no
  // inline script) does not block injecting axe.
  const hasAxe = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!hasAxe) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(
    (tags) =>
      window.axe.run(document, {
        runOnly: { type: 'tag', values: tags },
        resultTypes: ['violations'],
      }),
    AXE_TAGS,
  );
  const report = result.violations
    .map((v) => {
      const nodes = v.nodes
        .map(
          (n) =>
            `      - target: ${JSON.stringify(n.target)}\n` +
            `        html: ${n.html}\n` +
            `        ${(n.failureSummary || '').replace(/\n/g, '\n        ')}`,
        )
        .join('\n');
      return `  * ${v.id} [${v.impact}] ${v.help}\n    ${v.helpUrl}\n${nodes}`;
    })
    .join('\n');
  assert.equal(
    result.violations.length,
    0,
    `axe found ${result.violations.length} accessibility violation(s) on ${label} (${page.url()}):\n${report}`,
  );
}

const pathOf = (page) => new URL(page.url()).pathname;
const isAdminPath = (u) => u.pathname === '/admin' || u.pathname.startsWith('/admin/');

/** Like test(), with a page opened and closed around the body and failures noted for diagnostics. */
function pageTest(name, fn) {
  test(name, { timeout: TEST_TIMEOUT_MS }, async () => {
    const handle = await openPage();
    try {
      await fn(handle);
    } catch (err) {
      anyFailure = true;
      throw err;
    } finally {
      await handle.context.close().catch(() => {});
    }
  });
}

async function logIn(page, user = ADMIN_USER, password = ADMIN_PASSWORD) {
  await page.goto(`${baseUrl}/connexion`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([
    page.waitForURL(isAdminPath),
    page.locator('form:has(#password) button[type="submit"]').first().click(),
  ]);
}

pageTest('home page loads in French with a heading and passes axe', async ({ page, problems }) => {
  const response = await page.goto(`${baseUrl}/`);
  assert.ok(response, 'no response for /');
  assert.equal(response.status(), 200, 'GET / status');
  assert.equal(await page.locator('html').getAttribute('lang'), 'fr', '<html lang> on /');
  assert.ok((await page.locator('h1').count()) >= 1, 'expected an <h1> on /');
  await assertAccessible(page, 'home page');
  assertNoPageProblems(problems);
});

pageTest('login page passes axe', async ({ page, problems }) => {
  const response = await page.goto(`${baseUrl}/connexion`);
  assert.equal(response?.status(), 200, 'GET /connexion status');
  assert.equal(await page.locator('#username').count(), 1, 'expected one #username field');
  assert.equal(await page.locator('#password').count(), 1, 'expected one #password field');
  await assertAccessible(page, 'login page');
  assertNoPageProblems(problems);
});

pageTest('demo admin logs in and sees the audit log', async ({ page, problems }) => {
  await logIn(page);
  assert.ok(isAdminPath(new URL(page.url())), `after login expected /admin…, got ${page.url()}`);
  await assertAccessible(page, 'admin landing page');

  const response = await page.goto(`${baseUrl}/admin/journal`);
  assert.equal(response?.status(), 200, 'GET /admin/journal status');
  assert.equal(pathOf(page), '/admin/journal');
  const table = page.locator('table').first();
  await table.waitFor({ state: 'visible' });
  assert.ok((await table.locator('caption').count()) >= 1, 'audit log table needs a <caption>');
  await assertAccessible(page, 'audit log page');

  await page.getByRole('button', { name: 'Vérifier l’intégrité du journal' }).click();
  await page.waitForURL((u) => u.searchParams.get('verifier') === '1');
  assert.ok((await page.getByText('Chaîne intègre').count()) >= 1, 'the chain verification result is shown');
  await assertAccessible(page, 'audit log page after verification');

  const users = await page.goto(`${baseUrl}/admin/utilisateurs`);
  assert.equal(users?.status(), 200, 'GET /admin/utilisateurs status');
  assert.ok((await page.locator('table caption').count()) >= 1, 'accounts table needs a <caption>');
  await assertAccessible(page, 'accounts page');
  assertNoPageProblems(problems);
});

pageTest('public content pages pass axe', async ({ page, problems }) => {
  for (const path of ['/le-service', '/accessibilite', '/mentions-legales', '/donnees-personnelles']) {
    const response = await page.goto(`${baseUrl}${path}`);
    assert.equal(response?.status(), 200, `GET ${path} status`);
    await assertAccessible(page, path);
  }
  assertNoPageProblems(problems);
});

pageTest('logging out ends the session', async ({ page, problems }) => {
  await logIn(page);
  const button = page.locator('header').getByRole('button', { name: 'Se déconnecter', exact: true });
  await button.waitFor({ state: 'visible' });
  const form = button.locator('xpath=ancestor::form[1]');
  const action = await form.getAttribute('action');
  assert.ok(action && new URL(action, page.url()).pathname === '/deconnexion', `logout form action: ${action}`);
  assert.equal((await form.getAttribute('method'))?.toLowerCase(), 'post', 'logout form must POST');

  await Promise.all([page.waitForURL((u) => u.pathname === '/'), button.click()]);
  assert.equal(pathOf(page), '/');

  await page.goto(`${baseUrl}/admin`);
  assert.equal(pathOf(page), '/connexion', `after logout /admin should redirect to /connexion, got ${page.url()}`);
  assertNoPageProblems(problems);
});

pageTest('unknown page returns 404 and passes axe', async ({ page, problems }) => {
  const url = `${baseUrl}/page-inexistante`;
  const response = await page.goto(url);
  assert.equal(response?.status(), 404, 'GET /page-inexistante status');
  assert.equal(await page.locator('html').getAttribute('lang'), 'fr', '<html lang> on the 404 page');
  await assertAccessible(page, '404 page');
  // Chromium logs the 404 of the document itself as a console error: expected here.
  assertNoPageProblems(problems, (p) => p.kind === 'console.error' && p.url === url && /\b404\b/.test(p.text));
});

pageTest('the demo publications are listed, readable, accessible and downloadable', async ({ page, problems }) => {
  const list = await page.goto(`${baseUrl}/publications`);
  assert.equal(list?.status(), 200, 'GET /publications status');
  await assertAccessible(page, 'list of publications');
  const links = await page.locator('.justat-liste a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  for (const collection of ['chiffres-cles', 'references-statistiques', 'infostat', 'infos-rapides']) {
    assert.ok(links.some((h) => h.startsWith(`/publications/${collection}/`)), `a ${collection} publication is listed: ${links}`);
    const r = await page.goto(`${baseUrl}/publications/${collection}`);
    assert.equal(r?.status(), 200, `GET /publications/${collection}`);
    await assertAccessible(page, `collection ${collection}`);
  }
  const filtered = await page.goto(`${baseUrl}/publications?collection=infostat`);
  assert.equal(filtered?.status(), 200);
  assert.equal(await page.locator('.justat-liste li').count(), 1, 'one Infostat in the demo');
  for (const href of links) {
    const r = await page.goto(`${baseUrl}${href}`);
    assert.equal(r?.status(), 200, `GET ${href}`);
    assert.equal(await page.locator('h1').count(), 1, `one h1 on ${href}`);
    const tables = page.locator('table');
    for (let i = 0; i < (await tables.count()); i++) {
      assert.equal(await tables.nth(i).locator('caption').count(), 1, `table ${i} of ${href} has a caption`);
      assert.ok((await tables.nth(i).locator('th').count()) > 0, `table ${i} of ${href} has header cells`);
    }
    // Every chart is followed by its data table.
    const charts = await page.locator('figure svg[role="img"]').count();
    assert.ok(charts <= (await page.locator('figure table').count()), `every chart of ${href} has its table`);
    await assertAccessible(page, href);
    const downloads = await page.locator('a.fr-link--download').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(downloads.length >= 4, `downloads on ${href}`);
    for (const d of downloads) {
      const res = await page.request.get(`${baseUrl}${d}`);
      assert.equal(res.status(), 200, `GET ${d}`);
      assert.match(res.headers()['content-disposition'] ?? '', /-v\d+[-.]/, `${d} names its version`);
    }
  }
  // The PDF holds the title and a cited value (read by poppler's pdftotext).
  const pdf = await page.request.get(`${baseUrl}/publications/infos-rapides/condamnations-2024.pdf`);
  assert.equal(pdf.status(), 200, 'GET the PDF');
  const pdfFile = join(dataDir, 'publication.pdf');
  writeFileSync(pdfFile, await pdf.body());
  const pdfText = execFileSync('pdftotext', [pdfFile, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  await page.goto(`${baseUrl}/publications/infos-rapides/condamnations-2024`);
  const title = (await page.locator('h1').innerText()).replace(/\s+/g, ' ').trim();
  assert.ok(pdfText.includes(title), `the PDF holds the title « ${title} »`);
  const cited = title.match(/\d[\d\s\u00a0]*\d/)[0].replace(/[\s\u00a0]+/g, ' ');
  assert.ok(pdfText.includes(cited), `the PDF holds the cited value ${cited}`);
  // The corrected Infos rapides: its first version stays readable and says it was corrected.
  const v1 = await page.goto(`${baseUrl}/publications/infos-rapides/condamnations-2024/v1`);
  assert.equal(v1?.status(), 200);
  assert.ok((await page.getByText('Cette version a été corrigée depuis').count()) === 1, 'v1 points to the correction');
  await assertAccessible(page, 'a corrected version');
  const latest = await page.goto(`${baseUrl}/publications/infos-rapides/condamnations-2024`);
  assert.equal(latest?.status(), 200);
  assert.ok((await page.getByText('Erratum').count()) >= 1, 'the correction shows its erratum');
  assertNoPageProblems(problems);
});

pageTest('the head of service reads a publication version, its traceability and its preview', async ({ page, problems }) => {
  await logIn(page, 'chef', 'justat-demo-chef');
  const list = await page.goto(`${baseUrl}/admin/publications`);
  assert.equal(list?.status(), 200, 'GET /admin/publications');
  assert.ok((await page.locator('table caption').count()) >= 1, 'versions table needs a caption');
  await assertAccessible(page, 'back-office publications');
  await Promise.all([
    page.waitForURL((u) => /\/admin\/publications\/.+\/v\d+$/.test(u.pathname)),
    page.locator('table a').first().click(),
  ]);
  assert.ok((await page.getByText('Traçabilité des tableaux').count()) === 1, 'traceability section');
  assert.ok((await page.locator('a[href^="/admin/livraisons/"]').count()) > 0, 'links to the input deliveries');
  await assertAccessible(page, 'back-office publication version');
  assertNoPageProblems(problems);
});

pageTest('a statistician delivers an extract, runs a chain and reads the manifest', async ({ page, problems }) => {
  await logIn(page, 'statisticienne', 'justat-demo-statisticienne');

  await page.goto(`${baseUrl}/admin/livraisons`);
  assert.ok((await page.locator('table caption').count()) >= 1, 'deliveries table needs a caption');
  await assertAccessible(page, 'deliveries page');

  // Upload a small penal extract with one bad row: the job ends with an OK_KO delivery.
  const header = 'case_id;offender_id;court;reception_date;orientation_date;natinf;legal_class;orientation;sex;age;minor;legal_person';
  const rows = [];
  for (let i = 0; i < 30; i++) {
    rows.push(`B${i};Q${i};TJ_1_119;02/01/2024;15/02/2024;7151;D;ALT_APP;M;${20 + i};0;0`);
  }
  rows.push('B99;Q99;TJ_1_119;02/03/2024;15/02/2024;7151;D;ALT_APP;M;40;0;0');
  const file = join(dataDir, 'navigateur.csv');
  writeFileSync(file, `${header}\r\n${rows.join('\r\n')}\r\n`, 'latin1');
  await page.selectOption('#source', 'penal');
  await page.setInputFiles('#fichier', file);
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/admin/taches/')),
    page.getByRole('button', { name: 'Déposer et contrôler' }).click(),
  ]);
  const report = page.getByRole('link', { name: /Voir le rapport de la livraison/ });
  await report.waitFor({ state: 'visible', timeout: 30_000 });
  await assertAccessible(page, 'job page');
  await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/admin/livraisons/')), report.click()]);
  assert.ok((await page.getByRole('heading', { level: 1, name: /OK_KO/ }).count()) === 1, 'the delivery ends OK_KO');
  assert.ok((await page.getByText('R_DATE_ORDER').count()) >= 1, 'the failed rule is reported');
  await assertAccessible(page, 'delivery report page');

  await page.goto(`${baseUrl}/admin/chaines`);
  await assertAccessible(page, 'chains page');
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/admin/taches/')),
    page.getByRole('button', { name: 'Exécuter prison_stock' }).click(),
  ]);
  const manifest = page.getByRole('link', { name: /Voir le manifeste du traitement/ });
  await manifest.waitFor({ state: 'visible', timeout: 60_000 });
  await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/admin/traitements/')), manifest.click()]);
  assert.ok((await page.getByText('Effectifs après chaque étape').count()) >= 1, 'the manifest shows the row counts');
  await assertAccessible(page, 'run manifest page');
  assertNoPageProblems(problems);
});

pageTest('a statistician writes a publication in the editor and previews it', async ({ page, problems }) => {
  await logIn(page, 'statisticienne', 'justat-demo-statisticienne');
  await page.goto(`${baseUrl}/admin/publications`);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/admin/publications/nouvelle'),
    page.getByRole('link', { name: 'Nouvelle publication' }).click(),
  ]);
  await assertAccessible(page, 'publication editor');
  const text = page.getByLabel(/Texte de la publication/);
  const source = await text.inputValue();
  await text.fill(source.replace('theme = "Condamnations"', 'theme = "Condamnations (essai)"'));
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/admin/publications/editeur/')),
    page.getByRole('button', { name: 'Prévisualiser' }).click(),
  ]);
  const preview = page.getByRole('heading', { level: 2, name: /Aperçu de la version 1/ });
  await preview.waitFor({ state: 'visible', timeout: 60_000 });
  assert.ok((await page.locator('.justat-apercu table caption').count()) >= 1, 'the preview holds its data table');
  assert.ok((await page.locator('.justat-apercu svg').count()) >= 1, 'the preview draws its chart');
  assert.ok((await text.inputValue()).includes('Condamnations (essai)'), 'the text typed is kept in the editor');
  await assertAccessible(page, 'publication editor with its preview');
  assertNoPageProblems(problems);
});

/** Runs the justat command line on the demo's data, as the head of service would. */
function justatCli(args) {
  const env = { ...process.env, JUSTAT_DATA_DIR: dataDir, JUSTAT_LOG: 'warn', NO_COLOR: '1' };
  delete env.JUSTAT_DATABASE_URL;
  return execFileSync(resolve(process.env.JUSTAT_BIN), args, { env, encoding: 'utf8' });
}

/** The VEVENT of a release in an iCalendar text, parsed by ical.js (an independent parser). */
function vevent(ics, uid) {
  const calendar = new ICAL.Component(ICAL.parse(ics));
  const event = calendar.getAllSubcomponents('vevent').find((e) => e.getFirstPropertyValue('uid') === uid);
  assert.ok(event, `the calendar has the release ${uid}`);
  return event;
}

pageTest('the public calendar passes axe; its iCalendar parses and a date change keeps the UID with a higher SEQUENCE', async ({ page, problems }) => {
  const res = await page.goto(`${baseUrl}/calendrier`);
  assert.equal(res?.status(), 200);
  for (const heading of ['Parutions à venir', 'Parutions passées', 'Parutions annulées']) {
    assert.equal(await page.getByRole('heading', { level: 2, name: heading }).count(), 1, heading);
  }
  assert.ok((await page.locator('table caption').count()) >= 3, 'every table has its caption');
  assert.ok((await page.getByText('Avis d’annulation').count()) >= 1, 'the cancelled release shows its notice');
  assert.ok((await page.getByText('Livraison tardive').count()) >= 1, 'the moved release shows its reason');
  await assertAccessible(page, 'calendar');
  await page.goto(`${baseUrl}/calendrier?collection=infostat`);
  await assertAccessible(page, 'calendar of one collection');

  const uid = 'infos-rapides/condamnations-2025@justat';
  const before = vevent(await (await fetch(`${baseUrl}/calendrier.ics`)).text(), uid);
  assert.equal(before.getFirstPropertyValue('status'), 'CONFIRMED');
  const start = before.getFirstPropertyValue('dtstart');
  assert.equal(start.zone?.tzid ?? before.getFirstProperty('dtstart').getParameter('tzid'), 'Europe/Paris');
  assert.equal(start.hour, 12, 'the release is at noon, Paris time');
  const api = await (await fetch(`${baseUrl}/api/v1/calendrier?collection=infos-rapides&status=confirmed`)).json();
  const planned = api.releases.find((r) => r.uid === uid);
  const next = new Date(`${planned.release_at_paris.slice(0, 10)}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 7);
  justatCli([
    'calendar', 'move', 'infos-rapides', 'condamnations-2025',
    '--date', next.toISOString().slice(0, 10), '--reason', 'Report d’une semaine (test)', '--as', 'chef',
  ]);
  const after = vevent(await (await fetch(`${baseUrl}/calendrier/infos-rapides.ics`)).text(), uid);
  assert.equal(after.getFirstPropertyValue('sequence'), before.getFirstPropertyValue('sequence') + 1, 'SEQUENCE raised');
  assert.notEqual(after.getFirstPropertyValue('dtstart').toString(), start.toString(), 'the new date');
  const atom = await (await fetch(`${baseUrl}/calendrier.atom`)).text();
  assert.ok(atom.includes('Report d’une semaine (test)'), 'the Atom feed says why');

  await page.goto(`${baseUrl}/`);
  assert.ok((await page.getByRole('heading', { level: 2, name: 'Prochaines parutions' }).count()) === 1);
  await assertAccessible(page, 'home page with its latest and next releases');
  await page.goto(`${baseUrl}/recherche?q=orientations`);
  assert.ok((await page.locator('main a[href^="/publications/infostat/"]').count()) >= 1, 'search finds the Infostat');
  await assertAccessible(page, 'search results');
  assertNoPageProblems(problems);
});

pageTest('the embargo recipient reads the release under embargo while the public sees nothing', async ({ page, problems }) => {
  const publicPath = '/publications/references-statistiques/peines-selon-l-infraction-2024';
  for (const path of [publicPath, `${publicPath}.pdf`, `${publicPath}/donnees.zip`]) {
    assert.equal((await fetch(`${baseUrl}${path}`)).status, 404, `${path} is nothing to the public`);
  }
  const publicList = await (await fetch(`${baseUrl}/publications`)).text();
  assert.ok(!publicList.includes('Les peines selon la nature'), 'not listed publicly');

  await logIn(page, 'destinataire', 'justat-demo-destinataire');
  await page.goto(`${baseUrl}/admin/embargo`);
  await assertAccessible(page, 'embargo terms');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/admin/embargo'),
    page.getByRole('button', { name: 'J’accepte les conditions de l’embargo' }).click(),
  ]);
  await assertAccessible(page, 'embargo room');
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/admin/embargo/references-statistiques/')),
    page.locator('table a').first().click(),
  ]);
  assert.equal(await page.getByRole('heading', { level: 2, name: /Sous embargo jusqu’au/ }).count(), 1);
  assert.ok((await page.getByText('Claire Dubois').count()) >= 1, 'marked with her name');
  assert.ok((await page.locator('table caption').count()) >= 1, 'the tables have their captions');
  await assertAccessible(page, 'publication under embargo');
  // Her own copy of the PDF, stamped with the embargo's end and her name by the job runner
  // once she asks for it.
  const pdfUrl = `${baseUrl}/admin/embargo/references-statistiques/peines-selon-l-infraction-2024/fichiers/publication.pdf`;
  await page.goto(pdfUrl);
  await assertAccessible(page, 'the offer of a stamped copy');
  await Promise.all([
    page.waitForURL((u) => u.pathname.endsWith('/fichiers/publication.pdf')),
    page.getByRole('button', { name: 'Préparer mon exemplaire' }).click(),
  ]);
  // Left before it reloads itself into the download: the copy is fetched below.
  await page.goto(`${baseUrl}/admin/embargo`);
  let copy;
  for (let i = 0; i < 150 && !copy; i++) {
    const r = await page.request.get(pdfUrl);
    assert.equal(r.status(), 200);
    if (r.headers()['content-type'] === 'application/pdf') copy = await r.body();
    else await new Promise((ok) => setTimeout(ok, 200));
  }
  assert.ok(copy, 'the stamped copy is ready');
  const copyFile = join(dataDir, 'exemplaire.pdf');
  writeFileSync(copyFile, copy);
  const stamped = execFileSync('pdftotext', [copyFile, '-'], { encoding: 'utf8' });
  assert.ok(stamped.includes('Sous embargo jusqu') && stamped.includes('Claire Dubois'), 'the PDF carries the embargo and her name');
  assertNoPageProblems(problems);
});

pageTest('the ASP reads the embargo list and its access log, and downloads the transmission', async ({ page, problems }) => {
  await logIn(page, 'asp', 'justat-demo-asp');
  await page.goto(`${baseUrl}/admin/listes-embargo`);
  assert.ok((await page.getByText('Claire Dubois').count()) >= 1, 'the nominative list');
  assert.ok((await page.getByRole('heading', { level: 2, name: 'Registre des incidents' }).count()) === 1);
  await assertAccessible(page, 'embargo lists');
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/admin/listes-embargo/transmission/')),
    page.getByRole('button', { name: /Préparer la transmission à l’ASP/ }).first().click(),
  ]);
  const letter = page.getByRole('link', { name: /lettre-asp\.pdf/ });
  await letter.waitFor({ state: 'visible', timeout: 60_000 });
  await assertAccessible(page, 'transmission to the ASP');
  const href = await letter.getAttribute('href');
  const res = await page.request.get(`${baseUrl}${href}`);
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['content-type'], 'application/pdf');
  const pdfFile = join(dataDir, 'lettre-asp.pdf');
  writeFileSync(pdfFile, await res.body());
  const text = execFileSync('pdftotext', [pdfFile, '-'], { encoding: 'utf8' });
  assert.ok(text.includes('Claire Dubois'), 'the letter names the recipient');
  assertNoPageProblems(problems);
});

pageTest('the head of service manages the calendar in the back office', async ({ page, problems }) => {
  await logIn(page, 'chef', 'justat-demo-chef');
  const res = await page.goto(`${baseUrl}/admin/calendrier`);
  assert.equal(res?.status(), 200);
  assert.ok((await page.locator('table caption').count()) >= 1, 'the releases table has its caption');
  assert.ok((await page.getByText('Confirmer la date').count()) >= 1, 'a provisional release can be confirmed');
  await assertAccessible(page, 'back-office calendar');
  // Open a change form, as a user would, and scan it too.
  await page.locator('details summary').first().click();
  await assertAccessible(page, 'back-office calendar with a change form open');
  await page.goto(`${baseUrl}/admin/listes-embargo`);
  assert.ok((await page.getByRole('heading', { level: 2, name: 'Proposer un destinataire' }).count()) === 1);
  await assertAccessible(page, 'embargo lists with the proposal form');
  assertNoPageProblems(problems);
});

// The steering dashboards of the demo: each administration's account sees its own, whose
// charts have their data tables and whose management values carry their mention.
for (const [user, slug] of [
  ['pilotage', 'dpjj'],
  ['pilotage-dacg', 'dacg'],
  ['pilotage-sadjav', 'sadjav'],
]) {
  pageTest(`steering dashboard ${slug} passes axe and shows its charts with their tables`, async ({ page, problems }) => {
    await logIn(page, user, `justat-demo-${user}`);
    const response = await page.goto(`${baseUrl}/admin/tableaux-de-bord/${slug}?periodicite=trimestre`);
    assert.equal(response?.status(), 200, `GET /admin/tableaux-de-bord/${slug}`);
    const charts = await page.locator('svg.justat-chart').count();
    assert.ok(charts > 0, 'the dashboard has charts');
    assert.ok((await page.locator('table caption').count()) >= charts, 'every chart has its data table');
    assert.ok((await page.getByText('ce n’est pas une statistique publique').count()) > 0, 'the pilotage mention');
    await assertAccessible(page, `dashboard ${slug}`);
    const definition = page.locator(`a[href^="/admin/tableaux-de-bord/${slug}/indicateurs/"]`).first();
    await Promise.all([page.waitForURL((u) => u.pathname.includes('/indicateurs/')), definition.click()]);
    await assertAccessible(page, `indicator definition ${slug}`);
    const otherUrl = `${baseUrl}/admin/tableaux-de-bord/${slug === 'dpjj' ? 'sadjav' : 'dpjj'}`;
    const other = await page.goto(otherUrl);
    assert.equal(other?.status(), 404, 'another administration’s dashboard does not exist');
    // Chromium logs that document's 404 as a console error: expected here.
    assertNoPageProblems(problems, (p) => p.kind === 'console.error' && p.url === otherUrl && /\b404\b/.test(p.text));
  });
}

// ---- steering dashboards and work programme

pageTest('the pilotage account opens each of its dashboards, an official value waits for its release', async ({ page, problems }) => {
  await logIn(page, 'pilotage', 'justat-demo-pilotage');
  const index = await page.goto(`${baseUrl}/admin/tableaux-de-bord`);
  assert.equal(index?.status(), 200);
  await assertAccessible(page, 'the list of the account’s dashboards');
  // The list leads to the account's own dashboard (with one, straight to it).
  const dashboards = [
    ...new Set(
      [pathOf(page), ...(await page.locator('a[href^="/admin/tableaux-de-bord/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href'))))]
        .map((h) => h.split('?')[0])
        .filter((h) => /^\/admin\/tableaux-de-bord\/[a-z]+$/.test(h)),
    ),
  ];
  assert.ok(dashboards.length >= 1, 'the account has its dashboards');
  let scheduled = 0;
  for (const href of dashboards) {
    for (const periodicite of ['ann%C3%A9e', 'mois']) {
      const res = await page.goto(`${baseUrl}${href}?periodicite=${periodicite}`);
      assert.equal(res?.status(), 200, href);
      const charts = await page.locator('svg.justat-chart').count();
      assert.ok(charts > 0, `${href} has charts`);
      // Every chart is followed by its data table, with its caption and header cells.
      const unmatched = await page.locator('svg.justat-chart').evaluateAll((svgs) =>
        svgs.filter((svg) => {
          let el = svg.closest('figure') || svg;
          for (let i = 0; i < 6 && el; i += 1) {
            el = el.nextElementSibling;
            if (el && el.querySelector && el.querySelector('table caption') && el.querySelector('th')) return false;
          }
          return true;
        }).length,
      );
      assert.equal(unmatched, 0, `every chart of ${href} has its data table`);
      scheduled += await page.getByText(/publication le \d/).count();
      await assertAccessible(page, `dashboard ${href} (${periodicite})`);
    }
  }
  assert.ok(scheduled > 0, 'one official value shows « publication le … » instead of its value');
  assertNoPageProblems(problems);
});

pageTest('the public work programme and a year page pass axe', async ({ page, problems }) => {
  const res = await page.goto(`${baseUrl}/programme-de-travail`);
  assert.equal(res?.status(), 200);
  assert.equal(await page.locator('h1').first().innerText(), 'Programme de travail 2026');
  for (const heading of ['1. Exposé de synthèse', '2. Travaux nouveaux', 'Annexe : opérations permanentes', 'Avis du Cnis et réponses du service']) {
    assert.equal(await page.getByRole('heading', { name: heading }).count(), 1, heading);
  }
  assert.ok((await page.getByText('Reportée', { exact: true }).count()) >= 1, 'the postponed operation');
  assert.ok((await page.getByText(/^Motif : /).count()) >= 1, 'with its reason');
  assert.ok((await page.locator('a[href="/calendrier"]').count()) >= 2, 'links to the calendar');
  assert.ok((await page.locator('a[href*="/enquetes/"]').count()) >= 1, 'a link to the survey’s legal notice');
  assert.ok((await page.locator('table caption').count()) >= 1, 'the opinions’ table has its caption');
  await assertAccessible(page, 'the current work programme');
  const pdf = await page.locator('a[href$="programme-de-travail-2026.pdf"]').getAttribute('href');
  const file = await page.request.get(`${baseUrl}${pdf}`);
  assert.equal(file.status(), 200);
  assert.equal(file.headers()['content-type'], 'application/pdf');
  const pdfFile = join(dataDir, 'programme-2026.pdf');
  writeFileSync(pdfFile, await file.body());
  const text = execFileSync('pdftotext', [pdfFile, '-'], { encoding: 'utf8' });
  assert.ok(text.includes('Exposé de synthèse') && text.includes('2026X004JU'), 'the PDF is the programme');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/programme-de-travail/2027'),
    page.getByRole('link', { name: 'Programme de travail 2027' }).first().click(),
  ]);
  await assertAccessible(page, 'the work programme of 2027');
  assert.equal((await page.goto(`${baseUrl}/programme-de-travail/1999`))?.status(), 404);
  assertNoPageProblems(problems, (p) => p.kind === 'console.error' && /\/programme-de-travail\/1999$/.test(p.url));
});

pageTest('the head of service edits an operation of the programme, its history kept', async ({ page, problems }) => {
  await logIn(page, 'chef', 'justat-demo-chef');
  const res = await page.goto(`${baseUrl}/admin/programme-de-travail/2026`);
  assert.equal(res?.status(), 200);
  await assertAccessible(page, 'the back office of the 2026 programme');
  const historyRows = await page.locator('#historique ~ .fr-table tbody tr').count();
  await Promise.all([
    page.waitForURL((u) => /\/operations\/\d+$/.test(u.pathname)),
    page.getByRole('link', { name: /l’opération Parcours judiciaires des mineurs/ }).click(),
  ]);
  await assertAccessible(page, 'an operation’s form');
  // A postponement without its reason is refused, what was typed kept.
  await page.selectOption('#op-status', 'postponed');
  await page.fill('#op-status_reason', '');
  await page.fill('#op-description', 'Étude décalée : échantillon à revoir.');
  await page.getByRole('button', { name: 'Enregistrer l’opération' }).click();
  await page.getByText('une opération reportée doit en donner la raison').waitFor();
  assert.equal(await page.inputValue('#op-description'), 'Étude décalée : échantillon à revoir.');
  await assertAccessible(page, 'an operation’s form with its error');
  await page.fill('#op-status_reason', 'L’appariement des données n’est pas encore autorisé.');
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/admin/programme-de-travail/2026'),
    page.getByRole('button', { name: 'Enregistrer l’opération' }).click(),
  ]);
  assert.ok((await page.getByText('Reportée — L’appariement des données n’est pas encore autorisé.').count()) === 1);
  assert.equal(await page.locator('#historique ~ .fr-table tbody tr').count(), historyRows + 1, 'the edit is in the history');
  const publicPage = await page.goto(`${baseUrl}/programme-de-travail/2026`);
  assert.equal(publicPage?.status(), 200);
  assert.ok((await page.getByText('Motif : L’appariement des données n’est pas encore autorisé.').count()) === 1);
  assertNoPageProblems(problems, (p) => p.kind === 'console.error' && /status of 422/.test(p.text));
});

// ---- survey back office
// The demo's statistician follows the campaign under way (the re-interview of the BAV
// survey): its follow-up with the rates' charts and tables, a unit that submitted, and a
// correction of one of its answers, the collected value kept beside it.
pageTest('a statistician follows a survey campaign, opens a unit and corrects an answer', async ({ page, problems }) => {
  await logIn(page, 'statisticienne', 'justat-demo-statisticienne');
  const list = await page.goto(`${baseUrl}/admin/enquetes`);
  assert.equal(list?.status(), 200, 'GET /admin/enquetes');
  await assertAccessible(page, 'survey campaigns');
  await Promise.all([
    page.waitForURL((u) => /^\/admin\/enquetes\/\d+$/.test(u.pathname)),
    page.getByRole('link', { name: /Enquête de contrôle/ }).click(),
  ]);
  const charts = await page.locator('svg.justat-chart').count();
  assert.equal(charts, 3, 'rates by kind, court of appeal and week');
  assert.ok((await page.locator('table caption').count()) >= charts + 2, 'every chart has its data table');
  assert.ok((await page.getByText('Mention légale lue par les répondants').count()) === 1);
  await assertAccessible(page, 'survey campaign follow-up');
  await page.selectOption('#statut', 'submitted');
  await Promise.all([
    page.waitForURL((u) => u.searchParams.get('statut') === 'submitted'),
    page.getByRole('button', { name: 'Filtrer' }).click(),
  ]);
  await assertAccessible(page, 'survey campaign follow-up filtered by status');
  await Promise.all([
    page.waitForURL((u) => u.pathname.endsWith('/unite')),
    page.locator('a[href*="/unite?code="]').first().click(),
  ]);
  assert.ok((await page.getByRole('heading', { level: 2, name: 'Historique des statuts' }).count()) === 1);
  await assertAccessible(page, 'survey unit');
  const form = page.locator('form:has(input[name="chemin"])').first();
  const value = form.locator('input[name="valeur"]');
  const collected = await value.inputValue();
  await value.fill(collected);
  await form.locator('input[name="motif"]').fill('relu avec le bureau par téléphone');
  await Promise.all([
    page.waitForURL((u) => u.searchParams.get('fait') === 'correction'),
    form.getByRole('button').click(),
  ]);
  assert.ok((await page.getByText('La correction est enregistrée').count()) === 1);
  assert.ok((await page.getByText('relu avec le bureau par téléphone').count()) >= 1, 'the correction and its reason');
  await assertAccessible(page, 'survey unit after a correction');
  assertNoPageProblems(problems);
});

// ---- respondent portal
// A court answers the demo questionnaire (surveys/bav-2025.toml) through /enquetes with an
// access code the demo printed for its trial campaign: a filter hides a question, a blocking
// control stops the page, a warning is confirmed with « Poursuivre », the session ends and
// resumes with the code, the answers are reviewed and submitted, the acknowledgement's PDF
// downloads; axe runs on every page. Then again without JavaScript, with the other code (a
// unit submits once).

const ACCESS_CODE = /^\s+(.+?)\s{2,}([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3,})\s*$/;

/** The demo's printed access codes, as [unit name, code], in the order printed. */
async function demoAccessCodes() {
  for (let i = 0; i < 50; i++) {
    const block = serverOutput.match(/respondent portal [^\n]*\n((?:[ ]{2}[^\n]*\n)+)/);
    if (block) {
      const codes = block[1].split('\n').map((l) => l.match(ACCESS_CODE)).filter(Boolean).map((m) => [m[1], m[2]]);
      if (codes.length >= 2) return codes;
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`the demo printed no two access codes:\n${tail(serverOutput)}`);
}

/** Clicks a submit button and waits for the page it leads to; returns that page's response. */
async function submitWith(page, button) {
  const [response] = await Promise.all([page.waitForNavigation(), button.click()]);
  return response;
}

/** Ticks a radio button or checkbox by its field name and value (DSFR hides the native box). */
async function tick(page, name, value) {
  await page.locator(`input[name="${name}"][value="${value}"]`).check({ force: true });
}

const nextPage = (page) => page.getByRole('button', { name: /^Enregistrer et (passer à la page suivante|voir le récapitulatif)$/ });
const savePage = (page) => page.getByRole('button', { name: 'Enregistrer', exact: true });
const portalField = (page, name) => page.locator(`[name="${name}"]`);

async function enterCode(page, code, label) {
  await page.fill('#code', code);
  const res = await submitWith(page, page.getByRole('button', { name: 'Accéder au questionnaire' }));
  assert.equal(res?.status(), 200, `the code opens the questionnaire (${label})`);
  assert.equal(pathOf(page), '/enquetes/questionnaire');
}

/**
 * Runs axe on what a page without JavaScript shows: its HTML, scripts removed, in a page of a
 * JavaScript-enabled context (axe runs on timers, which a page without JavaScript never fires).
 */
async function assertAccessibleWithoutJs(page, scratch, label) {
  const html = (await page.content())
    .replace(/<script\b[\s\S]*?<\/script>/gi, '')
    .replace(/<head([^>]*)>/i, `<head$1><base href="${page.url()}">`);
  await scratch.setContent(html, { waitUntil: 'load' });
  await assertAccessible(scratch, `${label} at ${page.url()}`);
}

async function answerTheDemoQuestionnaire(page, unitName, code, run, scratch) {
  const check = (label) =>
    scratch ? assertAccessibleWithoutJs(page, scratch, `${label} (${run})`) : assertAccessible(page, `${label} (${run})`);
  const res = await page.goto(`${baseUrl}/enquetes`);
  assert.equal(res?.status(), 200, 'GET /enquetes');
  assert.equal((await page.evaluate(() => typeof window.dsfr)) !== 'undefined', !scratch, 'the DSFR script runs only with JavaScript');
  await check('the access code page');
  await enterCode(page, code, run);
  assert.ok((await page.getByText(unitName).count()) >= 1, `the portal names the unit ${unitName}`);
  assert.ok((await page.getByRole('heading', { level: 2, name: 'Mentions légales' }).count()) === 1, 'the legal notice');
  await check('the questionnaire’s home page');

  // Page 1: « non » asks why the office was closed; « oui » hides that question.
  await submitWith(page, page.getByRole('link', { name: 'Commencer le questionnaire' }));
  assert.equal(pathOf(page), '/enquetes/page/1');
  await check('page 1');
  const why = portalField(page, 'motif_inactivite');
  assert.equal(await why.count(), 0, 'the reason for a closed office is not asked before « non »');
  await tick(page, 'bav_actif', 'non');
  await submitWith(page, savePage(page));
  assert.ok((await why.count()) > 0, '« non » shows the question on why the office was closed');
  assert.equal(await portalField(page, 'etp').count(), 0, 'the staff question is hidden after « non »');
  await check('page 1 after « non »');
  await tick(page, 'bav_actif', 'oui');
  await submitWith(page, savePage(page));
  assert.equal(await why.count(), 0, 'the filter hides the question on why the office was closed after « oui »');
  assert.equal(await portalField(page, 'etp').count(), 1, '« oui » shows the staff question');

  // A warning: 8 half-days a week with less than half a post.
  await portalField(page, 'etp').fill('0,4');
  await portalField(page, 'demi_journees').fill('8');
  let r = await submitWith(page, nextPage(page));
  assert.equal(r?.status(), 422, 'an unconfirmed warning stops the page');
  assert.equal(pathOf(page), '/enquetes/page/1');
  const warning = page.getByText(/Au moins 8 demi-journées d.ouverture par semaine avec moins d.un mi-temps/);
  assert.ok((await warning.count()) >= 1, 'the warning is shown');
  await check('page 1 with its warning');
  await tick(page, 'c_ouverture_effectif!continue', '1');
  r = await submitWith(page, nextPage(page));
  assert.equal(r?.status(), 200);
  assert.equal(pathOf(page), '/enquetes/page/2', '« Poursuivre » lets the respondent go on');
  await check('page 2');

  // Page 2: more minors than victims is a blocking error.
  const counts = { G_PERSONNE: [30, 12], G_BIENS: [10, 9], G_CIRCULATION: [3, 4], G_AUTORITE: [1, 1], G_STUPEFIANTS: [0, 1], G_ECOFI: [2, 2], G_ENVIRONNEMENT: [0, 0] };
  for (const [row, [f, m]] of Object.entries(counts)) {
    await portalField(page, `victimes.${row}.F`).fill(String(f));
    await portalField(page, `victimes.${row}.M`).fill(String(m));
  }
  await portalField(page, 'victimes_mineures').fill('500');
  r = await submitWith(page, nextPage(page));
  assert.equal(r?.status(), 422, 'a blocking control stops the page');
  assert.equal(pathOf(page), '/enquetes/page/2', 'the page is not advanced');
  const blocking = 'Le nombre de victimes mineures ne peut pas dépasser le nombre total de victimes reçues.';
  assert.ok((await page.locator('#a-corriger').getByText(blocking).count()) === 1, 'the error is listed at the top');
  assert.ok((await page.locator('.fr-error-text', { hasText: blocking }).count()) === 1, 'the error is beside its field');
  await check('page 2 with its blocking error');
  await portalField(page, 'victimes_mineures').fill('7');
  r = await submitWith(page, nextPage(page));
  assert.equal(pathOf(page), '/enquetes/page/3', 'corrected, the page is left');
  await check('page 3');

  // The session ends (« Quitter ») and resumes with the code, the answers kept.
  r = await submitWith(page, page.getByRole('button', { name: /^Quitter/ }));
  assert.equal(pathOf(page), '/enquetes');
  assert.ok((await page.getByText('Vous avez quitté le questionnaire').count()) === 1, 'the portal says the answers are kept');
  await check('the access code page after « Quitter »');
  await page.goto(`${baseUrl}/enquetes/page/2`);
  assert.equal(pathOf(page), '/enquetes', 'no page without the session');
  await enterCode(page, code, `${run}, resumed`);
  await submitWith(page, page.getByRole('link', { name: 'Reprendre le questionnaire' }));
  await page.goto(`${baseUrl}/enquetes/page/2`);
  assert.equal(await portalField(page, 'victimes_mineures').inputValue(), '7', 'the answers saved are found again');
  assert.equal(await portalField(page, 'victimes.G_PERSONNE.F').inputValue(), '30');
  await page.goto(`${baseUrl}/enquetes/page/3`);

  // Page 3: a service, one place of permanence (a loop).
  await tick(page, 'services', 'INFO');
  await tick(page, 'services', 'ACCOMP');
  await portalField(page, 'lieux!items').fill('1');
  await submitWith(page, savePage(page));
  await portalField(page, 'lieux[1].lieu').fill('Maison de justice et du droit, Vénissieux');
  await portalField(page, 'lieux[1].demi_journees_mois').fill('4');
  await check('page 3 with its loop');
  r = await submitWith(page, nextPage(page));
  assert.equal(pathOf(page), '/enquetes/recapitulatif', `the last page leads to the review (got ${r?.status()})`);

  // The review: every answer, the warning kept; then the submission.
  for (const text of ['Maison de justice et du droit, Vénissieux', 'Avertissements confirmés']) {
    assert.ok((await page.getByText(text).count()) >= 1, `the review shows « ${text} »`);
  }
  assert.ok((await page.locator('table caption').count()) >= 3, 'the review’s tables have captions');
  await check('the review');
  const downloadOrPage = Promise.race([
    page.waitForEvent('download').then((d) => ({ download: d })),
    page.waitForNavigation().then((res) => ({ res })).catch(() => new Promise(() => {})),
  ]);
  await page.getByRole('button', { name: 'Envoyer mes réponses' }).click();
  let outcome = await downloadOrPage;
  if (outcome.res) {
    assert.equal(pathOf(page), '/enquetes/accuse-de-reception');
    assert.equal(outcome.res.status(), 202, 'the acknowledgement is being made');
    await check('the acknowledgement being made');
    // The worker typesets it; the page's link gives it once ready.
    for (let i = 0; i < 200; i++) {
      const probe = await page.request.get(`${baseUrl}/enquetes/accuse-de-reception`);
      if (probe.headers()['content-type'] === 'application/pdf') break;
      await new Promise((ok) => setTimeout(ok, 300));
    }
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Télécharger l’accusé de réception' }).click();
    outcome = { download: await download };
  }
  const pdfFile = join(dataDir, `accuse-${run.replace(/\W+/g, '-')}.pdf`);
  await outcome.download.saveAs(pdfFile);
  assert.equal(readFileSync(pdfFile).subarray(0, 5).toString('latin1'), '%PDF-', 'the acknowledgement is a PDF');
  const receipt = execFileSync('pdftotext', [pdfFile, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  assert.ok(receipt.includes(unitName), `the acknowledgement names ${unitName}`);
  assert.ok(receipt.includes('Vénissieux'), 'the acknowledgement holds the answers');

  // Submitted: read-only.
  await page.goto(`${baseUrl}/enquetes/recapitulatif`);
  assert.ok((await page.getByText('Vos réponses ont été envoyées').count()) >= 1, 'the review says they were sent');
  assert.equal(await page.getByRole('button', { name: 'Envoyer mes réponses' }).count(), 0, 'nothing to send again');
  await check('the review once sent');
  await page.goto(`${baseUrl}/enquetes/page/1`);
  assert.ok(await page.locator('input[name="bav_actif"][value="oui"]').isDisabled(), 'the pages are read-only');
  assert.ok(await page.locator('input[name="bav_actif"][value="oui"]').isChecked(), 'and show the answers sent');
  await check('a page once sent');
}

/** Console errors a page with a 202 or 422 answer logs for its own document. */
const portalStatus = (p) => p.kind === 'console.error' && /status of (202|422)\b/.test(p.text);

test('a respondent answers the demo questionnaire in the portal, with JavaScript', { timeout: 300_000 }, async () => {
  const [[unitName, code]] = await demoAccessCodes();
  const handle = await openPage();
  try {
    await answerTheDemoQuestionnaire(handle.page, unitName, code, 'with JavaScript');
    assertNoPageProblems(handle.problems, portalStatus);
  } catch (err) {
    anyFailure = true;
    throw err;
  } finally {
    await handle.context.close().catch(() => {});
  }
});

test('a respondent answers the demo questionnaire in the portal, without JavaScript', { timeout: 300_000 }, async () => {
  const [, [unitName, code]] = await demoAccessCodes();
  const context = await browser.newContext({ locale: 'fr-FR', javaScriptEnabled: false });
  const page = await context.newPage();
  page.setDefaultTimeout(ACTION_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const scratch = await openPage();
  try {
    await answerTheDemoQuestionnaire(page, unitName, code, 'without JavaScript', scratch.page);
  } catch (err) {
    anyFailure = true;
    throw err;
  } finally {
    await context.close().catch(() => {});
    await scratch.context.close().catch(() => {});
  }
});
