//! Numbers as text without the standard library's float machinery, which
//! the app would otherwise carry for a handful of fields.
//!
//! [`parse_f64`] is what `text.parse::<f64>().ok()` gives, without the
//! standard library's float parser.
//!
//! That parser rounds every input correctly, and for the hard cases it
//! carries a 10 KiB table of powers of five that does not compress, plus its
//! code: about 11 KiB of the gzipped download, for three text fields (the
//! latencies and rates of the settings dialog, and the speed slider). Here
//! the inputs people type (up to 15 significant digits and a power of ten
//! within 10^±22) take the same exact fast path as the standard parser
//! (one correctly rounded multiplication or division of two exactly
//! representable numbers), so they give the same `f64` bit for bit. Anything
//! longer is handed to JavaScript's `Number`, which also rounds correctly, in
//! the browser, and to the standard parser natively.

/// `text.parse::<f64>().ok()`: the same language (an optional sign, then
/// `inf`, `infinity` or `nan` in any case, or decimal digits with an
/// optional point and an optional exponent `e`/`E`) and the same value.
pub fn parse_f64(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let sign = |v: f64| if negative { -v } else { v };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Some(sign(f64::INFINITY));
    }
    if rest.eq_ignore_ascii_case(b"nan") {
        return Some(sign(f64::NAN));
    }
    let mut i = 0;
    // The significant digits (leading zeros dropped) as an integer, while
    // they fit, and the power of ten that scales it.
    let (mut mantissa, mut significant, mut scale) = (0u64, 0usize, 0i64);
    let mut digits = 0;
    let mut point = false;
    while i < rest.len() {
        match rest[i] {
            d @ b'0'..=b'9' => {
                digits += 1;
                if significant > 0 || d != b'0' {
                    significant += 1;
                    if significant <= 19 {
                        mantissa = mantissa * 10 + u64::from(d - b'0');
                    } else {
                        scale += 1;
                    }
                }
                if point {
                    scale -= 1;
                }
            }
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    let mut exponent: i64 = 0;
    let mut exponent_fits = true;
    if i < rest.len() {
        if !matches!(rest[i], b'e' | b'E') {
            return None;
        }
        i += 1;
        let exponent_negative = match rest.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        if i == rest.len() {
            return None;
        }
        for &d in &rest[i..] {
            if !d.is_ascii_digit() {
                return None;
            }
            exponent = exponent
                .saturating_mul(10)
                .saturating_add(i64::from(d - b'0'));
        }
        exponent_fits = exponent < 1_000_000;
        if exponent_negative {
            exponent = -exponent;
        }
    }
    if mantissa == 0 && significant == 0 {
        return Some(sign(0.0));
    }
    let power = scale + exponent;
    if exponent_fits && significant <= 15 && (-22..=22).contains(&power) {
        // Both factors are exact in an f64 (below 2^53, and 10^22 at most),
        // so one operation rounds the exact value correctly.
        const POWERS: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        let m = mantissa as f64;
        let v = if power >= 0 {
            m * POWERS[power as usize]
        } else {
            m / POWERS[(-power) as usize]
        };
        return Some(sign(v));
    }
    Some(slow(text))
}

/// `format!("{x:.decimals$}")`: the exact value of `x` rounded to
/// `decimals` places, ties to even, as the standard library writes it
/// (`inf`, `NaN`, and a `-` for every negative sign, `-0.0` included). Its
/// Grisu and Dragon algorithms, their tables and their big numbers weigh
/// about 5 KiB of the gzipped app; the app formats SVG coordinates, a few
/// percentages and the settings dialog's numbers, with up to 3 places.
pub fn fixed(x: f64, decimals: usize) -> String {
    let mut out = String::new();
    if x.is_nan() {
        out.push_str("NaN");
        return out;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x.is_infinite() {
        out.push_str("inf");
        return out;
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    // |x| = mantissa * 2^power exactly.
    let (mantissa, power) = if exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), exponent - 1075)
    };
    let digits = match scaled_exactly(mantissa, power, decimals) {
        Some(n) => n.to_string(),
        None => scaled_slowly(mantissa, power, decimals),
    };
    if decimals > 0 {
        let mut digits = digits;
        while digits.len() <= decimals {
            digits.insert(0, '0');
        }
        let point = digits.len() - decimals;
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    } else {
        out.push_str(&digits);
    }
    out
}

