// Shared pieces of the browser end-to-end tests: a static server for the built
// dist/ under a sub-path, headless Chromium through playwright-core, and a
// watcher that records everything a page complains about.
//
// playwright-core comes from .tools/ (installed by `cargo xtask install`), and
// the browser is Debian's /usr/bin/chromium: nothing here downloads anything.

import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = path.join(ROOT, 'dist');
/** Per-test screenshots (git-ignored). */
export const OUTPUT = path.join(ROOT, 'tests', 'output');
/** The screenshot the README shows (committed). */
export const README_SCREENSHOT = path.join(ROOT, 'docs', 'screenshot.png');
/**
 * The app is served below a sub-path, as on a course website, to prove that
 * dist/ uses relative URLs only (Trunk.toml: public_url = "./").
 */
export const SUB_PATH = '/course/clusterscope/';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  // wasm-bindgen streams the module, which needs the right MIME type.
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

function loadPlaywright() {
  const location = path.join(ROOT, '.tools', 'node_modules', 'playwright-core');
  try {
    return createRequire(import.meta.url)(location);
  } catch (error) {
    throw new Error(`playwright-core is not in .tools/; run \`cargo xtask install\` (${error.message})`);
  }
}

/**
 * Serves `dist` at http://127.0.0.1:<free port><SUB_PATH>. Everything outside
 * the sub-path is a 404, so an absolute asset URL fails the tests.
 */
export async function serveDist(dist = DIST, prefix = SUB_PATH) {
  if (!existsSync(path.join(dist, 'index.html'))) {
    throw new Error(`${dist}/index.html is missing; build it with \`cargo xtask dist\``);
  }
  const requests = [];
  const server = createServer((req, res) => {
    const reply = (status, headers = {}, body = '') => {
      res.writeHead(status, headers);
      res.end(body);
    };
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    } catch {
      return reply(400, {}, 'bad request');
    }
    requests.push(pathname);
    if (pathname === prefix.slice(0, -1)) {
      return reply(301, { Location: prefix });
    }
    if (!pathname.startsWith(prefix) || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return reply(404, {}, 'not found');
    }
    const file = path.resolve(dist, pathname.slice(prefix.length) || 'index.html');
    if (!file.startsWith(dist + path.sep)) {
      return reply(404, {}, 'not found');
    }
    let stats;
    try {
      stats = statSync(file);
    } catch {
      return reply(404, {}, 'not found');
    }
    if (!stats.isFile()) {
      return reply(404, {}, 'not found');
    }
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': stats.size,
      'Cache-Control': 'no-store',
    });
    if (req.method === 'HEAD') {
      return res.end();
    }
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * For a test file: serves dist/ and launches the browser before its tests,
 * and closes both after them. The returned object's `server` and `browser`
 * are set once the file's tests start.
 */
export function useDistAndBrowser() {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await serveDist();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}

/** Headless Debian Chromium with a fresh profile, as `docs/toolchain.md` describes. */
export async function launchBrowser() {
  const { chromium } = loadPlaywright();
  const profile = mkdtempSync(path.join(tmpdir(), 'clusterscope-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Records every console error or warning, uncaught exception, failed request
 * and HTTP error of a page, as readable lines.
 */
export function watchProblems(page) {
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      problems.push(`console.${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`uncaught exception: ${error.message}`));
  page.on('requestfailed', (request) =>
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on('response', (response) => {
    if (response.status() >= 400) {
      problems.push(`HTTP ${response.status()}: ${response.url()}`);
    }
  });
  return problems;
}

/**
 * Opens the app in a new page and waits until the Yew app has rendered and
 * Trunk has published the wasm-bindgen exports on window.wasmBindings. The
 * page is screenshotted into tests/output/ and closed when the test ends,
 * pass or fail.
 */
export async function openApp(t, context, url, { colorScheme = 'light' } = {}) {
  const page = await context.newPage();
  // A guard against hangs, not a timing assertion.
  page.setDefaultTimeout(20_000);
  const problems = watchProblems(page);
  await page.emulateMedia({ colorScheme });
  t.after(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const name = t.name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
    await page.screenshot({ path: path.join(OUTPUT, `${name}.png`) }).catch(() => {});
    await page.close();
  });
  await page.goto(url);
  await page.locator('h1', { hasText: 'Clusterscope' }).waitFor();
  await page.waitForFunction(() => typeof window.wasmBindings?.debug_panic === 'function');
  return { page, problems };
}
