// The visualizer, used as a person would: by clicking, typing and reading
// the screen, in headless Chromium, from the release build in dist/.
//
// Run with `cargo xtask test` (which builds dist/ first), or by hand after
// `trunk build --release`: node --test tests/e2e/
//
// Every test reads the page (roles, terms, log strips, the inspector, the
// status line, notices), never the app's internals. Screenshots of each
// test's last moment go to tests/output/; three go to docs/ for the README.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { OUTPUT, ROOT, useDistAndBrowser, watchProblems } from './harness.mjs';

const DOCS = path.join(ROOT, 'docs');
const SERVERS = 'g.node.kind-server';

const env = useDistAndBrowser();

// ---------------------------------------------------------------------------
// Helpers: opening the app, and reading what the screen shows.

/**
 * Opens the app at `fragment` (without '#') in a new page and waits until the
 * stage shows nodes. Unlike harness.openApp it does not need the header, so
 * it also opens embed mode. The page is screenshotted into tests/output/ and
 * closed when the test ends.
 */
async function open(t, fragment = '', { viewport } = {}) {
  const page = await env.browser.context.newPage();
  page.setDefaultTimeout(20_000);
  if (viewport) {
    await page.setViewportSize(viewport);
  }
  const problems = watchProblems(page);
  t.after(async () => {
    await shot(page, `${t.name}-end`);
    await page.close();
  });
  await goto(page, fragment);
  return { page, problems };
}

/** A full load of the app at `fragment` (not a same-document hash change). */
async function goto(page, fragment) {
  await page.goto('about:blank');
  await page.goto(env.server.url + (fragment ? `#${fragment}` : ''));
  await page.locator(SERVERS).first().waitFor();
  await page.waitForFunction(() => typeof window.wasmBindings?.debug_panic === 'function');
}

async function shot(page, name, file) {
  mkdirSync(OUTPUT, { recursive: true });
  const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
  await page.screenshot({ path: file ?? path.join(OUTPUT, `${slug}.png`) }).catch(() => {});
}

/** The status line: "287.397 ms" and the event counter. */
async function clock(page) {
  const [time, step] = await page
    .locator('nav[aria-label="Run controls"] .clock')
    .evaluate((el) => [el.querySelector('.clock-time').textContent, el.querySelector('.clock-step').textContent]);
  const m = step.match(/^event (\d+)$/);
  assert.ok(m, `the status line reads "${step}"`);
  return { time, event: Number(m[1]) };
}

/** What the stage shows of every node: role, health, term badge, log strip. */
async function stage(page) {
  return page.locator('g.node').evaluateAll((gs) =>
    gs.map((g) => ({
      node: Number(g.dataset.node),
      kind: g.classList.contains('kind-server') ? 'server' : 'client',
      role: g.dataset.role,
      health: ['up', 'crashed', 'paused'].find((h) => g.classList.contains(h)),
      label: g.getAttribute('aria-label'),
      term: Number(g.getAttribute('aria-label').match(/term (\d+)/)?.[1] ?? NaN),
      strip: [...g.querySelectorAll('g.strip g.cell')].map((c) => c.querySelector('title').textContent),
      stripTones: [...g.querySelectorAll('g.strip g.cell')].map((c) =>
        [...c.classList].find((k) => k.startsWith('cell-')),
      ),
    })),
  );
}

/** Everything visible that a step changes: status, stage, inspector, messages. */
async function snapshot(page) {
  return {
    clock: await clock(page),
    stage: await stage(page),
    inspector: await page.locator('aside[aria-label="Panels"] [role=tabpanel]').innerText(),
    messages: await page.locator('.msg').count(),
  };
}

/** The leaders on the stage, as node indexes. */
async function leaders(page) {
  return (await stage(page)).filter((n) => n.role === 'leader' && n.health === 'up').map((n) => n.node);
}

/**
 * Presses `key` until `done()` holds, at most `max` times; fails with what
 * the screen showed last if it never does.
 */
