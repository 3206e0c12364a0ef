#!/usr/bin/env node
// Loads HTML pages in Debian's headless Chromium (/usr/bin/chromium) through playwright-core and
// reports, as ONE JSON document on stdout, what a reader's browser made of each: title, language,
// text, links, whether the same-origin stylesheet applies, console errors, requests to any other
// origin, axe-core's accessibility violations, and two full-page screenshots (phone and desktop).
// Optionally follows a chain of links by their words (--click-through) and submits the page's
// search form (--search). Diagnostics go to stderr only. The caller makes the assertions.
//
//   node tests/browser/check.mjs --out <screenshot-dir> [--click-through <text>]
//        [--search <words>] <url> [<url> ...]
//
// Exit codes: 0 the tool ran (whatever it found); 1 a page could not be loaded at all, or a
// click-through/search step did not lead anywhere in time; 2 bad arguments or Chromium did not
// start; 3 the overall time guard ran out.
//
// Nothing leaves the machine: every host other than the ones of the URLs asked (and loopback)
// goes to a local sink proxy that refuses it and records the attempt (top-level
// "blockedConnections"), and names other than those hosts resolve to nothing. Chromium's own
// calls home (component updater, accounts check) are pointed at the sink too and listed apart
// ("browserBackgroundRequests").
//
// axe-core is added to each document of the desktop load as a DevTools init script, which the
// page's Content-Security-Policy does not govern, so axe judges the page exactly as served; only
// should that fail is the page loaded once more with bypassCSP and axe injected by a script tag
// ("axe.ran" says which).

import { createServer } from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const CHROMIUM = process.env.GEMHOLE_CHROMIUM || '/usr/bin/chromium';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const MAX_CLICKS = 50;

const USAGE =
  'usage: node check.mjs --out <screenshot-dir> [--click-through <text>] [--search <words>]\n' +
  '                      [--nav-timeout <ms>] [--total-timeout <ms>] <url> [<url> ...]';

function log(...parts) {
  process.stderr.write(`check.mjs: ${parts.join(' ')}\n`);
}

class Fatal extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

function parseArgs(argv) {
  const opts = { out: null, clickThrough: null, search: null, navTimeout: 15000, totalTimeout: 120000, urls: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Fatal(`${a} needs a value\n${USAGE}`, 2);
      return argv[++i];
    };
    if (a === '--out') opts.out = value();
    else if (a === '--click-through') opts.clickThrough = value();
    else if (a === '--search') opts.search = value();
    else if (a === '--nav-timeout') opts.navTimeout = Number(value());
    else if (a === '--total-timeout') opts.totalTimeout = Number(value());
    else if (a === '-h' || a === '--help') {
      process.stderr.write(USAGE + '\n');
      process.exit(0);
    } else if (a.startsWith('--')) throw new Fatal(`unknown option ${a}\n${USAGE}`, 2);
    else opts.urls.push(a);
  }
  if (!opts.out) throw new Fatal(`--out <screenshot-dir> is required\n${USAGE}`, 2);
  if (opts.urls.length === 0) throw new Fatal(`at least one URL is required\n${USAGE}`, 2);
  for (const u of opts.urls) {
    let parsed;
    try {
      parsed = new URL(u);
    } catch {
      throw new Fatal(`not a URL: ${u}`, 2);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Fatal(`not an http(s) URL: ${u}`, 2);
  }
  for (const [name, v] of [['--nav-timeout', opts.navTimeout], ['--total-timeout', opts.totalTimeout]]) {
    if (!Number.isFinite(v) || v <= 0) throw new Fatal(`${name} must be a positive number of milliseconds`, 2);
  }
  return opts;
}

