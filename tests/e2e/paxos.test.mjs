// Paxos in the visualizer, used as a person would: a value chosen with one
// proposer, two proposers dueling, and a teaching toggle turning its rule
// red. Run with `cargo xtask test`, or `node --test tests/e2e/` after
// `trunk build --release`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openApp, useDistAndBrowser } from './harness.mjs';

const SERVERS = 'g.node.kind-server';

const env = useDistAndBrowser();

/** A full load of the app at `fragment` (screenshotted when the test ends). */
async function open(t, fragment) {
  const opened = await openApp(t, env.browser.context, `${env.server.url}#${fragment}`);
  await opened.page.locator(SERVERS).first().waitFor();
  return opened;
}

/** Every server on the stage: role, badge text and the strip's cells. */
async function servers(page) {
  return page.locator(SERVERS).evaluateAll((gs) =>
    gs.map((g) => ({
      node: Number(g.dataset.node),
      role: g.dataset.role,
      label: g.getAttribute('aria-label'),
      strip: [...g.querySelectorAll('g.strip g.cell')].map((c) => c.querySelector('title').textContent),
      tones: [...g.querySelectorAll('g.strip g.cell')].map((c) => [...c.classList].find((k) => k.startsWith('cell-'))),
    })),
  );
}

async function pressUntil(page, key, done, max, what) {
  for (let i = 0; i < max; i++) {
    if (await done()) {
      return i;
    }
    await page.keyboard.press(key);
  }
  if (await done()) {
    return max;
  }
  assert.fail(`${what} did not happen after ${max} presses of ${key}; stage: ${JSON.stringify(await servers(page))}`);
}

/** The Checkers panel: rule id -> "holds" / "broken". */
async function checkers(page) {
  await page.getByRole('tab', { name: /Checkers/ }).click();
  return page.locator('li.rule').evaluateAll((ls) =>
    Object.fromEntries(ls.map((l) => [l.dataset.rule, l.classList.contains('broken') ? 'broken' : 'holds'])),
  );
}

/** The event log's lines (headline, milestones and notes), oldest first. */
async function events(page) {
  await page.getByRole('tab', { name: 'Events' }).click();
  const lines = await page.locator('ol.events li.event').evaluateAll((ls) => ls.map((l) => l.innerText));
  return lines.reverse();
}

test('single-decree Paxos: one proposer gets a value chosen and every server learns it', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=paxos&n=3&seed=1&opt=proposers:1');
  assert.equal(await page.locator('.run-summary').innerText(), 'Paxos · 3 servers · seed 1');
  // Each message kind of the two phases has its own colour in the legend.
  const legend = await page.locator('ul.legend-list li').evaluateAll((ls) =>
    ls.map((l) => [l.textContent, l.querySelector('.swatch').className]),
  );
  const colour = Object.fromEntries(legend);
  const kinds = ['Prepare', 'Promise', 'Accept', 'Accepted', 'Nack'];
  for (const k of kinds) {
    assert.ok(colour[k], `the legend names ${k}: ${JSON.stringify(legend)}`);
  }
  assert.equal(new Set(kinds.map((k) => colour[k])).size, kinds.length, JSON.stringify(legend));

  // "Next round" goes from milestone to milestone: the ballot, then values chosen.
  await page.keyboard.press('n');
  assert.ok(
    (await events(page)).some((l) => /n1 starts ballot 1\.n1/.test(l)),
    'the first round is n1 starting its ballot',
  );
  await pressUntil(
    page,
    'n',
    async () => (await servers(page)).every((s) => s.role === 'decided'),
    10,
    'every server learning the value',
  );
  for (const s of await servers(page)) {
    assert.deepEqual(s.tones, ['cell-committed'], `n${s.node + 1}: ${JSON.stringify(s)}`);
    assert.match(s.strip[0], /^slot 1: "v1" \(chosen/);
  }
  // The inspector shows the acceptor's promise and its accepted (ballot, value).
  await page.locator(`g.node[data-node="1"] .node-body`).click();
  await page.getByRole('menu').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('.paxos-detail').waitFor();
  assert.equal(
    await page.locator('.paxos-summary').innerText(),
    'n2: acceptor and learner; promised ballot 1.n1',
  );
  const rows = await page.locator('table.paxos-slots tbody tr').evaluateAll((rs) =>
    rs.map((r) => [...r.cells].map((c) => c.textContent.trim())),
  );
  assert.deepEqual(rows, [['1', '"v1"', '1.n1', 'chosen']]);
  const rules = await checkers(page);
  for (const r of ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7']) {
    assert.equal(rules[r], 'holds', JSON.stringify(rules));
  }
  assert.deepEqual(problems, []);
});

