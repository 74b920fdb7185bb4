// The pub/sub queue in the visualizer, used as a person would: chosen in
// settings, a partition leader crashing with acks=all and nothing lost, a
// consumer group rebalancing when a member crashes, and a teaching toggle
// turning its rule red. Run with `cargo xtask test`, or `node --test
// tests/e2e/` after `trunk build --release`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openApp, useDistAndBrowser } from './harness.mjs';

const env = useDistAndBrowser();

/** A full load of the app at `fragment` (screenshotted when the test ends). */
async function open(t, fragment) {
  const opened = await openApp(t, env.browser.context, `${env.server.url}#${fragment}`);
  await opened.page.locator('g.node').first().waitFor();
  return opened;
}

/** Every node on the stage: kind, role, health, place and strip. */
async function stage(page) {
  return page.locator('g.node').evaluateAll((gs) =>
    gs.map((g) => ({
      node: Number(g.dataset.node),
      kind: [...g.classList].find((k) => k.startsWith('kind-'))?.slice(5),
      role: g.dataset.role,
      health: ['up', 'crashed', 'paused'].find((h) => g.classList.contains(h)),
      x: g.getBoundingClientRect().x,
      strip: [...g.querySelectorAll('g.strip g.cell')].map((c) => c.querySelector('title').textContent),
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
  assert.fail(`${what} did not happen after ${max} presses of ${key}; stage: ${JSON.stringify(await stage(page))}`);
}

/** The brokers leading a partition, as the stage shows them. */
async function leaders(page) {
  return (await stage(page)).filter((n) => n.kind === 'server' && n.role === 'leader' && n.health === 'up').map((n) => n.node);
}

/** Clicks node `i` and closes its menu: the inspector shows it. */
async function inspect(page, i) {
  await page.locator(`g.node[data-node="${i}"] .node-body`).click();
  await page.getByRole('menu').waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('menu').waitFor({ state: 'detached' });
  await page.locator('.pubsub-detail').waitFor();
  return page.locator('.pubsub-detail').innerText();
}

async function crash(page, i) {
  await page.locator(`g.node[data-node="${i}"] .node-body`).click();
  await page.getByRole('menuitem', { name: 'Crash', exact: true }).click();
  await page.getByRole('menu').waitFor({ state: 'detached' });
}

/** The producer's counts line: sent, pending, acknowledged. */
async function producerCounts(page, i) {
  await inspect(page, i);
  const line = await page.locator('.pubsub-counts').innerText();
  const m = line.match(/^Sent (\d+), pending (\d+) .*acknowledged (\d+)$/);
  assert.ok(m, line);
  return { sent: Number(m[1]), pending: Number(m[2]), acknowledged: Number(m[3]) };
}

/** How many records consumer `i` has processed, from its inspector. */
async function processed(page, i) {
  const text = await inspect(page, i);
  return Number(text.match(/processed (\d+)/)[1]);
}

/** The Checkers panel: rule id -> "holds" / "broken". */
async function checkers(page) {
  await page.getByRole('tab', { name: /Checkers/ }).click();
  return page.locator('li.rule').evaluateAll((ls) =>
    Object.fromEntries(ls.map((l) => [l.dataset.rule, l.classList.contains('broken') ? 'broken' : 'holds'])),
  );
}

/** The event log's lines, oldest first. */
async function events(page) {
  await page.getByRole('tab', { name: 'Events' }).click();
  const lines = await page.locator('ol.events li.event').evaluateAll((ls) => ls.map((l) => l.innerText));
  return lines.reverse();
}

test('chosen in settings, the queue reads left to right and shows partition logs', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=raft&n=5&seed=1');
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('#setting-protocol').selectOption('pubsub');
  for (const t of ['acks-leader-only', 'min-insync-one', 'commit-before-processing']) {
    assert.equal(await page.locator(`[data-toggle="${t}"]`).count(), 1, `the toggle ${t} is offered`);
  }
  await page.getByRole('button', { name: 'Start new run' }).click();
  await page.locator('g.node.kind-producer').waitFor();
  assert.match(await page.locator('.run-summary').innerText(), /^Pub\/sub queue · 3 brokers · seed \d+$/);
  assert.match(page.url(), /p=pubsub/);
  let nodes = await stage(page);
  // 3 brokers and the controller, one producer, two consumers of billing.
  assert.deepEqual(nodes.map((n) => n.kind), ['server', 'server', 'server', 'server', 'producer', 'consumer', 'consumer']);
  const x = (kind) => nodes.filter((n) => n.kind === kind).map((n) => n.x);
  assert.ok(Math.max(...x('producer')) < Math.min(...x('server')), 'producers left of the brokers');
  assert.ok(Math.max(...x('server')) < Math.min(...x('consumer')), 'consumers right of the brokers');

  await pressUntil(page, 'n', async () => (await leaders(page)).length >= 1, 10, 'a partition leader');
  for (let i = 0; i < 4; i++) {
    await page.getByRole('button', { name: 'Client request' }).click();
  }
  await pressUntil(
    page,
    'ArrowRight',
    async () => (await stage(page)).filter((n) => n.kind === 'server').slice(0, 3)
      .every((b) => b.strip.filter((c) => /below the high watermark/.test(c)).length === 4),
    400,
    'four committed records across the partitions on every broker',
  );
  // Each broker's strip names its partitions (leader, epoch, HW, in-sync set).
  const broker = (await stage(page))[0];
  assert.ok(broker.strip.some((c) => /^events\/0: (leads|follows); HW \d+, log end \d+; leader n\d, e\d+, in-sync \{n1 n2 n3\}$/.test(c)), JSON.stringify(broker.strip));
  const text = await inspect(page, 0);
  assert.match(text, /n1: broker, leads \d of 2 partition\(s\)/);
  const rows = await page.locator('table.pubsub-log tbody tr').evaluateAll((rs) => rs.map((r) => [...r.cells].map((c) => c.textContent)));
  assert.equal(rows.length, 4, JSON.stringify(rows));
  assert.ok(rows.every((r) => r[4] === 'committed' && /^n5#\d$/.test(r[1])), JSON.stringify(rows));
  assert.deepEqual(problems, []);
});

test('settings choose acks and a group\'s delivery; acks=0 with acks-leader-only is refused and the run kept', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=pubsub&n=3&seed=1');
  const kept = page.url();
  await page.getByRole('tab', { name: 'Settings' }).click();
  const form = page.getByRole('form', { name: 'Settings for a new run' });
  assert.equal(await form.locator('#setting-acks').inputValue(), 'all');
  assert.equal(await form.locator('#setting-billing-mode').inputValue(), 'at-least-once');
  await form.locator('#setting-acks').selectOption('0');
  await form.locator('[data-toggle="acks-leader-only"] input').check();
  await form.getByRole('button', { name: 'Start new run' }).click();
  await page.locator('.notice[role=alert]')
    .filter({ hasText: 'The option acks is 0, but the toggle acks-leader-only sets acks=1' }).waitFor();
  assert.equal(page.url(), kept, 'the run is kept');
  await form.locator('[data-toggle="acks-leader-only"] input').uncheck();
  await form.locator('#setting-billing-mode').selectOption('at-most-once');
  await form.getByRole('button', { name: 'Start new run' }).click();
  await page.waitForURL(/opt=[^&]*acks:0/);
  assert.match(page.url(), /opt=[^&]*billing-mode:at-most-once/);
  assert.match(await inspect(page, 4), /^n5: producer, acks=0,/);
  assert.match(await inspect(page, 5), /^n6: consumer in group \S+ \(at-most-once\)/);
  assert.deepEqual(problems, []);
});

test('a partition leader crashes with acks=all and nothing acknowledged is lost', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=pubsub&n=3&seed=2&opt=billing:1,partitions:1');
  const [producer] = (await stage(page)).filter((n) => n.kind === 'producer').map((n) => n.node);
  const [consumer] = (await stage(page)).filter((n) => n.kind === 'consumer').map((n) => n.node);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a partition leader');
  const [old] = await leaders(page);
  for (let i = 0; i < 4; i++) {
    await page.getByRole('button', { name: 'Client request' }).click();
  }
  await pressUntil(page, 'ArrowRight', async () => (await producerCounts(page, producer)).acknowledged === 4, 300, 'four acknowledgements');
  // Four more on their way as the leader crashes.
  for (let i = 0; i < 4; i++) {
    await page.getByRole('button', { name: 'Client request' }).click();
  }
  await page.keyboard.press('ArrowRight');
  await crash(page, old);
  await pressUntil(page, 'n', async () => (await leaders(page)).some((l) => l !== old), 20, 'a new partition leader');
  assert.ok((await events(page)).some((l) => /leads events\/0 in e2/.test(l)), 'the new leader has epoch 2');
  await pressUntil(
    page,
    'ArrowRight',
    async () => (await producerCounts(page, producer)).acknowledged === 8 && (await processed(page, consumer)) >= 8,
    600,
    'all eight acknowledged and processed',
  );
  const counts = await producerCounts(page, producer);
  assert.deepEqual(counts, { sent: 8, pending: 0, acknowledged: 8 });
  const rules = await checkers(page);
  // The live counters above the rules: everything published was
  // acknowledged and delivered once, nothing duplicated or lost.
  const counters = await page.locator('dl.counters .counter').evaluateAll((cs) =>
    Object.fromEntries(cs.map((c) => [c.dataset.counter, Number(c.querySelector('dd').textContent)])),
  );
  assert.deepEqual(counters, { published: 8, acknowledged: 8, delivered: 8, duplicated: 0, lost: 0 });
  assert.ok('Q1' in rules, JSON.stringify(rules));
  assert.deepEqual(Object.entries(rules).filter(([, v]) => v !== 'holds'), [], 'no rule broke');
  assert.deepEqual(problems, []);
});

test('a consumer crashes and its group rebalances its partitions to the other', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=pubsub&n=3&seed=3&opt=billing:2,partitions:2');
  const consumers = async () => (await stage(page)).filter((n) => n.kind === 'consumer');
  await pressUntil(page, 'n', async () => (await consumers(page)).every((c) => c.strip.length === 1), 20, 'each consumer owning one partition');
  const [a, b] = (await consumers(page)).map((c) => c.node);
  const generation = async (i) => Number((await inspect(page, i)).match(/consumer in group billing \(at-least-once\), gen(\d+)/)[1]);
  const before = await generation(b);
  assert.equal(await generation(a), before, 'both members in one generation');
  await crash(page, a);
  await pressUntil(
    page,
    'n',
    async () => (await consumers(page)).find((c) => c.node === b).strip.length === 2,
    30,
    'the surviving consumer owning both partitions',
  );
  assert.ok((await generation(b)) > before, 'the group moved to a new generation');
  const text = await inspect(page, b);
  assert.match(text, /p0\s+\d+\s+\d+\s+\d+/);
  assert.match(text, /p1\s+\d+\s+\d+\s+\d+/);
  const rules = await checkers(page);
  assert.deepEqual(Object.entries(rules).filter(([, v]) => v !== 'holds'), [], 'no rule broke');
  assert.deepEqual(problems, []);
});

test('the toggle acks-leader-only turns Q1 red', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=pubsub&n=3&seed=1');
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('[data-toggle="acks-leader-only"]').getByRole('button', { name: 'Load its scenario' }).click();
  await page.getByRole('status').filter({ hasText: 'Scenario for the toggle acks-leader-only' }).waitFor();
  await pressUntil(page, 'n', async () => (await page.locator('.notice[role=alert]').count()) > 0, 30, 'a violation');
  const alert = await page.locator('.notice[role=alert] .notice-text').first().innerText();
  assert.match(alert, /^Q1 broke at [\d.]+ ms: acknowledged message n5#1 at p0@0 is lost: n2 commits n5#2 there/);
  const rules = await checkers(page);
  assert.deepEqual(Object.entries(rules).filter(([, s]) => s === 'broken').map(([r]) => r), ['Q1']);
  assert.equal(await page.locator('dl.counters [data-counter="lost"] dd').innerText(), '1', 'the lost message is counted');
  assert.ok((await page.locator('g.node.highlighted').count()) > 0, 'the nodes involved are highlighted');
  assert.deepEqual(problems, []);
});

/** The live counters above the rules, by name. */
async function counters(page) {
  await page.getByRole('tab', { name: /Checkers/ }).click();
  return page.locator('dl.counters .counter').evaluateAll((cs) =>
    Object.fromEntries(cs.map((c) => [c.dataset.counter, Number(c.querySelector('dd').textContent)])),
  );
}

test('Drain and check ends the faults, lets the queue settle, and its final check finds nothing lost', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=pubsub&n=3&seed=2&opt=billing:1,partitions:1');
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a partition leader');
  const [old] = await leaders(page);
  for (let i = 0; i < 3; i++) {
    await page.getByRole('button', { name: 'Client request' }).click();
  }
  await page.keyboard.press('ArrowRight');
  await crash(page, old);
  // One of the two brokers left is isolated: the drain heals it.
  const brokers = (await stage(page)).filter((n) => n.kind === 'server' && n.node !== old).map((n) => n.node);
  await page.locator(`g.node[data-node="${brokers[0]}"] .node-body`).click();
  await page.getByRole('menuitem', { name: 'both ways' }).click();
  await page.getByRole('menu').waitFor({ state: 'detached' });
  await page.getByRole('button', { name: 'Drain and check' }).click();
  const notice = page.getByRole('status').filter({ hasText: 'Drained:' });
  await notice.waitFor();
  const text = await notice.locator('.notice-text').innerText();
  assert.match(
    text,
    new RegExp(`^Drained: ended 1 fault \\(n${old + 1} stays down, as if lost\\) at [\\d.]+ ms; the cluster settled [\\d.]+ ms later, and the final check found nothing broken\\.$`),
  );
  assert.deepEqual(await counters(page), { published: 3, acknowledged: 3, delivered: 3, duplicated: 0, lost: 0 });
  const line = await page.locator('[data-drain="checked"]').innerText();
  assert.match(line, /^Final check at [\d.]+ ms: the cluster settled [\d.]+ ms after the drain at [\d.]+ ms\.$/);
  const rules = await checkers(page);
  assert.deepEqual(Object.entries(rules).filter(([, v]) => v !== 'holds'), [], 'no rule broke');
  // The link carries the drain: opened again, the same verdict.
  const hash = await page.evaluate(() => location.hash);
  assert.match(hash, /~\d+\.\d+\.healall~\d+\.\d+\.drain&/, 'the input log ends with the heal and the drain');
  const again = await open(t, hash.slice(1));
  await again.page.getByRole('tab', { name: /Checkers/ }).click();
  assert.equal(await again.page.locator('[data-drain="checked"]').innerText(), line);
  assert.deepEqual(problems, []);
  assert.deepEqual(again.problems, []);
});

test('the commit-before-processing scenario\'s final check finds the message its group never processed', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=pubsub&n=3&seed=1');
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('[data-toggle="commit-before-processing"]').getByRole('button', { name: 'Load its scenario' }).click();
  await page.getByRole('status').filter({ hasText: 'Scenario for the toggle commit-before-processing' }).waitFor();
  await pressUntil(page, 'n', async () => (await page.locator('.notice[role=alert]').count()) > 0, 30, 'a violation');
  const alert = await page.locator('.notice[role=alert] .notice-text').first().innerText();
  assert.match(alert, /^Q1 broke at [\d.]+ ms: group billing \(at-most-once\) lost 1 acknowledged messages \(n5#1\): committed before they were processed$/);
  const rules = await checkers(page);
  assert.deepEqual(Object.entries(rules).filter(([, s]) => s === 'broken').map(([r]) => r), ['Q1']);
  assert.equal((await counters(page)).lost, 1, 'the lost message is counted');
  assert.match(await page.locator('[data-drain="checked"]').innerText(), /^Final check at [\d.]+ ms: the cluster settled/);
  assert.deepEqual(problems, []);
});
