//! Virtual time: integer microseconds, never floats and never the wall clock.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in virtual time, in microseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

/// A span of virtual time, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u64);

impl Time {
    /// The start of every run.
    pub const ZERO: Time = Time(0);
    /// Later than any event a run can schedule.
    pub const MAX: Time = Time(u64::MAX);

    /// Microseconds since the start of the run.
    pub const fn as_us(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the start of the run, rounded down.
    pub const fn as_ms(self) -> u64 {
        self.0 / 1_000
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_since(self, earlier: Time) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// A span of `us` microseconds.
    pub const fn from_us(us: u64) -> Duration {
        Duration(us)
    }

    /// A span of `ms` milliseconds.
    pub const fn from_ms(ms: u64) -> Duration {
        Duration(ms * 1_000)
    }

    /// A span of `s` seconds.
    pub const fn from_secs(s: u64) -> Duration {
        Duration(s * 1_000_000)
    }

    /// The span in microseconds.
    pub const fn as_us(self) -> u64 {
        self.0
    }

    /// The span scaled by `num / den` in integer arithmetic, saturating.
    /// Used for slow nodes and clock skew, which are ratios, not floats.
    pub fn scale(self, num: u64, den: u64) -> Duration {
        assert!(den > 0, "scale by a ratio with a zero denominator");
        let scaled = (self.0 as u128 * num as u128) / den as u128;
        Duration(u64::try_from(scaled).unwrap_or(u64::MAX))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    fn sub(self, earlier: Time) -> Duration {
        self.saturating_since(earlier)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        Duration(self.0.saturating_add(other.0))
    }
}

/// Formats as milliseconds with three decimals, the unit students think in:
/// `12.345 ms`.
impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03} ms", self.0 / 1_000, self.0 % 1_000)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03} ms", self.0 / 1_000, self.0 % 1_000)
    }
}

/// A ratio in thousandths, for slowdown factors and clock rates: 1000 is 1x,
/// 2500 is 2.5x. Integer so that runs are identical natively and in wasm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permille(pub u32);

impl Permille {
    /// Exactly one: no slowdown, a true clock.
    pub const ONE: Permille = Permille(1_000);
}

impl Default for Permille {
    fn default() -> Self {
        Permille::ONE
    }
}

impl fmt::Display for Permille {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 1_000;
        let frac = self.0 % 1_000;
        if frac == 0 {
            write!(f, "{whole}x")
        } else {
            let s = format!("{frac:03}");
            write!(f, "{whole}.{}x", s.trim_end_matches('0'))
        }
    }
}

/// A probability in parts per million: 0 is never, 1_000_000 is always.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ppm(pub u32);

impl Ppm {
    /// Never.
    pub const NEVER: Ppm = Ppm(0);
    /// Always.
    pub const ALWAYS: Ppm = Ppm(1_000_000);

    /// A percentage, for readable configuration: `Ppm::percent(5)` is 5 %.
    pub const fn percent(p: u32) -> Ppm {
        Ppm(p * 10_000)
    }
}

impl fmt::Display for Ppm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths_of_percent = self.0 / 1_000;
        write!(f, "{}.{}%", tenths_of_percent / 10, tenths_of_percent % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_formats_in_milliseconds() {
        assert_eq!(Time(12_345).to_string(), "12.345 ms");
        assert_eq!(Duration::from_ms(150).to_string(), "150.000 ms");
    }

    #[test]
    fn scale_is_exact_integer_arithmetic() {
        assert_eq!(Duration(1_000).scale(2_500, 1_000), Duration(2_500));
        assert_eq!(Duration(u64::MAX).scale(2, 1), Duration(u64::MAX));
    }

    #[test]
    fn ratios_and_probabilities_format_for_people() {
        assert_eq!(Permille(2_500).to_string(), "2.5x");
        assert_eq!(Permille::ONE.to_string(), "1x");
        assert_eq!(Ppm::percent(5).to_string(), "5.0%");
        assert_eq!(Ppm(1_500).to_string(), "0.1%");
    }
}
