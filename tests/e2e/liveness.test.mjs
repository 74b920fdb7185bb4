// The liveness check and the undecided state in the Checkers panel, used
// as a person would: a correct Paxos run holds it; the no-backoff scenario,
// played fast, fails it in amber and pauses there, while every safety rule
// still holds; one step back it is pending again. A linearizability check
// given too few search steps in Settings shows as undecided. Run with `cargo xtask test`, or
// `node --test tests/e2e/` after `trunk build --release`.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { OUTPUT, openApp, useDistAndBrowser } from './harness.mjs';

const SERVERS = 'g.node.kind-server';

const env = useDistAndBrowser();

/** A full load of the app at `fragment` (screenshotted when the test ends). */
async function open(t, fragment) {
  const opened = await openApp(t, env.browser.context, `${env.server.url}#${fragment}`);
  await opened.page.locator(SERVERS).first().waitFor();
  return opened;
}

/** What the Checkers panel says: each safety rule's status, and the
 * liveness check's state word and sentence. */
async function panel(page) {
  await page.getByRole('tab', { name: /Checkers/ }).click();
  const safety = await page
    .getByRole('list', { name: 'Safety properties' })
    .locator('li.rule')
    .evaluateAll((ls) => Object.fromEntries(ls.map((l) => [l.dataset.rule, l.querySelector('.rule-status').textContent])));
  const live = page.getByRole('list', { name: 'Liveness' }).locator('li');
  return {
    safety,
    liveness: {
      rule: await live.getAttribute('data-rule'),
      state: await live.getAttribute('data-liveness'),
      word: await live.locator('.rule-status').innerText(),
      text: await live.locator('.liveness-state, .liveness-failure:not(.later)').first().innerText(),
    },
  };
}

async function notices(page) {
  return page.locator('.notice').evaluateAll((ns) =>
    ns.map((n) => ({ role: n.getAttribute('role'), cls: n.className, text: n.querySelector('.notice-text').textContent })),
  );
}

test('dueling proposers without backoff fail the liveness check, and no safety rule', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=paxos&n=3&seed=1');
  // A correct run: once every server has learned the value, the check holds.
  for (let i = 0; i < 30; i++) {
    if ((await panel(page)).liveness.state === 'held') {
      break;
    }
    await page.keyboard.press('n');
  }
  let seen = await panel(page);
  assert.equal(seen.liveness.rule, 'L1');
  assert.equal(seen.liveness.state, 'held', JSON.stringify(seen.liveness));
  assert.match(seen.liveness.text, /^Held at [\d.]+ ms, [\d.]+ ms after healing at 0\.000 ms\.$/);

  // The scenario from Settings: two proposers, no backoff.
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('[data-toggle="no-backoff"]').getByRole('button', { name: 'Load its scenario' }).click();
  await page.getByRole('status').filter({ hasText: 'Scenario for the toggle no-backoff' }).waitFor();
  seen = await panel(page);
  assert.notEqual(seen.liveness.state, 'failed', JSON.stringify(seen.liveness));

  // Played fast, the duel goes on until the bound passes: the run pauses
  // there with an amber notice that names the liveness check.
  await page.getByRole('slider', { name: 'Playback speed' }).fill('1000');
  await page.getByRole('button', { name: 'Play' }).click();
  await page.locator('.notice-liveness').waitFor({ timeout: 60_000 });
  const [alert] = (await notices(page)).filter((n) => n.role === 'alert');
  assert.match(alert.cls, /notice-liveness/);
  assert.equal(
    alert.text,
    'Liveness check L1 failed at 6008.400 ms (no safety rule broke): the healed majority {n1 n2 n3} had not converged 6000 ms after healing: L1: n1 has not learned a chosen value',
  );
  assert.equal(await page.getByRole('button', { name: 'Play' }).count(), 1, 'the run paused');
  assert.equal(await page.locator('.notice-violation').count(), 0, 'no violation notice');

  seen = await panel(page);
  assert.equal(seen.liveness.state, 'failed');
  assert.equal(seen.liveness.word, 'FAILED');
  assert.equal(
    seen.liveness.text,
    'Failed at 6008.400 ms: the healed majority {n1 n2 n3} had not converged 6000 ms after healing: L1: n1 has not learned a chosen value.',
  );
  assert.ok(Object.keys(seen.safety).length >= 7, JSON.stringify(seen.safety));
  assert.deepEqual(
    Object.entries(seen.safety).filter(([, s]) => s !== 'holds'),
    [],
    'every safety rule holds',
  );
  assert.equal(await page.locator('li.rule.broken').count(), 0, 'nothing is red');
  assert.equal(await page.locator('.tab-alert').count(), 0, 'the Checkers tab counts no violation');
  // The timeline marks the failure, apart from violations.
  assert.equal(await page.locator('rect.tl-liveness').count(), 1);
  assert.equal(await page.locator('rect.tl-violation').count(), 0);
  assert.ok((await page.locator(SERVERS).evaluateAll((gs) => gs.map((g) => g.dataset.role))).every((r) => r !== 'decided'));
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT, 'liveness-failed.png') });

  // One event back, before the poll that found the bound passed: pending,
  // with the failure still ahead on the timeline.
  await page.keyboard.press('ArrowLeft');
  seen = await panel(page);
  assert.equal(seen.liveness.state, 'pending', JSON.stringify(seen.liveness));
  assert.match(seen.liveness.text, /^Healed at 0\.000 ms; must converge within 6000\.000 ms \(by 6000\.000 ms\)\. Not yet: L1: n1 has not learned a chosen value\.$/);
  assert.match(
    await page.getByRole('list', { name: 'Liveness' }).locator('.liveness-failure.later').innerText(),
    /^Fails later, at 6008\.400 ms$/,
  );
  // Forward again: failed, as before.
  await page.keyboard.press('ArrowRight');
  assert.equal((await panel(page)).liveness.state, 'failed');
  assert.deepEqual(problems, []);
});

