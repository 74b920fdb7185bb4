// Profiling aid for the browser bench (not part of `cargo xtask bench`):
// main-thread busy share (CDP Performance.getMetrics) while the release
// build in dist/ plays, once per variant, each variant a stylesheet injected
// before playing, so hiding a part of the page shows what it costs.
//
//   node tests/bench/attrib.mjs [FRAGMENT] '{"base": "", "no clock": ".clock-time{display:none}"}'
//
// A variant whose name contains "away" moves the mouse off the controls.
import { readFileSync, readdirSync } from 'node:fs';
import { launchBrowser, serveDist } from '../e2e/harness.mjs';

/** CPU seconds charged to the main threads of our Chromium's renderers. */
function mainThreadCpu() {
  const parent = new Map();
  const renderers = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) renderers.push(Number(pid));
    } catch {
      // Gone.
    }
  }
  let ticks = 0;
  for (const pid of renderers) {
    let ours = false;
    for (let p = pid, hops = 0; p > 1 && hops < 10; p = parent.get(p), hops += 1) if (p === process.pid) ours = true;
    if (!ours) continue;
    try {
      const f = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // Gone.
    }
  }
  return ticks / 100;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const hash = process.argv[2] ?? '';
const variants = JSON.parse(process.argv[3] ?? '{"base": ""}');
const server = await serveDist();
const browser = await launchBrowser();
async function busy(css, mouseAway) {
  const page = await browser.context.newPage();
  await page.goto(`${server.url}${hash}`);
  await page.locator('.stage-svg .node').first().waitFor();
  if (css) await page.addStyleTag({ content: css });
  await page.getByRole('button', { name: 'Play' }).click();
  if (mouseAway) await page.mouse.move(1, 1);
  await sleep(1500);
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const m = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
  const a = await m();
  const c0 = mainThreadCpu();
  const t0 = performance.now();
  await sleep(8000);
  const b = await m();
  const c1 = mainThreadCpu();
  const wall = (performance.now() - t0) / 1000;
  await page.close();
  const f = (k) => (((b[k] - a[k]) / wall) * 100).toFixed(1);
  return `busy ${f('TaskDuration')} % cpu ${(((c1 - c0) / wall) * 100).toFixed(1)} % script ${f('ScriptDuration')} % layout ${f('LayoutDuration')} % style ${f('RecalcStyleDuration')} % layouts/s ${((b.LayoutCount - a.LayoutCount) / wall).toFixed(0)} styles/s ${((b.RecalcStyleCount - a.RecalcStyleCount) / wall).toFixed(0)}`;
}
for (const [name, css] of Object.entries(variants)) {
  console.log(name.padEnd(14), await busy(css, name.includes('away')));
}
await browser.close();
await server.close();