// A local "proxy" that answers every request with 403 and notes what was asked: the only place
// Chromium may send traffic for hosts other than the ones under test. Chromium's own Google
// services that would call out on their own (the component updater, the accounts check) are
// pointed straight at it too; those requests come as plain paths and are noted apart.
function startSinkProxy(blocked, background) {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on('error', () => {});
      let head = '';
      socket.on('data', (chunk) => {
        if (head === null) return;
        head += chunk.toString('latin1');
        const eol = head.indexOf('\r\n');
        if (eol < 0 && head.length < 8192) return;
        const [method = '', target = ''] = head.slice(0, eol < 0 ? 200 : eol).split(' ');
        head = null;
        if (target.startsWith('/')) background.push(`${method} ${target.split('?')[0]}`);
        else blocked.push(`${method} ${method === 'CONNECT' ? `https://${target}/` : target}`);
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      });
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function chromiumArgs(urls, proxyPort) {
  const hosts = [...new Set(urls.map((u) => new URL(u).hostname))];
  const dnsRules = ['MAP * ~NOTFOUND', 'EXCLUDE localhost', ...hosts.map((h) => `EXCLUDE ${h.replace(/^\[|\]$/g, '')}`)];
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--no-pings',
    // Chromium still asks update.googleapis.com for a component manifest and accounts.google.com
    // for /ListAccounts despite the switches above: send both to the sink, not out.
    `--component-updater=url-source=http://127.0.0.1:${proxyPort}/component-updater`,
    `--gaia-url=http://127.0.0.1:${proxyPort}/`,
    `--proxy-server=http://127.0.0.1:${proxyPort}`,
    `--proxy-bypass-list=${hosts.join(';')}`,
    `--host-resolver-rules=${dnsRules.join(', ')}`,
  ];
}

function screenshotBase(url, taken) {
  const u = new URL(url);
  let slug = (u.pathname.replace(/^\/+|\/+$/g, '') || 'index') + (u.search ? `_${u.search.slice(1)}` : '');
  slug = slug.replace(/\//g, '_').replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 120) || 'index';
  let name = slug;
  for (let n = 2; taken.has(name); n++) name = `${slug}-${n}`;
  taken.add(name);
  return name;
}

function isNetworkUrl(u) {
  return u.startsWith('http:') || u.startsWith('https:') || u.startsWith('ws:') || u.startsWith('wss:');
}

function originOf(u) {
  try {
    return new URL(u).origin;
  } catch {
    return null;
  }
}

// Everything a page did that a reader's browser would complain about, and every request it made.
// A "Failed to load resource" console error for a URL the page never requested is Chromium's own
// doing: the /favicon.ico it asks for when a page names no icon (once per origin per launch, so
// on the first page of each origin only; no request event shows it). Those go to browserErrors.
// The page's own document failing (a 404 page) is its "status", not an error here.
function watch(page) {
  const w = { errors: [], warnings: [], requests: [], failedLoads: [], documents: new Set() };
  page.on('console', (msg) => {
    const loc = msg.location();
    const where = loc && loc.url ? ` (${loc.url}${loc.lineNumber ? `:${loc.lineNumber}` : ''})` : '';
    const line = `console.${msg.type()}: ${msg.text()}${where}`;
    if (msg.type() === 'error') {
      if (msg.text().startsWith('Failed to load resource') && loc && loc.url) w.failedLoads.push({ url: loc.url, line });
      else w.errors.push(line);
    } else if (msg.type() === 'warning') w.warnings.push(line);
  });
  page.on('pageerror', (err) => w.errors.push(`pageerror: ${err.message}`));
  page.on('request', (req) => {
    w.requests.push(req.url());
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) w.documents.add(req.url());
  });
  page.on('requestfailed', (req) => {
    const f = req.failure();
    w.errors.push(`requestfailed: ${req.method()} ${req.url()} ${f ? f.errorText : ''}`.trim());
  });
  page.on('response', (res) => {
    const req = res.request();
    if (res.status() >= 400 && !(req.isNavigationRequest() && req.frame() === page.mainFrame())) {
      w.errors.push(`http ${res.status()}: ${req.method()} ${res.url()}`);
    }
  });
  w.finish = () => {
    const asked = new Set(w.requests);
    const errors = [...w.errors];
    const browserErrors = [];
    for (const f of w.failedLoads) {
      if (w.documents.has(f.url)) continue; // the page itself: its status says it
      (asked.has(f.url) ? errors : browserErrors).push(f.line);
    }
    return { errors, warnings: w.warnings, browserErrors };
  };
  return w;
}

function outside(requests, pageUrl) {
  const mine = originOf(pageUrl);
  const seen = new Set();
  for (const r of requests) {
    if (isNetworkUrl(r) && originOf(r) !== mine) seen.add(r);
  }
  return [...seen];
}

async function goto(page, url, timeout) {
  try {
    return await page.goto(url, { waitUntil: 'load', timeout });
  } catch (e) {
    throw new Fatal(`cannot load ${url}: ${e.message.split('\n')[0]}`);
  }
}

function collect(page) {
  return page.evaluate(() => {
    const links = [...document.querySelectorAll('a[href], area[href]')].map((a) => ({
      text: (a.innerText ?? a.textContent ?? '').trim(),
      href: a.href,
    }));
    const sheets = [];
    for (const s of document.styleSheets) {
      if (!s.href || new URL(s.href).origin !== location.origin) continue;
      let rules = 0;
      let matches = false;
      try {
        for (const r of s.cssRules) {
          rules++;
          if (!matches && r.selectorText) {
            try {
              matches = document.querySelector(r.selectorText) !== null;
            } catch {}
          }
        }
      } catch {}
      sheets.push({ href: s.href, rules, matches, disabled: s.disabled });
    }
    const maxWidth = document.body ? getComputedStyle(document.body).maxWidth : 'none';
    return {
      title: document.title,
      lang: document.documentElement.lang,
      text: document.body ? document.body.innerText : '',
      links,
      stylesheets: sheets,
      bodyMaxWidth: maxWidth,
      stylesheetApplied: sheets.some((s) => !s.disabled && s.rules > 0 && s.matches),
      cspViolations: (window.__checkCsp || []).slice(),
    };
  });
}

// Content-Security-Policy violations as the page reports them to itself.
const CSP_LISTENER = () => {
  window.__checkCsp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__checkCsp.push({ directive: e.effectiveDirective, blocked: e.blockedURI, line: e.lineNumber });
  });
};

