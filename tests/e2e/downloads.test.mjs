// One download per protocol family (`cargo xtask dist`): a page fetches the
// wasm of the protocol its link names and no other, and choosing another
// protocol reloads the page into that one's download without losing what
// was asked for. Run with `cargo xtask test`, or `node --test tests/e2e/`
// after `cargo xtask dist`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openApp, useDistAndBrowser } from './harness.mjs';

const env = useDistAndBrowser();

/** Opens `fragment` and returns the page and the wasm files it fetched. */
async function open(t, fragment) {
  const wasm = [];
  const url = `${env.server.url}${fragment ? `#${fragment}` : ''}`;
  const listen = (page) => page.on('request', (r) => r.url().endsWith('.wasm') && wasm.push(r.url().split('/').pop()));
  env.browser.context.once('page', listen);
  const opened = await openApp(t, env.browser.context, url);
  await opened.page.locator('g.node').first().waitFor();
  return { ...opened, wasm };
}

const summary = (page) => page.locator('.run-summary').innerText();

test('each protocol family is its own download, and a page fetches only its own', async (t) => {
  const cases = [
    ['', /^Raft · 5 servers · seed 1$/],
    ['v=1&p=raft&n=3&seed=4', /^Raft · 3 servers · seed 4$/],
    ['v=1&p=paxos&n=3&seed=2', /^Paxos · 3 servers · seed 2$/],
    ['v=1&p=multipaxos&n=3&seed=2', /^Multi-Paxos · 3 servers · seed 2$/],
    ['v=1&p=pubsub&n=3&seed=2', /^Pub\/sub queue · 3 brokers · seed 2$/],
  ];
  const fetched = {};
  for (const [fragment, expected] of cases) {
    const { page, wasm, problems } = await open(t, fragment);
    assert.match(await summary(page), expected, fragment);
    assert.equal(wasm.length, 1, `${fragment}: ${wasm}`);
    fetched[fragment] = wasm[0];
    assert.deepEqual(problems, [], fragment);
  }
  assert.equal(fetched[''], fetched['v=1&p=raft&n=3&seed=4'], 'the default is the Raft download');
  assert.equal(fetched['v=1&p=paxos&n=3&seed=2'], fetched['v=1&p=multipaxos&n=3&seed=2'], 'Paxos and Multi-Paxos share one');
  assert.equal(new Set(Object.values(fetched)).size, 3, JSON.stringify(fetched));
});

test('a protocol no download has gets the Raft download and its error, not a blank page', async (t) => {
  for (const p of ['__proto__', 'constructor', 'kafka']) {
    const { page, wasm } = await open(t, `v=1&p=${p}&n=3&seed=1`);
    assert.equal(wasm.length, 1, p);
    const alert = await page.locator('.notice[role=alert] .notice-text').innerText();
    assert.match(alert, /Showing the default run instead\.$/, p);
    assert.match(await summary(page), /^Raft · 5 servers · seed 1$/, p);
  }
});

test('a scenario of another protocol, loaded from Settings, reloads into its download and says so', async (t) => {
  const { page, wasm, problems } = await open(t, 'v=1&p=raft&n=5&seed=1');
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('#setting-protocol').selectOption('pubsub');
  await page.locator('[data-toggle="min-insync-one"]').getByRole('button', { name: 'Load its scenario' }).click();
  await page.getByRole('status').filter({ hasText: 'Scenario for the toggle min-insync-one' }).waitFor();
  assert.match(await summary(page), /^Pub\/sub queue · 3 brokers · seed 8$/);
  assert.equal(wasm.length, 2, 'the Raft download, then the queue\'s');
  assert.notEqual(wasm[0], wasm[1]);
  // The scenario plays to its final check: Q1 red, the partition offline.
  await page.keyboard.press('n');
  for (let i = 0; i < 30 && (await page.locator('.notice[role=alert]').count()) === 0; i++) {
    await page.keyboard.press('n');
  }
  const alert = await page.locator('.notice[role=alert] .notice-text').first().innerText();
  assert.match(alert, /^Q1 broke at [\d.]+ ms: 1 acknowledged messages of p0 cannot be read at the end of the run \(n5#1 at 0\): p0 is offline$/);
  assert.deepEqual(problems, []);
});
