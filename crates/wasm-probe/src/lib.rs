//! The engine as a bare WebAssembly module: plain `extern "C"` exports and no
//! wasm-bindgen, so `probe.mjs` can load it with `WebAssembly.instantiate` in
//! Node. It runs exactly the code the native lab runs ([`lab::workload`]).
//!
//! 64-bit arguments and results arrive in JavaScript as `BigInt`s.

/// Takes `steps` steps of the 5-node benchmark world; returns its trace hash
/// (so the native and wasm runs can be compared, and the work cannot be
/// optimised away).
#[no_mangle]
pub extern "C" fn bench_engine(steps: u64) -> u64 {
    lab::workload::run_engine(steps).1
}

/// The trace hash of sweep seed `seed` of broadcast with `servers` servers.
#[no_mangle]
pub extern "C" fn sweep_hash(seed: u64, servers: u32) -> u64 {
    lab::workload::sweep_hash(seed, servers as usize)
}