async function pressUntil(page, key, done, max = 12, what = 'the condition') {
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

/** Clicks node `i` on the stage (selects it and opens its menu). */
async function clickNode(page, i) {
  await page.locator(`g.node[data-node="${i}"] .node-body`).click();
  await page.getByRole('menu').waitFor();
}

/** Clicks node `i` and closes its menu: the inspector shows it. */
async function inspect(page, i) {
  await clickNode(page, i);
  await page.keyboard.press('Escape');
  await page.getByRole('menu').waitFor({ state: 'detached' });
  await page.locator('.raft-detail').waitFor();
}

/** Rows of the selected server's Raft log table: {index, term, command, state}. */
async function inspectorLog(page) {
  return page.locator('table.raft-log tbody tr').evaluateAll((rows) =>
    rows.map((r) => {
      const [index, term, command, state] = [...r.cells].map((c) => c.textContent.trim());
      return { index: Number(index), term: Number(term), command, state };
    }),
  );
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

async function partition(page, groupOf, nodes = 7) {
  await page.getByRole('button', { name: 'Partition…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Partition the network' });
  await dialog.waitFor();
  for (let i = 0; i < nodes; i++) {
    await dialog.getByRole('radio', { name: `n${i + 1} in ${groupOf(i)}`, exact: true }).check();
  }
  await dialog.getByRole('button', { name: 'Partition', exact: true }).click();
  await dialog.waitFor({ state: 'detached' });
}

// ---------------------------------------------------------------------------

test('crash the leader and a new leader is elected in a higher term', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a leader');
  const [old] = await leaders(page);
  const oldTerm = (await stage(page))[old].term;
  assert.ok(oldTerm >= 1, `the first leader's term is ${oldTerm}`);

  await clickNode(page, old);
  await page.getByRole('menuitem', { name: 'Crash', exact: true }).click();
  await page.getByRole('menu').waitFor({ state: 'detached' });
  let now = await stage(page);
  assert.equal(now[old].health, 'crashed');
  assert.match(now[old].label, /crashed/);
  assert.equal(await page.locator(`g.node[data-node="${old}"] .node-cross`).count(), 1, 'a crashed node is crossed out');
  // The inspector (the crashed node is selected) says so too.
  assert.match(await page.locator('aside[aria-label="Panels"]').innerText(), /health\s+crashed/);

  await pressUntil(page, 'n', async () => (await leaders(page)).some((l) => l !== old), 10, 'a new leader');
  now = await stage(page);
  const [fresh] = await leaders(page);
  assert.notEqual(fresh, old);
  assert.equal(now[old].health, 'crashed', 'the old leader stays crashed');
  assert.ok(now[fresh].term > oldTerm, `new leader term ${now[fresh].term} > old ${oldTerm}`);

  // The new leader's inspector agrees with its badge.
  await inspect(page, fresh);
  assert.equal(
    await page.locator('.raft-summary').innerText(),
    `leader in term ${now[fresh].term}`,
  );
  assert.deepEqual(problems, []);
});

test('a live run mid-flight (the README screenshot)', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a leader');
  const [leader] = await leaders(page);
  for (let i = 0; i < 3; i++) {
    await page.getByRole('button', { name: 'Client request' }).click();
  }
  // Run until something is committed and several messages are in flight.
  await pressUntil(
    page,
    'ArrowRight',
    async () => {
      const s = await stage(page);
      return (
        s[leader].strip.length >= 3 &&
        s[leader].stripTones.includes('cell-applied') &&
        s.some((n) => n.stripTones.includes('cell-pending')) &&
        (await page.locator('.msg').count()) >= 4
      );
    },
    400,
    'a busy moment',
  );
  await inspect(page, leader);
  mkdirSync(DOCS, { recursive: true });
  await shot(page, 'screenshot', path.join(DOCS, 'screenshot.png'));
  assert.deepEqual(problems, []);
});