async function newContext(browser, opts, extra = {}, withAxe = false) {
  const context = await browser.newContext({
    viewport: DESKTOP,
    deviceScaleFactor: 1,
    serviceWorkers: 'block',
    acceptDownloads: false,
    ...extra,
  });
  context.setDefaultNavigationTimeout(opts.navTimeout);
  context.setDefaultTimeout(opts.navTimeout);
  await context.addInitScript(CSP_LISTENER);
  // Scripts added through DevTools are not the page's and its CSP does not stop them.
  if (withAxe) await context.addInitScript({ content: AXE_SOURCE });
  return context;
}

function runAxe(page) {
  return page.evaluate(async () => {
    if (!window.axe) return null;
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.length,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
}

// As a reader gets it (CSP enforced, 1280x800): everything, axe included, and the desktop screenshot.
async function loadDesktop(browser, opts, url, shot) {
  const context = await newContext(browser, opts, {}, true);
  try {
    const page = await context.newPage();
    const w = watch(page);
    const res = await goto(page, url, opts.navTimeout);
    const info = await collect(page);
    await page.screenshot({ path: shot, fullPage: true });
    let violations = null;
    try {
      violations = await runAxe(page);
    } catch (e) {
      log(`axe did not run on ${url} as served (${e.message.split('\n')[0]}); trying with the CSP bypassed`);
    }
    const redirects = [];
    for (let r = res && res.request().redirectedFrom(); r; r = r.redirectedFrom()) {
      const rr = await r.response();
      redirects.unshift({ url: r.url(), status: rr ? rr.status() : null });
    }
    return { res, finalUrl: page.url(), info, redirects, watch: w, violations };
  } finally {
    await context.close();
  }
}

// On a phone (CSP enforced, meta viewport honoured, 390x844): the phone screenshot, and its errors.
async function loadPhone(browser, opts, url, shot) {
  const context = await newContext(browser, opts, { viewport: PHONE, isMobile: true, hasTouch: true });
  try {
    const page = await context.newPage();
    const w = watch(page);
    await goto(page, url, opts.navTimeout);
    await page.screenshot({ path: shot, fullPage: true });
    return { watch: w };
  } finally {
    await context.close();
  }
}

// The fallback should axe not run in the page as served: inject it with the page's CSP bypassed.
async function axeBypassingCsp(browser, opts, url) {
  const context = await newContext(browser, opts, { bypassCSP: true });
  try {
    const page = await context.newPage();
    await goto(page, url, opts.navTimeout);
    await page.addScriptTag({ content: AXE_SOURCE });
    const violations = await runAxe(page);
    if (!violations) throw new Fatal(`axe-core did not load into ${url}`);
    return violations;
  } finally {
    await context.close();
  }
}

async function checkPage(browser, opts, url, taken) {
  const started = Date.now();
  const base = screenshotBase(url, taken);
  const phoneShot = path.resolve(opts.out, `${base}.phone.png`);
  const desktopShot = path.resolve(opts.out, `${base}.desktop.png`);

  const [desk, phone] = await Promise.all([
    loadDesktop(browser, opts, url, desktopShot),
    loadPhone(browser, opts, url, phoneShot),
  ]);
  let violations = desk.violations;
  let axeRan = 'as served';
  if (!violations) {
    violations = await axeBypassingCsp(browser, opts, url);
    axeRan = 'bypassCSP';
  }

  const d = desk.watch.finish();
  const p = phone.watch.finish();
  const { info } = desk;
  return {
    url,
    finalUrl: desk.finalUrl,
    status: desk.res ? desk.res.status() : null,
    redirects: desk.redirects,
    title: info.title,
    lang: info.lang,
    text: info.text,
    links: info.links,
    stylesheetApplied: info.stylesheetApplied,
    stylesheets: info.stylesheets,
    bodyMaxWidth: info.bodyMaxWidth,
    cspViolations: info.cspViolations,
    consoleErrors: [...new Set([...d.errors, ...p.errors])],
    consoleWarnings: [...new Set([...d.warnings, ...p.warnings])],
    browserErrors: [...new Set([...d.browserErrors, ...p.browserErrors])],
    outsideRequests: [...new Set([
      ...outside(desk.watch.requests, desk.finalUrl),
      ...outside(phone.watch.requests, desk.finalUrl),
    ])],
    axe: { ran: axeRan, violations },
    screenshots: [phoneShot, desktopShot],
    elapsedMs: Date.now() - started,
  };
}

async function clickThrough(browser, opts, url, text) {
  const context = await newContext(browser, opts);
  try {
    const page = await context.newPage();
    const w = watch(page);
    const res = await goto(page, url, opts.navTimeout);
    const visited = [];
    let status = res ? res.status() : null;
    let truncated = false;
    for (let step = 0; ; step++) {
      const info = await page.evaluate(() => ({ title: document.title, text: document.body ? document.body.innerText : '' }));
      visited.push({ url: page.url(), status, title: info.title, text: info.text.slice(0, 500) });
      // The first link whose visible (rendered) text contains the words, case-sensitive.
      const index = await page.evaluate((want) => {
        const all = [...document.querySelectorAll('a[href]')];
        return all.findIndex((a) => a.getClientRects().length > 0 && a.innerText.includes(want));
      }, text);
      if (index < 0) break;
      if (step >= MAX_CLICKS) {
        truncated = true;
        break;
      }
      const link = page.locator('a[href]').nth(index);
      const href = await link.evaluate((a) => a.href);
      try {
        const [navRes] = await Promise.all([
          page.waitForNavigation({ waitUntil: 'load', timeout: opts.navTimeout }),
          link.click({ timeout: opts.navTimeout }),
        ]);
        status = navRes ? navRes.status() : null;
      } catch (e) {
        throw new Fatal(`click-through: clicking "${text}" (${href}) on ${page.url()} led nowhere: ${e.message.split('\n')[0]}`);
      }
    }
    return {
      steps: visited,
      truncated,
      consoleErrors: [...new Set(w.finish().errors)],
      outsideRequests: outside(w.requests, url),
    };
  } finally {
    await context.close();
  }
}

async function search(browser, opts, url, words) {
  const context = await newContext(browser, opts);
  try {
    const page = await context.newPage();
    const w = watch(page);
    await goto(page, url, opts.navTimeout);
    const form = page.locator('form:has(input[type="search"]), form:has(input[name="q"])').first();
    if ((await form.count()) === 0) return { error: `no search form on ${page.url()}` };
    const field = form.locator('input[type="search"], input[name="q"]').first();
    await field.fill(words);
    const submit = form.locator('button:not([type]), button[type="submit"], input[type="submit"], input[type="image"]').first();
    const how = (await submit.count()) > 0 ? 'click' : 'enter';
    let res;
    try {
      [res] = await Promise.all([
        page.waitForNavigation({ waitUntil: 'load', timeout: opts.navTimeout }),
        how === 'click' ? submit.click() : field.press('Enter'),
      ]);
    } catch (e) {
      throw new Fatal(`search: submitting "${words}" on ${url} led nowhere: ${e.message.split('\n')[0]}`);
    }
    const info = await collect(page);
    return {
      url: page.url(),
      status: res ? res.status() : null,
      submittedBy: how,
      title: info.title,
      text: info.text,
      links: info.links,
      cspViolations: info.cspViolations,
      consoleErrors: [...new Set(w.finish().errors)],
      outsideRequests: outside(w.requests, page.url()),
    };
  } finally {
    await context.close();
  }
}

let browser = null;
let proxy = null;
let stopping = false; // the time guard or a signal is closing down and exits with its own code

async function shutdown() {
  const b = browser;
  browser = null;
  if (b) {
    await Promise.race([b.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
  }
  if (proxy) proxy.close();
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const stop = async (why, code) => {
    if (stopping) return;
    stopping = true;
    log(why);
    await shutdown();
    process.exit(code);
  };
  const guard = setTimeout(() => stop(`gave up: the whole run took more than ${opts.totalTimeout} ms`, 3), opts.totalTimeout);
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.on(sig, () => stop(`stopped by ${sig}`, 128 + n));
  }

  mkdirSync(opts.out, { recursive: true });
  const blocked = [];
  const background = [];
  proxy = await startSinkProxy(blocked, background);
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: chromiumArgs(opts.urls, proxy.address().port),
      timeout: 30000,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (e) {
    throw new Fatal(`cannot start Chromium at ${CHROMIUM}: ${e.message.split('\n')[0]}`, 2);
  }
  log(`Chromium ${browser.version()} started`);

  const out = { pages: [] };
  try {
    const taken = new Set();
    for (const url of opts.urls) {
      const page = await checkPage(browser, opts, url, taken);
      log(`${url}: ${page.status}, ${page.elapsedMs} ms`);
      out.pages.push(page);
    }
    if (opts.clickThrough !== null) {
      const ct = await clickThrough(browser, opts, opts.urls[0], opts.clickThrough);
      out.clickThrough = ct.steps;
      out.clickThroughTruncated = ct.truncated;
      out.clickThroughConsoleErrors = ct.consoleErrors;
      out.clickThroughOutsideRequests = ct.outsideRequests;
    }
    if (opts.search !== null) {
      out.search = await search(browser, opts, opts.urls[0], opts.search);
    }
  } finally {
    await shutdown();
    clearTimeout(guard);
  }
  out.blockedConnections = blocked;
  out.browserBackgroundRequests = background;
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch(async (e) => {
  if (stopping) return;
  log(e instanceof Fatal ? e.message : `failed: ${e.stack || e}`);
  await shutdown();
  process.exit(e instanceof Fatal ? e.code : 1);
});
