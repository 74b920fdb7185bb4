// The app shell, in a real browser, from the release build in dist/.
//
// Run with `cargo xtask test` (which builds dist/ first), or by hand after
// `cargo xtask dist`: node --test tests/e2e/

import assert from 'node:assert/strict';

import { test } from 'node:test';

import { SUB_PATH, openApp, useDistAndBrowser } from './harness.mjs';

const env = useDistAndBrowser();

test('loads under a sub-path with no console errors, warnings or failed requests', async (t) => {
  const { page, problems } = await openApp(t, env.browser.context, env.server.url);
  await page.waitForLoadState('networkidle');

  assert.equal(await page.title(), 'Clusterscope');
  assert.deepEqual(problems, []);
  // Every asset came from below the sub-path: nothing assumes it is at "/".
  const outside = env.server.requests.filter((p) => !p.startsWith(SUB_PATH));
  assert.deepEqual(outside, []);
  assert.ok(
    env.server.requests.some((p) => p.endsWith('.wasm')),
    `the wasm module was not fetched; requests: ${env.server.requests.join(', ')}`,
  );

  
});

test('shows the shell: header, cluster stage and run controls', async (t) => {
  const { page, problems } = await openApp(t, env.browser.context, env.server.url);

  const heading = page.getByRole('heading', { level: 1 });
  assert.equal((await heading.innerText()).trim(), 'Clusterscope');
  assert.ok(await page.getByRole('region', { name: 'Cluster stage' }).isVisible());
  const controls = page.getByRole('navigation', { name: 'Run controls' });
  assert.ok(await controls.isVisible());
  // Every control has an accessible name (ARCHITECTURE.md: the app is keyboard- and
  // screen-reader-usable). An unnamed button has an empty accessible name.
  const buttons = controls.getByRole('button');
  assert.ok((await buttons.count()) > 0, 'the controls bar has buttons');
  for (const button of await buttons.all()) {
    const name = await button.evaluate(
      (el) => el.getAttribute('aria-label') || el.getAttribute('title') || el.textContent.trim(),
    );
    assert.ok(name, `a control without an accessible name: ${await button.evaluate((el) => el.outerHTML)}`);
  }
  assert.deepEqual(problems, []);
});

test('? opens the keyboard-shortcut dialog and Escape closes it', async (t) => {
  const { page, problems } = await openApp(t, env.browser.context, env.server.url);
  const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  assert.equal(await dialog.count(), 0, 'the dialog starts closed');

  await page.keyboard.press('?');
  await dialog.waitFor({ state: 'visible' });
  const listed = await dialog.locator('kbd').allInnerTexts();
  assert.ok(listed.includes('?') && listed.includes('Esc'), `shortcuts listed: ${listed}`);

  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.deepEqual(problems, []);
});

test('the help button opens the same dialog and Close closes it', async (t) => {
  const { page, problems } = await openApp(t, env.browser.context, env.server.url);
  const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });

  await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
  await dialog.waitFor({ state: 'visible' });
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.deepEqual(problems, []);
});

test('follows the OS colour scheme: dark and light render differently', async (t) => {
  const backgrounds = {};
  for (const colorScheme of ['light', 'dark']) {
    await t.test(colorScheme, async (tt) => {
      const { page, problems } = await openApp(tt, env.browser.context, env.server.url, { colorScheme });
      backgrounds[colorScheme] = await page.evaluate(
        () => getComputedStyle(document.body).backgroundColor,
      );
      assert.deepEqual(problems, []);
    });
  }
  assert.notEqual(backgrounds.dark, backgrounds.light);
  assert.ok(
    brightness(backgrounds.dark) < brightness(backgrounds.light),
    `dark background ${backgrounds.dark} should be darker than light ${backgrounds.light}`,
  );
});

test('a panic shows a readable error banner instead of a dead page', async (t) => {
  const { page, problems } = await openApp(t, env.browser.context, env.server.url);
  const banner = page.getByRole('alert');
  assert.equal(await banner.isVisible(), false, 'no banner before the panic');

  // The release build aborts on panic, so the call itself ends in a wasm trap
  // after the hook has run; the trap surfaces here, not as an uncaught error.
  const outcome = await page
    .evaluate(() => window.wasmBindings.debug_panic('test'))
    .then(() => 'returned', (error) => error.message);
  assert.match(outcome, /unreachable/, 'debug_panic must not return');

  await banner.waitFor({ state: 'visible' });
  const text = await banner.innerText();
  assert.match(text, /Clusterscope hit an internal error/);
  assert.match(text, /debug_panic was called: test/);
  // The panic's own report is the one console error this page may have.
  assert.equal(problems.length, 1, `expected only the panic report, got:\n${problems.join('\n')}`);
  assert.match(problems[0], /^console\.error: Clusterscope panicked: .*debug_panic was called: test/s);
});

/** The sum of the channels of a CSS `rgb()`/`rgba()` colour. */
function brightness(color) {
  const channels = color.match(/\d+(\.\d+)?/g);
  assert.ok(channels && channels.length >= 3, `not an rgb colour: ${color}`);
  return channels.slice(0, 3).reduce((sum, c) => sum + Number(c), 0);
}