test('two dueling proposers: refused ballots, a backoff, and still one value', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=paxos&n=3&seed=13&opt=proposers:2,start:0');
  await pressUntil(
    page,
    'n',
    async () => (await servers(page)).every((s) => s.role === 'decided'),
    30,
    'every server learning a value',
  );
  const log = await events(page);
  const ballots = log.filter((l) => /starts ballot/.test(l));
  assert.ok(ballots.length >= 3, `the proposers took several ballots: ${JSON.stringify(ballots)}`);
  assert.ok(log.some((l) => /Nack/.test(l)), 'a lower ballot was refused with a Nack');
  assert.ok(log.some((l) => /backs off/.test(l)), 'the loser backed off');
  const values = new Set((await servers(page)).map((s) => s.strip[0].match(/"(v\d)"/)[1]));
  assert.equal(values.size, 1, `one value chosen: ${[...values]}`);
  const rules = await checkers(page);
  assert.deepEqual(Object.entries(rules).filter(([, v]) => v !== 'holds'), [], 'no rule broke');

  // Without backoff the same duel never ends: ballot after ballot, no value.
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('[data-toggle="no-backoff"]').getByRole('button', { name: 'Load its scenario' }).click();
  await page.getByRole('status').filter({ hasText: 'Scenario for the toggle no-backoff' }).waitFor();
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('n');
  }
  const stuck = await servers(page);
  assert.ok(stuck.every((s) => s.role !== 'decided'), JSON.stringify(stuck));
  // The promised ballots on the nodes' badges keep climbing.
  const rounds = stuck.map((s) => Number(s.label.match(/promised (\d+)\./)?.[1] ?? 0));
  assert.ok(Math.max(...rounds) >= 20, `promised rounds ${rounds} after 40 rounds: ${JSON.stringify(stuck)}`);
  assert.ok((await events(page)).every((l) => !/is chosen/.test(l)), 'nothing is chosen');
  assert.deepEqual(problems, []);
});

test('the toggle ignore-promised-values turns P6 and then P1 red', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=paxos&n=3&seed=1');
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('[data-toggle="ignore-promised-values"]').getByRole('button', { name: 'Load its scenario' }).click();
  await page.getByRole('status').filter({ hasText: 'Scenario for the toggle ignore-promised-values' }).waitFor();
  await pressUntil(page, 'n', async () => (await page.locator('.notice[role=alert]').count()) > 0, 20, 'a violation');
  const alert = await page.locator('.notice[role=alert] .notice-text').first().innerText();
  assert.match(alert, /^P6 broke at [\d.]+ ms: n3 sends Accept\(1\.n3, "v3"\) for slot 1, but the highest-ballot value its promises reported is "v1"/);
  let rules = await checkers(page);
  assert.deepEqual(Object.entries(rules).filter(([, s]) => s === 'broken').map(([r]) => r), ['P6']);
  assert.ok((await page.locator('g.node.highlighted').count()) > 0, 'the nodes involved are highlighted');
  // Play on: a second value is chosen.
  await pressUntil(
    page,
    'n',
    async () => (await checkers(page)).P1 === 'broken',
    20,
    'P1 breaking',
  );
  rules = await checkers(page);
  assert.deepEqual(Object.entries(rules).filter(([, s]) => s === 'broken').map(([r]) => r).sort(), ['P1', 'P6']);
  assert.equal(await page.locator('li.rule.broken .rule-status').first().innerText(), 'BROKEN');
  assert.deepEqual(problems, []);
});

test('Multi-Paxos: a leader is established and client commands are executed in slot order', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=multipaxos&n=3&seed=1');
  assert.equal(await page.locator('.run-summary').innerText(), 'Multi-Paxos · 3 servers · seed 1');
  await pressUntil(
    page,
    'n',
    async () => (await servers(page)).filter((s) => s.role === 'leader').length === 1,
    10,
    'a leader',
  );
  const leader = (await servers(page)).find((s) => s.role === 'leader').node;
  for (let i = 0; i < 3; i++) {
    await page.getByRole('button', { name: 'Client request' }).click();
  }
  await pressUntil(
    page,
    'ArrowRight',
    async () => {
      const s = await servers(page);
      return s.every((n) => n.strip.length >= 3 && n.tones.every((k) => k === 'cell-applied'));
    },
    400,
    'three slots executed on every server',
  );
  const s = await servers(page);
  assert.deepEqual(s[0].strip, s[1].strip, 'the same log on n1 and n2');
  assert.deepEqual(s[1].strip, s[2].strip, 'the same log on n2 and n3');
  await page.locator(`g.node[data-node="${leader}"] .node-body`).click();
  await page.getByRole('menu').waitFor();
  await page.keyboard.press('Escape');
  await page.locator('.paxos-detail').waitFor();
  assert.match(await page.locator('.paxos-proposer').innerText(), /^Phase 2 with ballot \d+\.n\d/);
  const states = await page.locator('table.paxos-slots tbody tr').evaluateAll((rs) => rs.map((r) => r.cells[3].textContent));
  assert.ok(states.length >= 3 && states.every((x) => x === 'executed'), JSON.stringify(states));
  const rules = await checkers(page);
  assert.deepEqual(Object.entries(rules).filter(([, v]) => v !== 'holds'), [], 'no rule broke');
  assert.ok('P8' in rules, JSON.stringify(rules));
  assert.deepEqual(problems, []);
});
