//! Deterministic randomness. One master seed; every subsystem derives its own
//! stream from it (as TigerBeetle's VOPR does), so that a new draw in one
//! subsystem never shifts the numbers another one sees.
//!
//! Sampling is done here by hand on `u64`s rather than with `rand`'s
//! distributions, so that the numbers are the same on 64-bit native targets
//! and on 32-bit wasm: nothing here depends on `usize` or on floating point.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::time::{Duration, Ppm};

/// The subsystems that draw random numbers, each from its own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Message latency, drops, duplicates and reordering.
    Network = 1,
    /// The concrete value of each timer picked from the node's range.
    Timers = 2,
    /// The fault and load generator of seed sweeps.
    Faults = 3,
    /// Client workload generation.
    Workload = 4,
    /// The protocol options a seed of a sweep runs with.
    Options = 5,
}

/// A deterministic random stream (ChaCha8, portable across platforms).
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The stream `stream` of the run seeded with `seed`.
    pub fn new(seed: u64, stream: Stream) -> SimRng {
        SimRng {
            inner: ChaCha8Rng::seed_from_u64(splitmix64(seed ^ splitmix64(stream as u64))),
        }
    }

    /// A stream for an arbitrary purpose, derived from a seed and a label.
    pub fn derived(seed: u64, label: u64) -> SimRng {
        SimRng {
            inner: ChaCha8Rng::seed_from_u64(splitmix64(
                seed ^ splitmix64(label.wrapping_add(0x9e37)),
            )),
        }
    }

    /// 64 uniformly random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in `lo..=hi` (`hi < lo` is treated as `lo`). Lemire's
    /// multiply-shift: portable, and without the bias of `%`.
    pub fn range_u64(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        if span == u64::MAX {
            return self.next_u64();
        }
        let x = self.next_u64() as u128 * (span as u128 + 1);
        lo + (x >> 64) as u64
    }

    /// Uniform duration in `lo..=hi`.
    pub fn duration(&mut self, lo: Duration, hi: Duration) -> Duration {
        Duration(self.range_u64(lo.0, hi.0))
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: Ppm) -> bool {
        if p.0 == 0 {
            return false;
        }
        self.range_u64(0, 999_999) < u64::from(p.0)
    }

    /// A duration with an exponential-like tail of the given mean, in integer
    /// arithmetic: a geometric number of halvings plus a uniform fraction.
    /// Its mean is `mean`, and long delays are rare but unbounded in shape
    /// (capped at 64 means).
    pub fn exponential(&mut self, mean: Duration) -> Duration {
        // k ~ Geometric(1/2) on {0, 1, ...} has mean 1; adding a uniform
        // fraction in [0, 1) gives mean 1.5. Scale so the mean is `mean`.
        let k = u64::from(self.next_u64().leading_zeros()).min(63);
        let frac = self.range_u64(0, 999);
        let units = k * 1_000 + frac; // mean 1500
        Duration(((mean.0 as u128 * units as u128) / 1_500) as u64)
    }

    /// Picks one index in `0..len` uniformly. `len` must be non-zero.
    pub fn index(&mut self, len: usize) -> usize {
        assert!(len > 0, "index into an empty collection");
        self.range_u64(0, len as u64 - 1) as usize
    }
}

/// SplitMix64's finaliser: a fast, well-mixed bijection on `u64`, used to
/// derive sub-seeds.
pub const fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let mut a = SimRng::new(7, Stream::Network);
        let mut b = SimRng::new(7, Stream::Network);
        let mut c = SimRng::new(7, Stream::Timers);
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..8).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn range_stays_inside_and_covers_both_ends() {
        let mut r = SimRng::new(1, Stream::Workload);
        let mut seen = [false; 4];
        for _ in 0..1_000 {
            let x = r.range_u64(10, 13);
            assert!((10..=13).contains(&x));
            seen[(x - 10) as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
        assert_eq!(r.range_u64(5, 5), 5);
        assert_eq!(r.range_u64(5, 2), 5);
    }

    #[test]
    fn chance_matches_its_probability_roughly() {
        let mut r = SimRng::new(3, Stream::Network);
        let hits = (0..100_000).filter(|_| r.chance(Ppm::percent(30))).count();
        assert!((28_000..32_000).contains(&hits), "{hits}");
        assert!(!(0..1000).any(|_| r.chance(Ppm::NEVER)));
        assert!((0..1000).all(|_| r.chance(Ppm::ALWAYS)));
    }

    #[test]
    fn exponential_has_the_requested_mean() {
        let mut r = SimRng::new(4, Stream::Network);
        let n = 200_000u64;
        let total: u64 = (0..n).map(|_| r.exponential(Duration(10_000)).0).sum();
        let mean = total / n;
        assert!((9_500..10_500).contains(&mean), "{mean}");
    }
}