/// `mantissa * 2^power * 10^decimals` rounded to an integer, ties to even,
/// in 128-bit integers: exact whenever the result fits in a `u64`, which is
/// every number the app draws (a coordinate, a percentage), and cheap enough
/// for the painters that write transforms every frame. `None` otherwise.
fn scaled_exactly(mantissa: u64, power: i32, decimals: usize) -> Option<u64> {
    // 10^19 < 2^64, so the product stays below 2^117.
    let ten = 10u128.checked_pow(u32::try_from(decimals).ok().filter(|&d| d <= 19)?)?;
    let m = u128::from(mantissa) * ten;
    let n = if power >= 0 {
        if m.leading_zeros() <= power.unsigned_abs() {
            return None;
        }
        m << power
    } else if power < -126 {
        // Below 2^117 / 2^127: less than half, rounds to zero.
        0
    } else {
        let shift = power.unsigned_abs();
        let (quotient, rest, half) = (m >> shift, m & ((1 << shift) - 1), 1 << (shift - 1));
        quotient + u128::from(rest > half || (rest == half && quotient & 1 == 1))
    };
    u64::try_from(n).ok()
}

/// [`scaled_exactly`] for any size, as decimal digits: base-10^9 big numbers.
fn scaled_slowly(mantissa: u64, power: i32, decimals: usize) -> String {
    // |x| * 10^decimals, rounded to an integer, ties to even, as decimal
    // digits (little-endian limbs of nine digits).
    let mut limbs: Vec<u32> = Vec::new();
    if power >= 0 {
        // A whole number: its digits, then the zeros of the decimals.
        push_decimal(&mut limbs, mantissa);
        for _ in 0..power {
            scale_limbs(&mut limbs, 2);
        }
        for _ in 0..decimals {
            scale_limbs(&mut limbs, 10);
        }
    } else {
        // mantissa * 10^decimals / 2^shift, halving one bit at a time; the
        // last bit shifted out is the half, the ones before it the rest.
        push_decimal(&mut limbs, mantissa);
        for _ in 0..decimals {
            scale_limbs(&mut limbs, 10);
        }
        let (mut half, mut rest) = (false, false);
        for _ in 0..-power {
            rest |= half;
            if limbs.is_empty() {
                half = false;
                break;
            }
            half = halve_limbs(&mut limbs);
        }
        if half && (rest || limbs.first().is_some_and(|l| l & 1 == 1)) {
            increment_limbs(&mut limbs);
        }
    }
    let mut digits = String::new();
    for (k, limb) in limbs.iter().rev().enumerate() {
        let text = limb.to_string();
        if k > 0 {
            for _ in text.len()..9 {
                digits.push('0');
            }
        }
        digits.push_str(&text);
    }
    if digits.is_empty() {
        digits.push('0');
    }
    digits
}

/// Appends `n` to empty `limbs` as base-10^9 limbs, least significant first.
fn push_decimal(limbs: &mut Vec<u32>, mut n: u64) {
    while n > 0 {
        limbs.push((n % 1_000_000_000) as u32);
        n /= 1_000_000_000;
    }
}

/// Multiplies the number in `limbs` by `factor` (2 or 10).
fn scale_limbs(limbs: &mut Vec<u32>, factor: u64) {
    let mut carry = 0u64;
    for limb in limbs.iter_mut() {
        let v = u64::from(*limb) * factor + carry;
        *limb = (v % 1_000_000_000) as u32;
        carry = v / 1_000_000_000;
    }
    if carry > 0 {
        limbs.push(carry as u32);
    }
}

/// Halves the number in `limbs`, returning the bit shifted out.
fn halve_limbs(limbs: &mut Vec<u32>) -> bool {
    let mut carry = 0u64;
    for limb in limbs.iter_mut().rev() {
        let v = carry * 1_000_000_000 + u64::from(*limb);
        *limb = (v / 2) as u32;
        carry = v % 2;
    }
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    carry == 1
}

/// Adds one to the number in `limbs`.
fn increment_limbs(limbs: &mut Vec<u32>) {
    for limb in limbs.iter_mut() {
        if *limb < 999_999_999 {
            *limb += 1;
            return;
        }
        *limb = 0;
    }
    limbs.push(1);
}