test('a partitioned minority cannot commit; after healing it catches up', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(
    page,
    'n',
    async () => (await page.locator('g.node[data-role=leader] g.cell-applied').count()) > 0,
    10,
    'a leader with a committed entry',
  );
  const [leader] = await leaders(page);
  const oldTerm = (await stage(page))[leader].term;

  // The client n6 sends to the server it believes leads: put that server
  // (or another follower) with the leader and n6 in the minority.
  await inspect(page, 5);
  const guess = Number((await page.locator('.raft-detail').innerText()).match(/Sends its requests to n(\d+)/)[1]) - 1;
  const buddy = guess !== leader && guess < 5 ? guess : (leader + 1) % 5;
  const minority = [leader, buddy];
  const majority = [0, 1, 2, 3, 4].filter((i) => !minority.includes(i));
  await partition(page, (i) => (minority.includes(i) || i === 5 ? 'group A' : 'group B'));
  assert.ok((await page.locator('line.lane-cut').count()) > 0, 'cut links are drawn');

  // n6 (with the minority) asks for a write; so does n7 (with the majority).
  await clickNode(page, 5);
  await page.getByRole('menuitem', { name: 'Send put' }).click();
  await clickNode(page, 6);
  await page.getByRole('menuitem', { name: 'Send put' }).click();

  await pressUntil(
    page,
    'n',
    async () => {
      const s = await stage(page);
      const m = majority.find((i) => s[i].role === 'leader');
      return m !== undefined && s[m].strip.some((c) => /by n7#1 \(applied\)/.test(c));
    },
    12,
    'the majority electing a leader and committing n7\'s write',
  );
  let s = await stage(page);
  const newLeader = majority.find((i) => s[i].role === 'leader');
  assert.ok(s[newLeader].term > oldTerm, `majority leader term ${s[newLeader].term} > ${oldTerm}`);

  // The old leader took n6's write but could not commit it.
  await inspect(page, leader);
  const oldLog = await inspectorLog(page);
  const n6write = oldLog.find((r) => /by n6#1/.test(r.command));
  assert.ok(n6write, `the old leader's log holds n6's write: ${JSON.stringify(oldLog)}`);
  assert.equal(n6write.state, 'not committed');
  assert.equal(n6write.term, oldTerm);
  assert.ok(!oldLog.some((r) => /by n7/.test(r.command)), 'the minority never saw n7\'s write');
  for (const i of minority) {
    assert.ok(s[i].term < s[newLeader].term, `minority n${i + 1} is still in an older term`);
    const n6cells = s[i].strip.filter((c) => /by n6#1/.test(c));
    assert.ok(n6cells.every((c) => /\(not committed\)$/.test(c)), `n${i + 1}'s strip: ${JSON.stringify(s[i].strip)}`);
  }
  await inspect(page, newLeader);
  await shot(page, 'partition', path.join(DOCS, 'partition.png'));

  // Heal: the minority adopts the majority's log, and n6's write (retried)
  // is committed in the new term.
  await page.getByRole('button', { name: 'Heal all links' }).click();
  assert.equal(await page.locator('line.lane-cut').count(), 0, 'no cut links after healing');
  await pressUntil(
    page,
    'n',
    async () => {
      const st = await stage(page);
      const want = JSON.stringify(st[newLeader].strip);
      return [0, 1, 2, 3, 4].every(
        (i) => JSON.stringify(st[i].strip) === want && st[i].stripTones.every((k) => k === 'cell-applied'),
      );
    },
    12,
    'every server holding the same, applied log',
  );
  s = await stage(page);
  const committed = s[newLeader].strip;
  assert.ok(committed.some((c) => /by n7#1/.test(c)) && committed.some((c) => /by n6#1/.test(c)), JSON.stringify(committed));
  await inspect(page, leader);
  const caughtUp = await inspectorLog(page);
  assert.ok(caughtUp.every((r) => r.state === 'applied'), JSON.stringify(caughtUp));
  assert.ok(!caughtUp.some((r) => r.index === n6write.index && r.term === oldTerm), 'the uncommitted entry was replaced');
  const rules = await checkers(page);
  assert.ok(Object.keys(rules).length >= 8, JSON.stringify(rules));
  assert.deepEqual(Object.entries(rules).filter(([, v]) => v !== 'holds'), [], 'no rule broke');
  assert.deepEqual(problems, []);
});

test('stepping back and forward shows the same states', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a leader');
  await page.keyboard.press('c');
  await inspect(page, (await leaders(page))[0]);
  const K = 25;
  const start = await snapshot(page);
  const forward = [start];
  for (let i = 0; i < K; i++) {
    await page.getByRole('button', { name: 'Step forward' }).click();
    forward.push(await snapshot(page));
  }
  assert.equal(forward[K].clock.event, start.clock.event + K);
  assert.notDeepEqual(forward[K].stage, start.stage, 'the steps changed something on the stage');
  for (let i = K - 1; i >= 0; i--) {
    if (i % 2) {
      await page.getByRole('button', { name: 'Step back' }).click();
    } else {
      await page.keyboard.press('ArrowLeft');
    }
    assert.deepEqual(await snapshot(page), forward[i], `after stepping back to event ${forward[i].clock.event}`);
  }
  for (let i = 1; i <= K; i++) {
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await snapshot(page), forward[i], `stepping forward again to event ${forward[i].clock.event}`);
  }
  assert.deepEqual(problems, []);
});

test('a link round trip reproduces the same moment', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a leader');
  const [leader] = await leaders(page);
  const follower = (leader + 2) % 5;
  await clickNode(page, follower);
  await page.getByRole('menuitem', { name: 'Crash', exact: true }).click();
  await page.keyboard.press('c');
  await page.getByRole('button', { name: 'Client request' }).click();
  await clickNode(page, (leader + 1) % 5);
  await page.getByRole('menuitem', { name: '5x', exact: true }).click();

  const before = await clock(page);
  // Faster (the slider is logarithmic: 750 is 1x), so a little wall time is
  // a lot of run.
  await page.getByRole('slider', { name: 'Playback speed' }).fill('750');
  await page.getByRole('button', { name: 'Play' }).click();
  await page.waitForFunction(
    (n) => Number(document.querySelector('.clock-step').textContent.replace('event ', '')) > n,
    before.event + 30,
  );
  await page.getByRole('button', { name: 'Pause' }).click();
  const here = await snapshot(page);
  const rules = await checkers(page);
  await page.waitForFunction((e) => /[#&]t=/.test(location.hash) && /[#&]in=/.test(location.hash), here.clock.event);
  const link = page.url();

  await page.getByRole('button', { name: 'Share…' }).click();
  const shared = await page.locator('textarea#share-link').inputValue();
  assert.equal(shared, link, 'the Share dialog offers the address-bar link');
  assert.match(await page.locator('textarea#share-embed').inputValue(), /^<iframe src="[^"]*#v=1&[^"]*embed=1/);
  await page.getByRole('button', { name: 'Done' }).click();

  const { page: copy, problems: copyProblems } = await open(t, link.split('#')[1]);
  assert.deepEqual(await notices(copy), [], 'the link opens without complaint');
  assert.deepEqual(await clock(copy), here.clock);
  assert.deepEqual(await stage(copy), here.stage);
  assert.equal(await copy.locator('.msg').count(), here.messages);
  assert.deepEqual(await checkers(copy), rules);
  assert.equal(
    await copy.locator('.run-summary').innerText(),
    await page.locator('.run-summary').innerText(),
  );
  // The copy carries on like the original.
  for (const p of [page, copy]) {
    for (let i = 0; i < 20; i++) {
      await p.keyboard.press('ArrowRight');
    }
  }
  assert.deepEqual(await stage(copy), await stage(page));
  assert.deepEqual(problems, []);
  assert.deepEqual(copyProblems, []);
});

test('a link made at the very start of a run reopens at the same event', async (t) => {
  const { page, problems } = await open(t);
  for (const steps of [0, 3]) {
    await goto(page, '');
    for (let i = 0; i < steps; i++) {
      await page.keyboard.press('ArrowRight');
    }
    const here = await clock(page);
    assert.equal(here.event, steps);
    await page.waitForFunction(() => /[#&]h=/.test(location.hash));
    const link = page.url().split('#')[1];
    const { page: copy, problems: copyProblems } = await open(t, link);
    assert.deepEqual(
      { clock: await clock(copy), notices: await notices(copy) },
      { clock: here, notices: [] },
      `the link ${link} made at event ${steps}`,
    );
    await copy.close();
    assert.deepEqual(copyProblems, []);
  }
  assert.deepEqual(problems, []);
});

test('embed mode: only the stage, the timeline and the chosen controls', async (t) => {
  const viewport = { width: 800, height: 560 };
  const { page, problems } = await open(t, 'v=1&p=raft&n=5&seed=1&embed=1&controls=play,step', { viewport });
  assert.equal(await page.locator('header, h1').count(), 0, 'no header');
  assert.equal(await page.locator('aside').count(), 0, 'no side panel');
  const controls = page.getByRole('navigation', { name: 'Run controls' });
  const names = await controls.getByRole('button').evaluateAll((bs) => bs.map((b) => b.getAttribute('aria-label') || b.textContent.trim()));
  assert.deepEqual(names, ['Step back', 'Play', 'Step forward', 'Next round']);
  assert.equal(await page.getByRole('slider', { name: 'Playback speed' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Client request' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Heal all links' }).count(), 0);
  assert.equal(await page.locator('.timeline').count(), 1, 'the timeline is there');

  const fit = await page.evaluate(() => {
    const d = document.documentElement;
    const svg = document.querySelector('section[aria-label="Cluster stage"] svg').getBoundingClientRect();
    return {
      scrollW: d.scrollWidth, clientW: d.clientWidth, scrollH: d.scrollHeight, clientH: d.clientHeight,
      svg: { left: svg.left, top: svg.top, right: svg.right, bottom: svg.bottom, height: svg.height },
    };
  });
  assert.ok(fit.scrollW <= fit.clientW && fit.scrollH <= fit.clientH, `scrollbars: ${JSON.stringify(fit)}`);
  assert.ok(fit.svg.left >= 0 && fit.svg.top >= 0 && fit.svg.right <= 800 && fit.svg.bottom <= 560, JSON.stringify(fit));
  assert.ok(fit.svg.height > 250, `the stage uses the frame: ${JSON.stringify(fit)}`);
  // Every server is inside the frame.
  for (const box of await page.locator(SERVERS).evaluateAll((gs) => gs.map((g) => g.getBoundingClientRect().toJSON()))) {
    assert.ok(box.top >= 0 && box.bottom <= 560 && box.left >= 0 && box.right <= 800, `a node outside the frame: ${JSON.stringify(box)}`);
  }
  const openLink = page.getByRole('link', { name: 'Open in Clusterscope' });
  const href = await openLink.getAttribute('href');
  assert.match(href, /#v=1&p=raft&n=5&seed=1&/);
  assert.doesNotMatch(href, /embed=1/);

  // The chosen controls work.
  const start = await clock(page);
  await page.getByRole('button', { name: 'Step forward' }).click();
  assert.equal((await clock(page)).event, start.event + 1);
  await shot(page, 'embed');

  // autoplay=1: the clock advances with no input at all.
  const { page: auto, problems: autoProblems } = await open(t, 'v=1&p=raft&n=5&seed=1&speed=1&embed=1&autoplay=1', { viewport });
  await auto.waitForFunction(() => Number(document.querySelector('.clock-step').textContent.replace('event ', '')) > 30);
  assert.equal(await auto.getByRole('button', { name: 'Pause' }).count(), 1, 'it is playing');
  assert.equal(await auto.getByRole('button', { name: 'Client request' }).count(), 1, 'no controls= shows all controls');
  assert.deepEqual(problems, []);
  assert.deepEqual(autoProblems, []);
});

test('a bad link says what is wrong and starts the default run', async (t) => {
  const cases = [
    ['v=1&p=raft&n=5&seed=1&colour=red', /has a setting "colour" that this version does not know/],
    ['v=2&p=raft&n=5&seed=1', /format version 2, but this version of Clusterscope reads format 1/],
    ['v=1&p=raft&n=0&seed=1', /cluster size \(n\) in the link is 0, but a cluster has 3 to 25 servers/],
    ['v=1&p=raft&n=5&seed=-1', /seed in the link is -1, but it cannot be negative/],
    ['v=1&p=raft&n=5&seed=1&drop=1.5', /drop rate \(drop\) in the link is 1\.5, but a probability is between 0 and 1/],
    ['v=1&p=raft&n=5&seed=1&tog=%zz', /broken %-escape in "%zz"/],
    ['v=1&p=raft&n=5&seed=1&in=10.0.crash.1~5.0.crash.2', /Input 2 in the link's input log .* comes before the input ahead of it/],
    ['v=1&p=raft&n=5&seed=1&in=3.0.crash.99', /could not be opened: .*there is no node n99/],
  ];
  const { page, problems } = await open(t);
  for (const [fragment, phrase] of cases) {
    await goto(page, fragment);
    const alert = page.locator('.notice[role=alert]');
    await alert.waitFor();
    const text = await alert.locator('.notice-text').innerText();
    assert.match(text, phrase, `for #${fragment}`);
    assert.match(text, /^This link could not be (read|opened): .*Showing the default run instead\.$/, `for #${fragment}`);
    assert.equal(await page.locator(SERVERS).count(), 5, `the default run for #${fragment}`);
    assert.equal(await page.locator('.run-summary').innerText(), 'Raft · 5 servers · seed 1');
    assert.equal((await clock(page)).event, 0);
  }
  await shot(page, 'bad-link');
  assert.deepEqual(problems, []);
});

test('a link a day into its run opens in slices, with progress and Cancel, and keeps the run', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a leader');
  const kept = { clock: await clock(page), stage: await stage(page) };
  const before = await page.evaluate(() => location.hash);

  // The latest moment a link may name: a day of replay, never a frozen tab.
  await page.evaluate(() => {
    location.hash = 'v=1&p=raft&n=5&seed=1&t=86400000';
  });
  const progress = page.locator('.notice-opening');
  await progress.waitFor({ timeout: 5_000 });
  assert.match(await progress.innerText(), /^Opening the link: replaying its run, \d+ %/);
  await shot(page, 'opening-progress');
  // The page answers while it replays: a tab switch renders at once.
  const asked = Date.now();
  await page.getByRole('tab', { name: 'Events' }).click();
  await page.getByRole('tab', { name: 'Events', selected: true }).waitFor({ timeout: 1_000 });
  assert.ok(Date.now() - asked < 1_000, `the tab answered in ${Date.now() - asked} ms`);
  await progress.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('.notice[role=status]').filter({ hasText: 'Stopped opening the link; the current run is kept.' }).waitFor();
  assert.equal(await progress.count(), 0);
  assert.deepEqual({ clock: await clock(page), stage: await stage(page) }, kept);
  await page.waitForFunction((b) => location.hash === b, before);

  // `s` is held to the same day as `t`: past it, an error, and the run kept
  // (never the notice about a link from another version).
  await page.evaluate(() => {
    location.hash = 'v=1&p=raft&n=3&seed=1&t=1000&s=99999999&h=0123456789abcdef';
  });
  const alert = page.locator('.notice[role=alert]');
  await alert.waitFor({ timeout: 120_000 });
  assert.match(
    await alert.innerText(),
    /^This link could not be opened: event 99999999 \(s=99999999\) lies more than a day of virtual time into this run .* The current run is kept\./,
  );
  assert.deepEqual({ clock: await clock(page), stage: await stage(page) }, kept);

  // A moment whose time and event count disagree is an error at once.
  await page.evaluate(() => {
    location.hash = 'v=1&p=raft&n=3&seed=1&t=1&s=600';
  });
  await alert.filter({ hasText: 'its moment contradicts itself: event 600 (s=600) happens at' }).waitFor();
  assert.deepEqual({ clock: await clock(page), stage: await stage(page) }, kept);
  assert.deepEqual(problems, []);
});

test('a page opened at a link a day into its run paints at once and replays behind a progress bar', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=raft&n=3&seed=4&t=86400000');
  // The first paint shows the default run while the link replays.
  const progress = page.locator('.notice-opening');
  await progress.waitFor({ timeout: 5_000 });
  assert.equal(await progress.getByRole('progressbar', { name: 'Replaying the link\'s run' }).count(), 1);
  await progress.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('.notice[role=status]').filter({ hasText: 'Stopped opening the link' }).waitFor();
  assert.equal(await page.locator('.run-summary').innerText(), 'Raft · 5 servers · seed 1');
  assert.deepEqual(problems, []);
});

test('a bad link pasted into an open page keeps the run and says why', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a leader');
  await page.keyboard.press('c');
  await clickNode(page, (await leaders(page))[0]);
  await page.getByRole('menuitem', { name: 'Crash', exact: true }).click();
  await page.keyboard.press('ArrowRight');
  const kept = { clock: await clock(page), stage: await stage(page) };

  await page.evaluate(() => {
    location.hash = 'v=1&p=raft&n=0&seed=1';
  });
  const alert = page.locator('.notice[role=alert]');
  await alert.waitFor();
  assert.match(
    await alert.innerText(),
    /This link could not be read: The cluster size \(n\) in the link is 0.*The current run is kept\./,
  );
  assert.deepEqual({ clock: await clock(page), stage: await stage(page) }, kept);

  // A good link pasted the same way opens.
  await page.evaluate(() => {
    location.hash = 'v=1&p=raft&n=3&seed=2';
  });
  await page.waitForFunction(() => document.querySelectorAll('g.node.kind-server').length === 3);
  assert.equal(await page.locator('.run-summary').innerText(), 'Raft · 3 servers · seed 2');
  assert.deepEqual(problems, []);
});

test('bad settings show an error next to the field and keep the run', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a leader');
  const kept = { clock: await clock(page), stage: await stage(page) };
  await page.getByRole('tab', { name: 'Settings' }).click();
  const form = page.getByRole('form', { name: 'Settings for a new run' });
  const field = (id) => form.locator(`#setting-${id}`);
  const cases = [
    [{ servers: '0' }, 'servers', 'A cluster has 3 to 25 servers, not 0.'],
    [{ servers: '99' }, 'servers', 'A cluster has 3 to 25 servers, not 99.'],
    [{ servers: 'abc' }, 'servers', 'Type a whole number from 3 to 25.'],
    [{ seed: '-1' }, 'seed', 'A seed cannot be negative.'],
    [{ lat_min: '50', lat_max: '20' }, 'lat_max', 'The longest latency must not be below the shortest.'],
    [{ drop: '150' }, 'drop', 'Type a percentage from 0 to 100.'],
  ];
  const original = {};
  for (const id of ['servers', 'seed', 'lat_min', 'lat_max', 'drop']) {
    original[id] = await field(id).inputValue();
  }
  for (const [typed, bad, message] of cases) {
    for (const [id, value] of Object.entries(typed)) {
      await field(id).fill(value);
    }
    await form.getByRole('button', { name: 'Start new run' }).click();
    const error = form.locator(`#setting-${bad}-error`);
    await error.filter({ hasText: message }).waitFor();
    assert.equal(await field(bad).getAttribute('aria-invalid'), 'true');
    // Only the bad field complains.
    const errors = await form.locator('.field-error').evaluateAll((es) => es.map((e) => e.textContent).filter(Boolean));
    assert.deepEqual(errors, [message], `for ${JSON.stringify(typed)}`);
    assert.deepEqual({ clock: await clock(page), stage: await stage(page) }, kept, `the run is kept for ${JSON.stringify(typed)}`);
    assert.equal(await page.locator('.run-summary').innerText(), 'Raft · 5 servers · seed 1');
    await shot(page, `settings-${bad}-${Object.values(typed).join('-')}`);
    for (const id of Object.keys(typed)) {
      await field(id).fill(original[id]);
    }
  }
  // Good values do start a new run.
  await field('servers').fill('3');
  await field('seed').fill('7');
  await form.getByRole('button', { name: 'Start new run' }).click();
  await page.waitForFunction(() => document.querySelectorAll('g.node.kind-server').length === 3);
  assert.equal(await page.locator('.run-summary').innerText(), 'Raft · 3 servers · seed 7');
  assert.equal((await clock(page)).event, 0);
  assert.equal(await form.locator('.field.invalid').count(), 0);
  assert.deepEqual(problems, []);
});

/**
 * Interactive elements of the accessibility tree (as Chromium computes it)
 * that have no accessible name, as HTML snippets.
 */
async function unnamedControls(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const roles = new Set([
      'button', 'checkbox', 'radio', 'textbox', 'slider', 'combobox', 'menuitem', 'tab', 'link',
      'spinbutton', 'listbox', 'searchbox', 'switch', 'menuitemcheckbox', 'menuitemradio', 'option',
    ]);
    const unnamed = nodes.filter((n) => !n.ignored && roles.has(n.role?.value) && !String(n.name?.value ?? '').trim());
    const out = [];
    for (const n of unnamed) {
      const { object } = await cdp.send('DOM.resolveNode', { backendNodeId: n.backendDOMNodeId });
      const { result } = await cdp.send('Runtime.callFunctionOn', {
        objectId: object.objectId,
        functionDeclaration: 'function () { return this.outerHTML.slice(0, 200); }',
        returnByValue: true,
      });
      out.push(`${n.role.value}: ${result.value}`);
    }
    return { count: nodes.filter((n) => !n.ignored && roles.has(n.role?.value)).length, unnamed: out };
  } finally {
    await cdp.detach();
  }
}

test('every control has an accessible name, in every panel, menu and dialog', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a leader');
  const states = {
    'main page': async () => inspect(page, 0),
    'node menu': async () => clickNode(page, 0),
    'client menu': async () => clickNode(page, 5),
    'link menu': async () => {
      await page.keyboard.press('Escape');
      await page.locator('line.link').first().click({ force: true });
      await page.getByRole('menu').waitFor();
    },
    events: async () => {
      await page.keyboard.press('Escape');
      await page.getByRole('tab', { name: 'Events' }).click();
    },
    checkers: async () => page.getByRole('tab', { name: /Checkers/ }).click(),
    settings: async () => page.getByRole('tab', { name: 'Settings' }).click(),
    'partition dialog': async () => page.getByRole('button', { name: 'Partition…' }).click(),
    'share dialog': async () => {
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Share…' }).click();
    },
  };
  for (const [name, reach] of Object.entries(states)) {
    await reach();
    const { count, unnamed } = await unnamedControls(page);
    assert.ok(count > 5, `${name}: found only ${count} controls`);
    assert.deepEqual(unnamed, [], `${name}: controls without an accessible name`);
  }
  assert.deepEqual(problems, []);
});

test('? lists every shortcut, and each one works', async (t) => {
  const { page, problems } = await open(t);
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  const keys = await help.locator('kbd').allInnerTexts();
  for (const k of ['Space', '→', '←', 'n', 'c', 'p', '?', 'Esc', 'Enter']) {
    assert.ok(keys.includes(k), `the help lists ${k}: ${keys}`);
  }
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });

  await page.keyboard.press('ArrowRight');
  assert.equal((await clock(page)).event, 1, '→ steps');
  await page.keyboard.press('ArrowLeft');
  assert.equal((await clock(page)).event, 0, '← steps back');
  await page.keyboard.press('n');
  assert.ok((await clock(page)).event > 1, 'n runs a round');
  const e = (await clock(page)).event;
  await page.keyboard.press('c');
  assert.ok((await clock(page)).event > e, 'c sends a request (an input is an event)');
  await page.keyboard.press(' ');
  await page.getByRole('button', { name: 'Pause' }).waitFor();
  await page.keyboard.press(' ');
  await page.getByRole('button', { name: 'Play' }).waitFor();
  await page.keyboard.press('p');
  await page.getByRole('dialog', { name: 'Partition the network' }).waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog', { name: 'Partition the network' }).waitFor({ state: 'detached' });
  assert.deepEqual(problems, []);
});

