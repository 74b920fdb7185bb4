//! A small protocol for testing the engine itself, and for exercising seed
//! sweeps and benchmarks before the real protocols land. Compiled only for
//! tests and with the `testkit` feature; the app never ships it.

pub mod broadcast;
