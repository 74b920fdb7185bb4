// Loads the bare wasm probe (crates/wasm-probe) in Node and runs it.
//
//   node probe.mjs PROBE.wasm bench STEPS      -> {"steps":..,"ms":..,"hash":".."}
//   node probe.mjs PROBE.wasm hash NODES SEED.. -> one line per seed: "SEED HASH"
//
// Times are taken with performance.now() around the call, in JavaScript.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const [file, mode, ...rest] = process.argv.slice(2);
if (!file || !["bench", "hash"].includes(mode)) {
  console.error("usage: node probe.mjs PROBE.wasm (bench STEPS | hash NODES SEED...)");
  process.exit(2);
}
const { instance } = await WebAssembly.instantiate(readFileSync(file), {});
const probe = instance.exports;
const hex = (x) => BigInt.asUintN(64, x).toString(16).padStart(16, "0");

if (mode === "bench") {
  const steps = BigInt(rest[0]);
  // A short warm-up, so the JIT tiers up before the timed run.
  probe.bench_engine(20000n);
  const start = performance.now();
  const hash = probe.bench_engine(steps);
  const ms = performance.now() - start;
  console.log(JSON.stringify({ steps: Number(steps), ms, hash: hex(hash) }));
} else {
  const nodes = Number(rest[0]);
  for (const seed of rest.slice(1)) {
    console.log(`${seed} ${hex(probe.sweep_hash(BigInt(seed), nodes))}`);
  }
}
