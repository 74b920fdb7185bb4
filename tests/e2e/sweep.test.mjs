// Links to seed-sweep runs, used as a person would: paste the link that
// `cargo xtask sweep` printed for a failing seed, and read the screen.
//
// Run with `cargo xtask test` (which builds dist/ first), or by hand after
// `trunk build --release`: node --test tests/e2e/sweep.test.mjs
//
// The toggle seed is one the sweep is known to catch (xtask/src/sweep.rs,
// CATCHES): `cargo xtask sweep --protocol raft --toggle skip-up-to-date-check
// --seeds 3` fails at seed 2 with R4 (each seed draws its options too,
// and the link rebuilds them from the seed). The link below is the printed one
// without its moment (t, s, h), which opens where the sweep stopped: the
// app runs the sweep's own generator for the seed and replays its inputs.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openApp, useDistAndBrowser } from './harness.mjs';

const SWEEP_LINK = 'v=1&p=raft&n=3&seed=2&sweep=1&tog=skip-up-to-date-check';

const env = useDistAndBrowser();

/** A full load of the app at `fragment`. */
async function open(t, fragment) {
  const opened = await openApp(t, env.browser.context, `${env.server.url}#${fragment}`);
  await opened.page.locator('g.node.kind-server').first().waitFor();
  return opened;
}

async function notices(page) {
  return page.locator('.notice').evaluateAll((ns) =>
    ns.map((n) => ({ role: n.getAttribute('role'), text: n.querySelector('.notice-text').textContent })),
  );
}

/** The Checkers panel: rule id -> "holds" / "broken". */
async function checkers(page) {
  await page.getByRole('tab', { name: /Checkers/ }).click();
  return page.locator('li.rule').evaluateAll((ls) =>
    Object.fromEntries(ls.map((l) => [l.dataset.rule, l.classList.contains('broken') ? 'broken' : 'holds'])),
  );
}

/** The event counter of the status line. */
async function event(page) {
  const text = await page.locator('nav[aria-label="Run controls"] .clock .clock-step').textContent();
  const m = text.match(/^event (\d+)$/);
  assert.ok(m, `the status line reads "${text}"`);
  return Number(m[1]);
}

test("a failing sweep seed's link opens its run at the violation, checker red", async (t) => {
  const { page, problems } = await open(t, SWEEP_LINK);
  assert.equal(await page.locator('g.node.kind-server').count(), 3);
  assert.equal(await page.locator('.run-summary').innerText(), 'Raft · 3 servers · seed 2');

  // The notice names the seed and what the sweep found. Had the app's
  // replay differed from the sweep's run, it would say so instead (the
  // sweep's trace hash is checked on opening).
  const shown = await notices(page);
  assert.equal(shown.length, 1, JSON.stringify(shown));
  assert.equal(shown[0].role, 'alert');
  assert.match(
    shown[0].text,
    /^Seed 2 of the Raft sweep \(3 servers, toggle skip-up-to-date-check\): R4 broke at [\d.]+ ms: n\d became leader of term \d+ without the committed entry at index \d+$/,
  );
  const rules = await checkers(page);
  assert.equal(rules.R4, 'broken');
  assert.deepEqual(
    Object.entries(rules).filter(([, s]) => s === 'broken').map(([r]) => r),
    ['R4'],
  );
  assert.equal(await page.locator('li.rule.broken .rule-status').innerText(), 'BROKEN');
  assert.ok((await page.locator('g.node.highlighted').count()) > 0, 'the nodes involved are highlighted');
  assert.equal(await page.getByRole('button', { name: 'Play' }).count(), 1, 'the run is paused');

  // It opened right after the step that broke R4: one step back, R4 held.
  const broke = await event(page);
  await page.keyboard.press('ArrowLeft');
  assert.equal(await event(page), broke - 1);
  assert.equal((await checkers(page)).R4, 'holds', `one event before event ${broke}, R4 still held`);

  // The address bar now holds the ordinary link to this moment: the input
  // log the sweep generated, spelled out.
  await page.waitForFunction(() => /[#&]in=/.test(location.hash) && !/[#&]sweep=/.test(location.hash));
  assert.deepEqual(problems, []);
});

test('a bad sweep link says what is wrong and starts the default run', async (t) => {
  const cases = [
    ['v=1&p=raft&n=3&seed=five&sweep=1', /read: The seed in the link is "five", which is not a whole number/],
    ['v=1&p=raft&n=3&seed=18446744073709551616&sweep=1', /read: The seed in the link is 18446744073709551616, above the largest allowed/],
    ['v=1&p=raft&n=1&seed=5&sweep=1', /read: The cluster size \(n\) in the link is 1, but a cluster has 3 to 25 servers/],
    ['v=1&p=raft&n=20&seed=5&sweep=1', /opened: The link asks for seed 5 of a Raft sweep with 20 servers, which a sweep cannot run: a Raft sweep runs 1 to 15 servers, not 20\./],
    ['v=1&p=raft&n=3&seed=5&sweep=1&tog=skip-the-checks', /opened: The link switches on the toggle "skip-the-checks", which Raft does not have; it has /],
    ['v=1&p=raft&n=3&seed=5&sweep=1&lat=10-20-u', /the link cannot also set the latency \(lat\)/],
  ];
  const { page, problems } = await openApp(t, env.browser.context, env.server.url);
  for (const [fragment, phrase] of cases) {
    await page.goto('about:blank');
    await page.goto(`${env.server.url}#${fragment}`);
    const alert = page.locator('.notice[role=alert]');
    await alert.waitFor();
    const text = await alert.locator('.notice-text').innerText();
    assert.match(text, phrase, `for #${fragment}`);
    assert.match(text, /^This link could not be (read|opened): .*Showing the default run instead\.$/, `for #${fragment}`);
    assert.equal(await page.locator('g.node.kind-server').count(), 5, `the default run for #${fragment}`);
    assert.equal(await page.locator('.run-summary').innerText(), 'Raft · 5 servers · seed 1');
    assert.equal(await event(page), 0);
  }
  assert.deepEqual(problems, []);
});