test('keyboard only: Tab to a node, Enter opens its menu, crash it', async (t) => {
  const { page, problems } = await open(t);
  const focusedNode = () => page.evaluate(() => document.activeElement?.closest('g.node')?.dataset.node ?? null);
  await pressUntil(page, 'Tab', async () => (await focusedNode()) !== null, 15, 'a node taking focus');
  const node = Number(await focusedNode());
  await page.keyboard.press('Enter');
  const menu = page.getByRole('menu');
  await menu.waitFor();
  assert.equal(await menu.locator('.menu-title').innerText(), `n${node + 1}`);
  // Reach Crash with Tab alone (wherever focus went), then press Enter.
  await pressUntil(
    page,
    'Tab',
    () => page.evaluate(() => document.activeElement?.getAttribute('role') === 'menuitem' && document.activeElement.textContent === 'Crash'),
    80,
    'focus reaching Crash',
  );
  await page.keyboard.press('Enter');
  await menu.waitFor({ state: 'detached' });
  const s = await stage(page);
  assert.equal(s[node].health, 'crashed');
  assert.equal(s.filter((n) => n.health === 'crashed').length, 1);
  assert.deepEqual(problems, []);
});

test('a menu opened from the keyboard takes the focus (WAI-ARIA menu pattern)', async (t) => {
  const { page, problems } = await open(t);
  const focusedNode = () => page.evaluate(() => document.activeElement?.closest('g.node')?.dataset.node ?? null);
  await pressUntil(page, 'Tab', async () => (await focusedNode()) !== null, 15, 'a node taking focus');
  await page.keyboard.press('Enter');
  await page.getByRole('menu').waitFor();
  assert.ok(
    await page.evaluate(() => !!document.activeElement?.closest('[role=menu]')),
    `focus stayed on ${await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))}: a keyboard user must Tab through the rest of the page to reach the menu`,
  );
  assert.deepEqual(problems, []);
});