/// A valid decimal number outside the fast path, correctly rounded.
#[cfg(target_arch = "wasm32")]
fn slow(text: &str) -> f64 {
    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        /// JavaScript's `Number(text)`: correctly rounded for every decimal
        /// literal, which is all `parse_f64` passes it.
        #[wasm_bindgen(js_name = Number)]
        fn js_number(text: &str) -> f64;
    }
    js_number(text)
}

/// A valid decimal number outside the fast path, correctly rounded.
#[cfg(not(target_arch = "wasm32"))]
fn slow(text: &str) -> f64 {
    text.parse()
        .expect("parse_f64 passes on valid decimal numbers only")
}

#[cfg(test)]
mod tests {
    use super::parse_f64;

    fn same(text: &str) {
        let ours = parse_f64(text);
        let std = text.parse::<f64>().ok();
        match (ours, std) {
            (Some(a), Some(b)) if a.is_nan() && b.is_nan() => {}
            (Some(a), Some(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{text:?}: {a} vs {b}"),
            (a, b) => assert_eq!(a, b, "{text:?}"),
        }
    }

    #[test]
    fn reads_what_the_standard_parser_reads() {
        for text in [
            "",
            "+",
            "-",
            ".",
            "e5",
            "1e",
            "1e+",
            "1e-",
            "1.2.3",
            "1,5",
            " 1",
            "1 ",
            "0x10",
            "1_000",
            "--1",
            "+-1",
            "1e5x",
            "inf",
            "-INF",
            "+Infinity",
            "infinit",
            "NaN",
            "-nan",
            "nan1",
            "0",
            "-0",
            "+0",
            "00",
            "0.0",
            "-0.0",
            "0e999999999999",
            ".5",
            "5.",
            "-.5",
            "1.",
            "007",
            "10",
            "12.5",
            "0.1",
            "0.3",
            "100",
            "60000",
            "60000.0001",
            "2.675",
            "1e22",
            "1e23",
            "9007199254740993",
            "123456789012345",
            "1234567890123456",
            "12345678901234567890",
            "123456789012345678901234567890",
            "0.000000000000000000001",
            "1e-22",
            "1e-23",
            "4.9e-324",
            "1e-400",
            "1e400",
            "1.7976931348623157e308",
            "99999999999999999999e-20",
            "1E5",
            "1e+05",
            "1e-05",
            "000000000000000000000001",
            "0.1000000000000000055511151231257827",
            "3.14159",
            "-273.15",
            "50%",
            "1e99999999999999999999",
        ] {
            same(text);
        }
    }

    #[test]
    fn reads_many_generated_numbers_as_the_standard_parser_does() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"0123456789.-+eE";
        for _ in 0..200_000 {
            let len = 1 + next() % 24;
            let text: String = (0..len)
                .map(|_| {
                    let r = next() % 40;
                    char::from(if r < 25 {
                        b'0' + (r % 10) as u8
                    } else {
                        alphabet[(r % 15) as usize]
                    })
                })
                .collect();
            same(&text);
        }
    }
    #[test]
    fn writes_fixed_places_as_the_standard_library_does() {
        let mut values = vec![
            0.0,
            -0.0,
            0.25,
            0.35,
            0.5,
            1.5,
            2.5,
            -2.5,
            0.125,
            0.0625,
            -0.01,
            1e-300,
            5e-324,
            0.05,
            0.005,
            0.0005,
            1.005,
            2.675,
            1e15,
            1e16,
            1e17,
            9007199254740993.0,
            1e22,
            1e23,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            123.456,
            470.0,
            99.995,
            99.9949999,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1.0 / 3.0,
            2.0 / 3.0,
            1e-5,
            60000.0,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..25_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Random bit patterns, and values of the app's everyday sizes.
            values.push(f64::from_bits(state));
            values.push((state % 2_000_000) as f64 / 1000.0 - 1000.0);
            values.push((state % 200_000) as f64 / 8.0);
            values.push(f64::from_bits(state) % 1e6);
        }
        for x in values {
            for decimals in 0..=4 {
                assert_eq!(
                    super::fixed(x, decimals),
                    format!("{x:.decimals$}"),
                    "{x:e} to {decimals}"
                );
            }
        }
    }
}
