// Profiling aid for the browser bench (not part of `cargo xtask bench`):
// records a devtools timeline trace while the release build in dist/ plays
// and prints the renderer main thread's self time by trace event name.
//
//   node tests/bench/trace.mjs [FRAGMENT] [SECONDS] [CSS] [--paused] [--threads]
//
// FRAGMENT is a share link's fragment (`#v=1&p=raft&n=9...`); CSS is
// injected before playing (to hide a part of the page and see its cost);
// --threads prints each thread's total task time too.
import { launchBrowser, serveDist } from '../e2e/harness.mjs';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hash = process.argv[2] ?? '';
const seconds = Number(process.argv[3] ?? 5);
const css = process.argv[4] ?? '';
const server = await serveDist();
const browser = await launchBrowser();
const page = await browser.context.newPage();
await page.goto(`${server.url}${hash}`);
await page.locator('.stage-svg .node').first().waitFor();
if (css) await page.addStyleTag({ content: css });
if (!process.argv.includes('--paused')) {
  await page.getByRole('button', { name: 'Play' }).click();
}
await sleep(1500);
const cdp = await browser.context.newCDPSession(page);
const events = [];
cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline,v8.execute,blink', transferMode: 'ReportEvents' });
await sleep(seconds * 1000);
await cdp.send('Tracing.end');
await done;
// The renderer main thread: the thread with CrRendererMain name.
const mains = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
const complete = events.filter((e) => e.ph === 'X' && mains.has(`${e.pid}:${e.tid}`) && e.dur !== undefined).sort((a, b) => a.ts - b.ts || b.dur - a.dur);
// Self time by name.
const self = new Map();
const stack = [];
let top = 0;
for (const e of complete) {
  while (stack.length && stack[stack.length - 1].ts + stack[stack.length - 1].dur <= e.ts) stack.pop();
  const parent = stack[stack.length - 1];
  if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - e.dur);
  else if (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') top += e.dur;
  self.set(e.name, (self.get(e.name) ?? 0) + e.dur);
  stack.push(e);
}
const names = new Map(events.filter((e) => e.name === 'thread_name').map((e) => [`${e.pid}:${e.tid}`, e.args.name]));
const perThread = new Map();
for (const e of events.filter((e) => e.ph === 'X' && e.dur)) { const k = names.get(`${e.pid}:${e.tid}`) ?? `${e.pid}:${e.tid}`; if (['RunTask', 'ThreadControllerImpl::RunTask', 'TaskGraphRunner::RunTask'].includes(e.name)) perThread.set(k, (perThread.get(k) ?? 0) + e.dur); }
if (process.argv.includes('--threads')) for (const [k, v] of perThread) console.log(`thread ${k}: ${(v / 1000 / seconds).toFixed(1)} ms/s`);
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
console.log(`trace ${seconds} s: top-level tasks ${(top / 1000).toFixed(0)} ms = ${(top / 10 / seconds / 1000).toFixed(1)} % of wall`);
const count = new Map();
for (const e of complete) count.set(e.name, (count.get(e.name) ?? 0) + 1);
for (const [name, us] of rows) console.log(`${(us / 1000 / seconds).toFixed(2).padStart(8)} ms/s ${((count.get(name) ?? 0) / seconds).toFixed(0).padStart(5)}/s  ${name}`);
await browser.close();
await server.close();