test("a teaching toggle's scenario turns its rule red", async (t) => {
  const { page, problems } = await open(t);
  await page.getByRole('tab', { name: 'Settings' }).click();
  const toggle = page.locator('[data-toggle="volatile-term-and-vote"]');
  await toggle.getByRole('button', { name: 'Load its scenario' }).click();
  await page.getByRole('status').filter({ hasText: 'Scenario for the toggle volatile-term-and-vote' }).waitFor();
  // (Not asserted: the Checkers panel already shows R6 broken at the
  // scenario's start, because it lists the violations up to the horizon;
  // see the report.)

  await pressUntil(page, 'n', async () => (await page.locator('.notice[role=alert]').count()) > 0, 20, 'a violation');
  const [alert] = (await notices(page)).filter((n) => n.role === 'alert');
  assert.match(alert.text, /^R6 broke at [\d.]+ ms: n\d's term went back from \d+ to \d+$/);
  const rules = await checkers(page);
  assert.equal(rules.R6, 'broken');
  assert.deepEqual(Object.entries(rules).filter(([, s]) => s === 'broken').map(([r]) => r), ['R6']);
  assert.equal(await page.locator('li.rule.broken .rule-status').innerText(), 'BROKEN');
  assert.ok((await page.locator('g.node.highlighted').count()) > 0, 'the nodes involved are highlighted');
  assert.equal(await page.getByRole('button', { name: 'Play' }).count(), 1, 'the run paused');
  await shot(page, 'violation', path.join(DOCS, 'violation.png'));
  assert.deepEqual(problems, []);
});

test('after refusing a pasted link, the address bar again holds the kept run', async (t) => {
  const { page, problems } = await open(t);
  await pressUntil(page, 'n', async () => (await leaders(page)).length === 1, 10, 'a leader');
  await page.keyboard.press('c');
  await page.waitForFunction(() => /[#&]in=/.test(location.hash));
  const kept = page.url();
  await page.evaluate(() => {
    location.hash = 'v=1&p=raft&n=0&seed=1';
  });
  await page.locator('.notice[role=alert]').waitFor();
  // Otherwise a reload (or a bookmark) silently loses the run that was kept.
  await page.waitForFunction((k) => location.href === k, kept, { timeout: 2_000 }).catch(() => {});
  assert.equal(page.url(), kept, 'the address bar still shows the refused link');
  assert.deepEqual(problems, []);
});

test('the Checkers panel shows the status at the moment shown, not later', async (t) => {
  const { page, problems } = await open(t);
  await page.getByRole('tab', { name: 'Settings' }).click();
  await page.locator('[data-toggle="volatile-term-and-vote"]').getByRole('button', { name: 'Load its scenario' }).click();
  await page.getByRole('status').filter({ hasText: 'Scenario for the toggle' }).waitFor();
  await pressUntil(page, 'n', async () => (await page.locator('.notice[role=alert]').count()) > 0, 20, 'a violation');
  const broke = await clock(page);
  assert.equal((await checkers(page)).R6, 'broken');
  // Back before the moment R6 broke: it held then.
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('ArrowLeft');
  }
  const earlier = await clock(page);
  assert.equal(earlier.event, broke.event - 5);
  assert.equal(
    (await checkers(page)).R6,
    'holds',
    `at ${earlier.time} (event ${earlier.event}) the panel says R6 is broken, though it broke only at ${broke.time}`,
  );
  assert.deepEqual(problems, []);
});

test('embed mode: the stage fills the frame above the timeline', async (t) => {
  const { page, problems } = await open(t, 'v=1&p=raft&n=5&seed=1&embed=1&controls=play,step', {
    viewport: { width: 800, height: 560 },
  });
  const box = await page.evaluate(() => {
    const r = (s) => document.querySelector(s).getBoundingClientRect().toJSON();
    return { stage: r('section[aria-label="Cluster stage"]'), timeline: r('.timeline') };
  });
  const gap = box.timeline.top - box.stage.bottom;
  assert.ok(
    gap < 24,
    `${Math.round(gap)} px of blank frame between the stage (${Math.round(box.stage.height)} px tall) and the timeline: ${JSON.stringify(box)}`,
  );
  assert.deepEqual(problems, []);
});

test('a settings error is in view after pressing Start new run', async (t) => {
  const { page, problems } = await open(t);
  await page.getByRole('tab', { name: 'Settings' }).click();
  const form = page.getByRole('form', { name: 'Settings for a new run' });
  await form.locator('#setting-servers').fill('0');
  // Scrolls down to the button, at the end of a long form, as a person must.
  await form.getByRole('button', { name: 'Start new run' }).click();
  const error = form.locator('#setting-servers-error');
  await error.filter({ hasText: 'A cluster has 3 to 25 servers, not 0.' }).waitFor();
  const seen = await error.evaluate((el) => {
    const r = el.getBoundingClientRect();
    let box = { top: 0, bottom: innerHeight };
    for (let p = el.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowY;
      if (o === 'auto' || o === 'scroll') {
        const pr = p.getBoundingClientRect();
        box = { top: Math.max(box.top, pr.top), bottom: Math.min(box.bottom, pr.bottom) };
      }
    }
    return { error: { top: r.top, bottom: r.bottom }, visible: box };
  });
  assert.ok(
    seen.error.top >= seen.visible.top && seen.error.bottom <= seen.visible.bottom,
    `the error is scrolled out of sight (nothing visible changes for the person): ${JSON.stringify(seen)}`,
  );
  assert.deepEqual(problems, []);
});

test('messages glide while playing, stop with the run, and a click drops one in flight', async (t) => {
  // Slow (1/200 of real time), so a message moves about a pixel a frame.
  const { page, problems } = await open(t, 'v=1&p=raft&n=5&seed=1&t=3000&speed=0.005');
  const centre = async (el) => {
    const b = await el.boundingBox();
    return b && { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  };
  const moved = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);
  await page.getByRole('button', { name: 'Play' }).click();
  // A message in flight: the same element seen at two moments 300 ms apart.
  const inFlight = async () => {
    for (let i = 0; i < 40; i++) {
      const msgs = await page.locator('.msg:not(.lost)').elementHandles();
      const a = await Promise.all(msgs.map(centre));
      await page.waitForTimeout(300);
      const b = await Promise.all(msgs.map(centre));
      const found = msgs.find((_, k) => a[k] && b[k] && moved(a[k], b[k]) > 2);
      if (found) return found;
    }
    return null;
  };
  assert.ok(await inFlight(), 'a message moved across the stage while playing');
  // The countdown rings drain while playing: a half ring turns back
  // (counter-clockwise) over its half of the timer; a timer set again
  // turns it forward to the start instead.
  const angles = () =>
    page.evaluate(() =>
      [...document.querySelectorAll('.ring-arc')].map((el) => {
        const m = new DOMMatrix(getComputedStyle(el).transform);
        return (Math.atan2(m.b, m.a) * 180) / Math.PI;
      }),
    );
  const drains = async () => {
    for (let i = 0; i < 10; i++) {
      const before = await angles();
      await page.waitForTimeout(300);
      const after = await angles();
      if (after.some((x, k) => before[k] !== undefined && x < before[k] - 0.5)) return true;
    }
    return false;
  };
  assert.ok(await drains(), 'a countdown ring drains while playing');
  // Clicked where it is drawn, mid-flight, a message is dropped: the drop
  // is in the input log, and it falls away marked lost. (One may arrive
  // between being seen and being clicked, so up to three are tried.)
  let id = null;
  for (let attempt = 0; attempt < 3 && !id; attempt++) {
    const msg = await inFlight();
    assert.ok(msg, 'a message in flight to click');
    const candidate = (await msg.$eval('title', (el) => el.textContent)).split(' ')[1];
    const at = await centre(msg);
    await page.mouse.click(at.x, at.y);
    const logged = await page
      .getByText(`drop message ${candidate}`)
      .first()
      .waitFor({ state: 'attached', timeout: 2000 })
      .then(
        () => true,
        () => false,
      );
    if (logged) id = candidate;
  }
  assert.ok(id, 'a click on a gliding message drops it');
  // Pausing stops the run where the page shows it: no message jumps back
  // along its path (up to 100 ms of it, if the run stopped at its last
  // wake). Three times, as a pause may come just after a wake.
  for (let round = 0; round < 3; round++) {
    if (round > 0) {
      await page.getByRole('button', { name: 'Play' }).click();
      await page.waitForTimeout(250);
    }
    const gliding = await page.locator('.msg:not(.lost)').elementHandles();
    const p0 = await Promise.all(gliding.map(centre));
    await page.waitForTimeout(150 + 37 * round);
    const p1 = await Promise.all(gliding.map(centre));
    await page.getByRole('button', { name: 'Pause' }).click();
    const p2 = await Promise.all(gliding.map(centre));
    gliding.forEach((_, k) => {
      if (!p0[k] || !p1[k] || !p2[k] || moved(p0[k], p1[k]) < 2) return;
      const along = ((p2[k].x - p1[k].x) * (p1[k].x - p0[k].x) + (p2[k].y - p1[k].y) * (p1[k].y - p0[k].y)) / moved(p0[k], p1[k]);
      assert.ok(along > -2, `a message went back ${(-along).toFixed(1)} px along its path when paused`);
    });
  }
  const dropped = page.locator('.msg', { has: page.locator('title', { hasText: ` ${id} from ` }) });
  await page.waitForFunction(
    (id) => [...document.querySelectorAll('.msg')].every((m) => !m.querySelector('title').textContent.includes(` ${id} from `) || m.classList.contains('lost')),
    id,
  );
  if ((await dropped.count()) > 0) {
    assert.match(await dropped.first().locator('title').textContent(), /dropped|lost/i);
  }
  // Paused, nothing moves.
  const still = await page.locator('.msg').elementHandles();
  const first = await Promise.all(still.map(centre));
  const rings = await angles();
  await page.waitForTimeout(400);
  const second = await Promise.all(still.map(centre));
  first.forEach((a, i) => assert.ok(!a || !second[i] || moved(a, second[i]) < 0.5, 'paused, messages stand still'));
  assert.deepEqual(await angles(), rings, 'paused, the rings stand still');
  assert.deepEqual(problems, []);
});