test('a linearizability check that runs out of search steps is amber and undecided, never green', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=raft&n=3&seed=3');
  await page.getByRole('tab', { name: 'Settings' }).click();
  const form = page.getByRole('form', { name: 'Settings for a new run' });
  const steps = form.getByLabel('Linearizability search steps per operation');
  assert.equal(await steps.inputValue(), '20000', 'the default budget');
  // Out of range: an error at the field, and the run is kept.
  await steps.fill('0');
  await form.getByRole('button', { name: 'Start new run' }).click();
  await form
    .locator('#setting-checksteps-error')
    .filter({ hasText: 'Linearizability search steps per operation is 1 to 1000000, not 0' })
    .waitFor();
  // One step per completed operation: too few for two clients at once.
  await steps.fill('1');
  await form.getByRole('button', { name: 'Start new run' }).click();
  await page.getByRole('tab', { name: /Checkers/ }).click();
  for (let i = 0; i < 20 && (await page.locator('g.node[data-role=leader]').count()) === 0; i++) {
    await page.keyboard.press('n');
  }
  // The two clients (n4, n5) each append to key x at the same moment.
  for (const client of [3, 4]) {
    await page.locator(`g.node[data-node="${client}"] .node-body`).click();
    await page.getByRole('menuitem', { name: 'Send append' }).click();
  }
  await page.getByRole('tab', { name: /Checkers/ }).click();
  const r8 = page.getByRole('list', { name: 'Safety properties' }).locator('li.rule[data-rule="R8"]');
  for (let i = 0; i < 30 && (await r8.getAttribute('class')).split(' ').indexOf('undecided') < 0; i++) {
    await page.keyboard.press('n');
  }
  assert.match(await r8.getAttribute('class'), /\bundecided\b/);
  assert.equal(await r8.locator('.rule-status').innerText(), 'undecided');
  assert.equal(await r8.locator('.rule-status').getAttribute('aria-label'), 'R8 undecided');
  assert.match(
    await r8.locator('.rule-undecided').innerText(),
    /^The check could not decide within its budget: key "x" \(\d+ operations\)\. It carries on as operations complete\.$/,
  );
  // Amber, not the green of a rule that holds nor the red of a broken one.
  const colour = (l) => l.locator('.rule-status').evaluate((e) => getComputedStyle(e).color);
  const holds = page.locator('li.rule.holds').first();
  assert.notEqual(await colour(r8), await colour(holds));
  assert.equal(await page.locator('li.rule.broken').count(), 0, 'nothing is red');
  assert.equal(await page.locator('.tab-alert').count(), 0, 'an undecided check is no violation');
  // The tab says so while another tab is open.
  await page.getByRole('tab', { name: 'Events' }).click();
  assert.equal(await page.getByRole('tab', { name: /Checkers/ }).locator('.tab-undecided').getAttribute('aria-label'), 'undecided');
  await page.getByRole('tab', { name: /Checkers/ }).click();
  await r8.scrollIntoViewIfNeeded();
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT, 'linearizability-undecided.png') });
  assert.deepEqual(problems, []);
});
