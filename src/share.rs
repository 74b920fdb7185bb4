//! Share links: a whole run, and one moment of it, in the URL fragment.
//!
//! A link carries everything needed to reproduce the same moment: the
//! protocol, the cluster size, the seed, the network defaults, the teaching
//! toggles and options, the input log, and the current time. A run is a pure
//! function of these, so opening the link replays to exactly the same state.
//! The fragment (`#...`) is used rather than the query string so that the app
//! works as static files under any path, and in an iframe.
//!
//! The format is versioned (`v=1`), strict (unknown or repeated keys are
//! errors, not ignored), and every error says exactly what is wrong, because
//! a link pasted into course material years ago must either work or say why.
//!
//! ```text
//! #v=1&p=raft&n=5&seed=42&lat=10-20-u&drop=0&dup=0&tog=commit-previous-term
//!  &opt=prevote:1&in=812.1500000.crash.2~900.1600000.req.6.put%20x%201&t=4500
//! ```
//!
//! Input entries are `step.time_us.kind[.args]` separated by `~`; node ids are
//! one-based as on screen (`2` is n2); text is percent-encoded with every
//! byte other than `A-Z a-z 0-9 - _` escaped, so `.` and `~` never appear
//! inside a field. A network with delay spikes adds `spike=rate-min-max`
//! (a probability, then milliseconds).
//!
//! A *sweep link* (`sweep=1`) names a seed of a seed sweep instead of a
//! network and an input log: the run `cargo xtask sweep` checked for that
//! seed, with the protocol the sweep builds (`n` servers, at most one toggle
//! in `tog`). The app draws the network and the inputs from the seed as the
//! sweep does. Without `t` or `s` it opens where the sweep's run stopped.
//!
//! ```text
//! #v=1&p=raft&n=3&seed=5&sweep=1&tog=skip-up-to-date-check&t=2170.41&s=8121&h=...
//! ```

use sim::sorted::SortedMap;
use std::fmt;

use sim::{
    Direction, Duration, Input, InputRecord, Latency, LinkParams, MsgId, NodeId, PartitionKind,
    Permille, Ppm, Tail, Time,
};

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// The longest fragment accepted, in bytes. A real course link is a few KB.
pub const MAX_LINK_BYTES: usize = 256 * 1024;
/// The most inputs a link may carry.
pub const MAX_INPUTS: usize = 10_000;
/// Cluster sizes the app accepts.
pub const SERVERS: std::ops::RangeInclusive<u32> = 3..=25;
/// The latest virtual time a link may point at: one day.
pub const MAX_TIME: Time = Time(24 * 3_600 * 1_000_000);

/// Everything a link holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Shared {
    /// The protocol's short name, such as `raft`.
    pub protocol: String,
    /// How many servers.
    pub servers: u32,
    /// The master seed.
    pub seed: u64,
    /// The network defaults.
    pub network: LinkParams,
    /// Teaching toggles switched on, sorted.
    pub toggles: Vec<String>,
    /// Protocol options, such as `prevote` = `1`.
    pub options: SortedMap<String, String>,
    /// The input log, operations as text.
    pub inputs: Vec<InputRecord<String>>,
    /// The moment the link points at.
    pub time: Time,
    /// How many steps had been taken at that moment, if the link says:
    /// several steps can share one virtual time.
    pub step: Option<u64>,
    /// The trace hash at that moment, if the link records it: a mismatch on
    /// replay means the link was made by a version that ran differently.
    pub hash: Option<u64>,
    /// How to show the app inside an iframe, if at all.
    pub embed: Option<Embed>,
    /// Playback speed in thousandths of real protocol time (20 is 1/50x),
    /// if the link sets one.
    pub speed: Option<u32>,
    /// Set for a sweep link: the network, options and inputs are not in the
    /// link but drawn from the seed as the seed sweep draws them (they are
    /// left at their defaults here).
    pub sweep: Option<Sweep>,
}

/// Where a sweep link opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// At the moment the link names (`t`, and `s` if given).
    AtMoment,
    /// The link names no moment: where the sweep's run stopped, right after
    /// the step that broke a rule or at the end of its liveness phase.
    AtEnd,
}

/// Embed-mode settings: no page chrome, and a chosen set of controls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Embed {
    /// Start playing as soon as the run is loaded.
    pub autoplay: bool,
    /// Which controls to show; empty shows the default set.
    pub controls: Vec<String>,
}

/// Why a link could not be read. Each says what is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareError {
    /// Longer than [`MAX_LINK_BYTES`].
    TooLong(usize),
    /// A `key=value` pair without `=`, or with an empty key.
    Malformed(String),
    /// A key that this version does not know.
    UnknownKey(String),
    /// The same key twice.
    DuplicateKey(String),
    /// A required key is missing.
    Missing(&'static str),
    /// A `%` not followed by two hex digits.
    BadEscape(String),
    /// Bytes that are not UTF-8 after percent-decoding.
    NotUtf8(&'static str),
    /// Made by a different format version.
    Version(String),
    /// A value is out of range or unreadable; the text says which and why.
    Value {
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// An input entry cannot be read.
    Entry {
        /// Its position in the log, one-based.
        index: usize,
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for ShareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareError::TooLong(n) => {
                write!(f, "the link is {n} bytes long; links longer than {MAX_LINK_BYTES} bytes are not accepted")
            }
            ShareError::Malformed(part) => write!(f, "the link part \"{part}\" is not of the form key=value"),
            ShareError::UnknownKey(k) => write!(f, "the link has a setting \"{k}\" that this version does not know"),
            ShareError::DuplicateKey(k) => write!(f, "the link sets \"{k}\" more than once"),
            ShareError::Missing(k) => write!(f, "the link does not say {}", describe_key(k)),
            ShareError::BadEscape(s) => {
                write!(f, "the link has a broken %-escape in \"{s}\" (a % must be followed by two hex digits)")
            }
            ShareError::NotUtf8(k) => write!(f, "the {} in the link is not valid UTF-8 text", describe_key(k)),
            ShareError::Version(v) => write!(
                f,
                "the link is in format version {v}, but this version of Clusterscope reads format {VERSION}"
            ),
            ShareError::Value { key, problem } => write!(f, "the {} in the link {problem}", describe_key(key)),
            ShareError::Entry { index, problem } => write!(f, "input {index} in the link's input log {problem}"),
        }
    }
}

impl std::error::Error for ShareError {}

fn describe_key(key: &str) -> &'static str {
    match key {
        "v" => "format version (v)",
        "p" => "protocol (p)",
        "n" => "cluster size (n)",
        "seed" => "seed",
        "lat" => "latency (lat)",
        "drop" => "drop rate (drop)",
        "dup" => "duplicate rate (dup)",
        "tog" => "teaching toggles (tog)",
        "opt" => "protocol options (opt)",
        "in" => "input log (in)",
        "t" => "time (t)",
        "h" => "trace hash (h)",
        "embed" => "embed setting (embed)",
        "autoplay" => "autoplay setting (autoplay)",
        "controls" => "embed controls (controls)",
        "speed" => "playback speed (speed)",
        "s" => "step (s)",
        "spike" => "delay spikes (spike)",
        "sweep" => "sweep setting (sweep)",
        _ => "setting",
    }
}

const KEYS: &[&str] = &[
    "v", "p", "n", "seed", "lat", "drop", "dup", "tog", "opt", "in", "t", "h", "embed", "autoplay",
    "controls", "speed", "s", "spike", "sweep",
];
/// What a sweep link takes from its seed, and so may not set itself.
const NOT_IN_SWEEP_LINKS: &[&str] = &["lat", "drop", "dup", "spike", "opt", "in"];
/// Playback speeds a link may set, in thousandths: 1/1000x to 10x.
pub const SPEEDS: std::ops::RangeInclusive<u32> = 1..=10_000;

impl Shared {
    /// Writes the link fragment (without the leading `#`).
    pub fn encode(&self) -> String {
        let mut parts = vec![
            format!("v={VERSION}"),
            format!("p={}", escape(&self.protocol)),
            format!("n={}", self.servers),
            format!("seed={}", self.seed),
        ];
        if self.sweep.is_some() {
            parts.push("sweep=1".into());
        } else {
            parts.push(format!("lat={}", encode_latency(&self.network.latency)));
            parts.push(format!("drop={}", encode_ppm(self.network.drop)));
            parts.push(format!("dup={}", encode_ppm(self.network.duplicate)));
            if let Some(spike) = encode_spike(&self.network) {
                parts.push(format!("spike={spike}"));
            }
        }
        if !self.toggles.is_empty() {
            parts.push(format!(
                "tog={}",
                self.toggles
                    .iter()
                    .map(|t| escape(t))
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        if !self.options.is_empty() {
            let opts: Vec<String> = self
                .options
                .iter()
                .map(|(k, v)| format!("{}:{}", escape(k), escape(v)))
                .collect();
            parts.push(format!("opt={}", opts.join(",")));
        }
        if !self.inputs.is_empty() {
            let entries: Vec<String> = self.inputs.iter().map(encode_entry).collect();
            parts.push(format!("in={}", entries.join("~")));
        }
        if self.sweep != Some(Sweep::AtEnd) {
            parts.push(format!("t={}", encode_ms(self.time.0)));
        }
        if let Some(step) = self.step {
            parts.push(format!("s={step}"));
        }
        if let Some(h) = self.hash {
            parts.push(format!("h={h:016x}"));
        }
        if let Some(speed) = self.speed {
            parts.push(format!("speed={}", encode_ms(u64::from(speed))));
        }
        if let Some(e) = &self.embed {
            parts.push("embed=1".into());
            if e.autoplay {
                parts.push("autoplay=1".into());
            }
            if !e.controls.is_empty() {
                parts.push(format!(
                    "controls={}",
                    e.controls
                        .iter()
                        .map(|c| escape(c))
                        .collect::<Vec<_>>()
                        .join(",")
                ));
            }
        }
        parts.join("&")
    }

    /// Reads a link fragment (with or without the leading `#`). What the link
    /// leaves out takes its default: the default network, no toggles or
    /// options, and the time of the last input (or zero).
    pub fn decode(fragment: &str) -> Result<Shared, ShareError> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        if fragment.len() > MAX_LINK_BYTES {
            return Err(ShareError::TooLong(fragment.len()));
        }
        let mut fields: SortedMap<&'static str, &str> = SortedMap::new();
        for part in fragment.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| ShareError::Malformed(shorten(part)))?;
            let key = unescape(key, "v")
                .ok()
                .filter(|k| !k.is_empty())
                .ok_or_else(|| ShareError::Malformed(shorten(part)))?;
            let known = KEYS
                .iter()
                .find(|k| **k == key)
                .ok_or_else(|| ShareError::UnknownKey(shorten(&key)))?;
            if fields.insert(known, value).is_some() {
                return Err(ShareError::DuplicateKey(key));
            }
        }
        let text = |key: &'static str| -> Result<Option<String>, ShareError> {
            fields.get(key).map(|v| unescape(v, key)).transpose()
        };
        let required = |key: &'static str| text(key)?.ok_or(ShareError::Missing(key));

        let version = required("v")?;
        if version != VERSION.to_string() {
            return Err(ShareError::Version(shorten(&version)));
        }
        let protocol = required("p")?;
        if protocol.is_empty() {
            return Err(value_error("p", "is empty"));
        }
        let servers = parse_u64("n", &required("n")?)?;
        if !SERVERS.contains(&(servers.min(u64::from(u32::MAX)) as u32))
            || servers > u64::from(u32::MAX)
        {
            return Err(value_error(
                "n",
                &format!(
                    "is {servers}, but a cluster has {} to {} servers",
                    SERVERS.start(),
                    SERVERS.end()
                ),
            ));
        }
        let seed = parse_u64("seed", &required("seed")?)?;

        let mut network = LinkParams::default();
        if let Some(lat) = text("lat")? {
            network.latency = parse_latency(&lat)?;
        }
        if let Some(d) = text("drop")? {
            network.drop = parse_probability("drop", &d)?;
        }
        if let Some(d) = text("dup")? {
            network.duplicate = parse_probability("dup", &d)?;
        }
        if let Some(spike) = text("spike")? {
            (network.delay_spike, network.spike_min, network.spike_max) = parse_spike(&spike)?;
        }

        let mut toggles: Vec<String> = match fields.get("tog") {
            Some(raw) => raw
                .split(',')
                .map(|t| unescape(t, "tog"))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        if toggles.iter().any(String::is_empty) {
            return Err(value_error("tog", "has an empty toggle name"));
        }
        toggles.sort();
        if let Some(w) = toggles.windows(2).find(|w| w[0] == w[1]) {
            return Err(value_error(
                "tog",
                &format!("names the toggle \"{}\" twice", shorten(&w[0])),
            ));
        }

        let mut options = SortedMap::new();
        if let Some(raw) = fields.get("opt") {
            for pair in raw.split(',') {
                let (k, v) = pair.split_once(':').ok_or_else(|| {
                    value_error(
                        "opt",
                        &format!("has \"{}\", which is not name:value", shorten(pair)),
                    )
                })?;
                let (k, v) = (unescape(k, "opt")?, unescape(v, "opt")?);
                if k.is_empty() {
                    return Err(value_error("opt", "has an option with no name"));
                }
                if options.insert(k.clone(), v).is_some() {
                    return Err(value_error(
                        "opt",
                        &format!("sets the option \"{}\" twice", shorten(&k)),
                    ));
                }
            }
        }

        let inputs = match fields.get("in") {
            Some(raw) if !raw.is_empty() => parse_inputs(raw)?,
            _ => Vec::new(),
        };

        let time = match text("t")? {
            Some(t) => parse_time_ms("t", &t)?,
            None => inputs.last().map_or(Time::ZERO, |r| r.time),
        };
        if let Some(last) = inputs.last() {
            if last.time > MAX_TIME {
                return Err(ShareError::Entry {
                    index: inputs.len(),
                    problem: format!(
                        "is at {}, after the longest run a link may hold ({})",
                        last.time, MAX_TIME
                    ),
                });
            }
        }

        let hash = match text("h")? {
            Some(h) => Some(
                u64::from_str_radix(&h, 16)
                    .map_err(|_| value_error("h", "is not a 64-bit hexadecimal number"))?,
            ),
            None => None,
        };

        let flag = |key: &'static str| -> Result<bool, ShareError> {
            match text(key)?.as_deref() {
                None | Some("0") => Ok(false),
                Some("1") => Ok(true),
                Some(other) => Err(value_error(
                    key,
                    &format!("is \"{}\", but it must be 0 or 1", shorten(other)),
                )),
            }
        };
        let embed = if flag("embed")? {
            let controls = match fields.get("controls") {
                Some(raw) => raw
                    .split(',')
                    .map(|c| unescape(c, "controls"))
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            Some(Embed {
                autoplay: flag("autoplay")?,
                controls,
            })
        } else {
            if fields.contains_key("autoplay") || fields.contains_key("controls") {
                return Err(value_error(
                    "embed",
                    "is off, but the link sets autoplay or controls, which only apply with embed=1",
                ));
            }
            None
        };

        let speed = match text("speed")? {
            Some(t) => {
                let thousandths = parse_fixed("speed", &t, 3, "a speed such as 0.02 (1/50x) or 2")?;
                match u32::try_from(thousandths) {
                    Ok(v) if SPEEDS.contains(&v) => Some(v),
                    _ => {
                        return Err(value_error(
                            "speed",
                            &format!(
                                "is {}, but a speed is from 0.001 (1/1000x) to 10",
                                shorten(&t)
                            ),
                        ))
                    }
                }
            }
            None => None,
        };

        let step = text("s")?.map(|s| parse_u64("s", &s)).transpose()?;

        let sweep = match text("sweep")?.as_deref() {
            None | Some("0") => None,
            Some("1") => {
                if let Some(key) = NOT_IN_SWEEP_LINKS.iter().find(|k| fields.contains_key(*k)) {
                    return Err(value_error(
                        "sweep",
                        &format!(
                            "is on, so the network, options and inputs come from the seed as the sweep draws them; the link cannot also set the {}",
                            describe_key(key)
                        ),
                    ));
                }
                if toggles.len() > 1 {
                    return Err(value_error(
                        "tog",
                        &format!(
                            "names {} toggles, but a sweep link (sweep=1) runs with at most one",
                            toggles.len()
                        ),
                    ));
                }
                if fields.contains_key("t") || fields.contains_key("s") {
                    Some(Sweep::AtMoment)
                } else {
                    Some(Sweep::AtEnd)
                }
            }
            Some(other) => {
                return Err(value_error(
                    "sweep",
                    &format!("is \"{}\", but it must be 0 or 1", shorten(other)),
                ))
            }
        };

        Ok(Shared {
            sweep,
            step,
            speed,
            protocol,
            servers: servers as u32,
            seed,
            network,
            toggles,
            options,
            inputs,
            time,
            hash,
            embed,
        })
    }
}

fn value_error(key: &'static str, problem: &str) -> ShareError {
    ShareError::Value {
        key,
        problem: problem.to_string(),
    }
}

/// Keeps error messages readable when someone pastes a megabyte.
fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

/// Percent-encodes everything except `A-Z a-z 0-9 - _`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes percent-escapes; refuses broken escapes and non-UTF-8 results.
pub fn unescape(s: &str, key: &'static str) -> Result<String, ShareError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                }
                None => return Err(ShareError::BadEscape(shorten(&s[i..]))),
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ShareError::NotUtf8(key))
}

fn parse_u64(key: &'static str, s: &str) -> Result<u64, ShareError> {
    if s.is_empty() {
        return Err(value_error(key, "is empty"));
    }
    if s.starts_with('-') {
        return Err(value_error(
            key,
            &format!("is {}, but it cannot be negative", shorten(s)),
        ));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(value_error(
            key,
            &format!("is \"{}\", which is not a whole number", shorten(s)),
        ));
    }
    s.parse::<u64>().map_err(|_| {
        value_error(
            key,
            &format!("is {}, above the largest allowed, {}", shorten(s), u64::MAX),
        )
    })
}

/// Reads a decimal with up to `places` fractional digits as an integer
/// scaled by 10^places, without floating point.
fn parse_fixed(key: &'static str, s: &str, places: u32, what: &str) -> Result<u64, ShareError> {
    let bad = || value_error(key, &format!("has \"{}\", which is not {what}", shorten(s)));
    if s.starts_with('-') {
        return Err(value_error(
            key,
            &format!("has {}, but it cannot be negative", shorten(s)),
        ));
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    if frac.len() > places as usize {
        return Err(value_error(
            key,
            &format!(
                "has {}, more precise than {places} decimal places",
                shorten(s)
            ),
        ));
    }
    let scale = 10u64.pow(places);
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac_value: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().map_err(|_| bad())? * 10u64.pow(places - frac.len() as u32)
    };
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_value))
        .ok_or_else(|| value_error(key, &format!("has {}, which is far too large", shorten(s))))
}

fn parse_probability(key: &'static str, s: &str) -> Result<Ppm, ShareError> {
    let ppm = parse_fixed(key, s, 6, "a probability between 0 and 1")?;
    if ppm > 1_000_000 {
        return Err(value_error(
            key,
            &format!("is {}, but a probability is between 0 and 1", shorten(s)),
        ));
    }
    Ok(Ppm(ppm as u32))
}

fn encode_ppm(p: Ppm) -> String {
    let whole = p.0 / 1_000_000;
    let frac = p.0 % 1_000_000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:06}").trim_end_matches('0'))
    }
}

fn parse_time_ms(key: &'static str, s: &str) -> Result<Time, ShareError> {
    let us = parse_fixed(key, s, 3, "a time in milliseconds")?;
    if us > MAX_TIME.0 {
        return Err(value_error(
            key,
            &format!(
                "is {} ms, after the longest run a link may hold ({})",
                shorten(s),
                MAX_TIME
            ),
        ));
    }
    Ok(Time(us))
}

fn encode_ms(us: u64) -> String {
    if us % 1_000 == 0 {
        (us / 1_000).to_string()
    } else {
        format!(
            "{}.{}",
            us / 1_000,
            format!("{:03}", us % 1_000).trim_end_matches('0')
        )
    }
}

/// `rate-min-max` (a probability, then milliseconds), if the network has
/// delay spikes other than the default (none).
fn encode_spike(p: &LinkParams) -> Option<String> {
    let d = LinkParams::default();
    let same =
        (p.delay_spike, p.spike_min, p.spike_max) == (d.delay_spike, d.spike_min, d.spike_max);
    (!same).then(|| {
        format!(
            "{}-{}-{}",
            encode_ppm(p.delay_spike),
            encode_ms(p.spike_min.0),
            encode_ms(p.spike_max.0)
        )
    })
}

fn parse_spike(s: &str) -> Result<(Ppm, Duration, Duration), ShareError> {
    let parts: Vec<&str> = s.split('-').collect();
    let [rate, min, max] = parts[..] else {
        return Err(value_error("spike", &format!("is \"{}\", but it must look like 0.05-200-2200 (the share of messages delayed, then the shortest and longest extra delay in ms)", shorten(s))));
    };
    let rate = parse_probability("spike", rate)?;
    let min = Duration(parse_fixed("spike", min, 3, "a time in milliseconds")?);
    let max = Duration(parse_fixed("spike", max, 3, "a time in milliseconds")?);
    if max < min {
        return Err(value_error(
            "spike",
            &format!("has a longest delay ({max}) below its shortest ({min})"),
        ));
    }
    if max > Duration::from_secs(60) {
        return Err(value_error(
            "spike",
            &format!("has a longest delay of {max}; the longest allowed is 60 s"),
        ));
    }
    Ok((rate, min, max))
}

/// `min-mean-u` or `min-mean-e`, in milliseconds.
fn encode_latency(l: &Latency) -> String {
    let tail = match l.tail {
        Tail::Uniform => "u",
        Tail::Exponential => "e",
    };
    format!("{}-{}-{tail}", encode_ms(l.min.0), encode_ms(l.mean.0))
}

fn parse_latency(s: &str) -> Result<Latency, ShareError> {
    let parts: Vec<&str> = s.split('-').collect();
    let [min, mean, tail] = parts[..] else {
        return Err(value_error("lat", &format!("is \"{}\", but it must look like 10-20-u (min ms, mean ms, u for uniform or e for exponential)", shorten(s))));
    };
    let min = Duration(parse_fixed("lat", min, 3, "a time in milliseconds")?);
    let mean = Duration(parse_fixed("lat", mean, 3, "a time in milliseconds")?);
    let tail = match tail {
        "u" => Tail::Uniform,
        "e" => Tail::Exponential,
        other => {
            return Err(value_error(
                "lat",
                &format!(
                    "ends in \"{}\", but the tail must be u (uniform) or e (exponential)",
                    shorten(other)
                ),
            ))
        }
    };
    if mean.0 == 0 {
        return Err(value_error(
            "lat",
            "has a mean latency of zero; messages need some time to travel",
        ));
    }
    if mean < min {
        return Err(value_error(
            "lat",
            &format!("has a mean ({mean}) below its minimum ({min})"),
        ));
    }
    if mean > Duration::from_secs(60) {
        return Err(value_error(
            "lat",
            &format!("has a mean of {mean}; the longest allowed is 60 s"),
        ));
    }
    Ok(Latency { min, mean, tail })
}

fn encode_node(n: NodeId) -> String {
    (n.0 + 1).to_string()
}

fn encode_entry(r: &InputRecord<String>) -> String {
    let args: Vec<String> = match &r.input {
        Input::Crash(n) => vec!["crash".into(), encode_node(*n)],
        Input::Restart(n) => vec!["restart".into(), encode_node(*n)],
        Input::Pause(n) => vec!["pause".into(), encode_node(*n)],
        Input::Resume(n) => vec!["resume".into(), encode_node(*n)],
        Input::Slow { node, factor } => {
            vec!["slow".into(), encode_node(*node), factor.0.to_string()]
        }
        Input::Skew { node, rate } => vec!["skew".into(), encode_node(*node), rate.0.to_string()],
        Input::Cut { from, to } => vec!["cut".into(), encode_node(*from), encode_node(*to)],
        Input::Heal { from, to } => vec!["heal".into(), encode_node(*from), encode_node(*to)],
        Input::Isolate { node, direction } => vec![
            "iso".into(),
            encode_node(*node),
            match direction {
                Direction::Both => "both",
                Direction::Inbound => "in",
                Direction::Outbound => "out",
            }
            .into(),
        ],
        Input::Partition { groups, kind } => {
            let mut v = vec![
                "part".to_string(),
                match kind {
                    PartitionKind::Symmetric => "s",
                    PartitionKind::OneWay => "o",
                }
                .to_string(),
            ];
            v.extend(groups.iter().map(|g| {
                g.iter()
                    .map(|n| encode_node(*n))
                    .collect::<Vec<_>>()
                    .join("-")
            }));
            v
        }
        Input::HealAll => vec!["healall".into()],
        Input::Drain => vec!["drain".into()],
        Input::DropMessage(id) => vec!["drop".into(), id.0.to_string()],
        Input::Request { node, op } => vec!["req".into(), encode_node(*node), escape(op)],
        Input::SetNetwork(p) => {
            let mut v = vec!["net".to_string()];
            v.extend(encode_params(p));
            v
        }
        Input::SetLink { from, to, params } => {
            let mut v = vec!["link".into(), encode_node(*from), encode_node(*to)];
            match params {
                Some(p) => v.extend(encode_params(p)),
                None => v.push("default".into()),
            }
            v
        }
    };
    format!("{}.{}.{}", r.step, r.time.0, args.join("."))
}

/// Link parameters inside an input entry. Decimal points would clash with
/// the entry's `.` separator, so each field is escaped.
fn encode_params(p: &LinkParams) -> [String; 3] {
    [
        escape(&encode_latency(&p.latency)),
        escape(&encode_ppm(p.drop)),
        escape(&encode_ppm(p.duplicate)),
    ]
}

fn parse_inputs(raw: &str) -> Result<Vec<InputRecord<String>>, ShareError> {
    let entries: Vec<&str> = raw.split('~').collect();
    if entries.len() > MAX_INPUTS {
        return Err(value_error(
            "in",
            &format!(
                "has {} inputs; a link may hold at most {MAX_INPUTS}",
                entries.len()
            ),
        ));
    }
    let mut out: Vec<InputRecord<String>> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let index = i + 1;
        let err = |problem: String| ShareError::Entry { index, problem };
        let fields: Vec<&str> = entry.split('.').collect();
        if fields.len() < 3 {
            return Err(err(format!(
                "(\"{}\") is not of the form step.time.kind",
                shorten(entry)
            )));
        }
        let step = parse_u64("in", fields[0]).map_err(|_| {
            err(format!(
                "has the step \"{}\", which is not a whole number",
                shorten(fields[0])
            ))
        })?;
        let time = Time(parse_u64("in", fields[1]).map_err(|_| {
            err(format!(
                "has the time \"{}\", which is not a whole number of microseconds",
                shorten(fields[1])
            ))
        })?);
        if let Some(prev) = out.last() {
            if step <= prev.step || time < prev.time {
                return Err(err(format!(
                    "(step {step} at {time}) comes before the input ahead of it (step {} at {}); inputs must be in order",
                    prev.step, prev.time
                )));
            }
        }
        let args = &fields[3..];
        let input = parse_input(fields[2], args).map_err(err)?;
        out.push(InputRecord { step, time, input });
    }
    Ok(out)
}

fn parse_input(kind: &str, args: &[&str]) -> Result<Input<String>, String> {
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "(\"{}\") has {} values where {n} are expected",
                shorten(kind),
                args.len()
            ))
        }
    };
    let node = |s: &str| -> Result<NodeId, String> {
        match s.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(NodeId(n - 1)),
            _ => Err(format!(
                "names the node \"{}\", but nodes are numbered from 1",
                shorten(s)
            )),
        }
    };
    let permille = |s: &str| -> Result<Permille, String> {
        s.parse::<u32>().map(Permille).map_err(|_| {
            format!(
                "has the factor \"{}\", which is not a whole number of thousandths",
                shorten(s)
            )
        })
    };
    let params = |lat: &str, drop: &str, dup: &str| -> Result<LinkParams, String> {
        let field = |s: &str| unescape(s, "in").map_err(|e| e.to_string());
        Ok(LinkParams {
            latency: parse_latency(&field(lat)?).map_err(|e| e.to_string())?,
            drop: parse_probability("drop", &field(drop)?).map_err(|e| e.to_string())?,
            duplicate: parse_probability("dup", &field(dup)?).map_err(|e| e.to_string())?,
            ..LinkParams::default()
        })
    };
    Ok(match kind {
        "crash" | "restart" | "pause" | "resume" => {
            want(1)?;
            let n = node(args[0])?;
            match kind {
                "crash" => Input::Crash(n),
                "restart" => Input::Restart(n),
                "pause" => Input::Pause(n),
                _ => Input::Resume(n),
            }
        }
        "slow" => {
            want(2)?;
            Input::Slow {
                node: node(args[0])?,
                factor: permille(args[1])?,
            }
        }
        "skew" => {
            want(2)?;
            Input::Skew {
                node: node(args[0])?,
                rate: permille(args[1])?,
            }
        }
        "cut" => {
            want(2)?;
            Input::Cut {
                from: node(args[0])?,
                to: node(args[1])?,
            }
        }
        "heal" => {
            want(2)?;
            Input::Heal {
                from: node(args[0])?,
                to: node(args[1])?,
            }
        }
        "iso" => {
            want(2)?;
            let direction = match args[1] {
                "both" => Direction::Both,
                "in" => Direction::Inbound,
                "out" => Direction::Outbound,
                other => {
                    return Err(format!(
                        "isolates in the direction \"{}\"; it must be both, in or out",
                        shorten(other)
                    ))
                }
            };
            Input::Isolate {
                node: node(args[0])?,
                direction,
            }
        }
        "part" => {
            if args.len() < 3 {
                return Err("is a partition with fewer than two groups".into());
            }
            let kind = match args[0] {
                "s" => PartitionKind::Symmetric,
                "o" => PartitionKind::OneWay,
                other => {
                    return Err(format!(
                        "is a partition of kind \"{}\"; it must be s (symmetric) or o (one-way)",
                        shorten(other)
                    ))
                }
            };
            let groups = args[1..]
                .iter()
                .map(|g| g.split('-').map(node).collect::<Result<Vec<_>, _>>())
                .collect::<Result<Vec<_>, _>>()?;
            Input::Partition { groups, kind }
        }
        "healall" => {
            want(0)?;
            Input::HealAll
        }
        "drain" => {
            want(0)?;
            Input::Drain
        }
        "drop" => {
            want(1)?;
            let id = args[0].parse::<u64>().map_err(|_| {
                format!(
                    "drops the message \"{}\", which is not a message number",
                    shorten(args[0])
                )
            })?;
            Input::DropMessage(MsgId(id))
        }
        "req" => {
            want(2)?;
            let op = unescape(args[1], "in").map_err(|e| e.to_string())?;
            Input::Request {
                node: node(args[0])?,
                op,
            }
        }
        "net" => {
            want(3)?;
            Input::SetNetwork(params(args[0], args[1], args[2])?)
        }
        "link" => {
            let (from, to) = (
                node(args.first().copied().unwrap_or(""))?,
                node(args.get(1).copied().unwrap_or(""))?,
            );
            match args.len() {
                3 if args[2] == "default" => Input::SetLink {
                    from,
                    to,
                    params: None,
                },
                5 => Input::SetLink {
                    from,
                    to,
                    params: Some(params(args[2], args[3], args[4])?),
                },
                _ => {
                    return Err(
                        "is a link setting that is neither \"default\" nor latency.drop.dup".into(),
                    )
                }
            }
        }
        other => return Err(format!("has the unknown kind \"{}\"", shorten(other))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Shared {
        Shared {
            protocol: "raft".into(),
            servers: 5,
            seed: 42,
            network: LinkParams {
                latency: Latency {
                    min: Duration::from_ms(10),
                    mean: Duration(20_500),
                    tail: Tail::Exponential,
                },
                drop: Ppm(50_000),
                duplicate: Ppm(1),
                delay_spike: Ppm(125_000),
                spike_min: Duration::from_ms(200),
                spike_max: Duration(2_200_500),
            },
            toggles: vec!["commit-previous-term".into()],
            options: [("prevote".to_string(), "1".to_string())]
                .into_iter()
                .collect(),
            inputs: vec![
                InputRecord {
                    step: 3,
                    time: Time(1_500),
                    input: Input::Crash(NodeId(1)),
                },
                InputRecord {
                    step: 9,
                    time: Time(2_000),
                    input: Input::Request {
                        node: NodeId(5),
                        op: "put x.~&=% 1 ü".into(),
                    },
                },
                InputRecord {
                    step: 12,
                    time: Time(2_000),
                    input: Input::Partition {
                        groups: vec![vec![NodeId(0), NodeId(1)], vec![NodeId(2)]],
                        kind: PartitionKind::OneWay,
                    },
                },
                InputRecord {
                    step: 13,
                    time: Time(3_000),
                    input: Input::Isolate {
                        node: NodeId(2),
                        direction: Direction::Inbound,
                    },
                },
                InputRecord {
                    step: 14,
                    time: Time(3_000),
                    input: Input::Slow {
                        node: NodeId(2),
                        factor: Permille(2_500),
                    },
                },
                InputRecord {
                    step: 15,
                    time: Time(3_001),
                    input: Input::SetLink {
                        from: NodeId(0),
                        to: NodeId(1),
                        params: None,
                    },
                },
                InputRecord {
                    step: 16,
                    time: Time(3_002),
                    input: Input::SetNetwork(LinkParams {
                        latency: Latency::uniform(Duration(0), Duration(1_000)),
                        ..LinkParams::default()
                    }),
                },
                InputRecord {
                    step: 17,
                    time: Time(4_000),
                    input: Input::DropMessage(MsgId(77)),
                },
                InputRecord {
                    step: 18,
                    time: Time(4_000),
                    input: Input::HealAll,
                },
                InputRecord {
                    step: 19,
                    time: Time(4_000),
                    input: Input::Drain,
                },
            ],
            time: Time(4_500_250),
            hash: Some(0xdead_beef_0123_4567),
            embed: Some(Embed {
                autoplay: true,
                controls: vec!["play".into(), "step".into()],
            }),
            speed: Some(20),
            step: Some(77),
            sweep: None,
        }
    }

    #[test]
    fn a_link_round_trips_exactly() {
        let s = sample();
        let text = s.encode();
        assert_eq!(Shared::decode(&text).unwrap(), s);
        assert_eq!(Shared::decode(&format!("#{text}")).unwrap(), s);
        // Only unreserved characters and the format's own separators appear.
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~%&=,:".contains(&b)),
            "{text}"
        );
    }

    #[test]
    fn a_sweep_link_round_trips_and_leaves_out_what_the_seed_draws() {
        let at_end =
            Shared::decode("v=1&p=raft&n=3&seed=5&sweep=1&tog=skip-up-to-date-check").unwrap();
        assert_eq!(at_end.sweep, Some(Sweep::AtEnd));
        assert_eq!((at_end.seed, at_end.servers, at_end.step), (5, 3, None));
        assert_eq!(at_end.toggles, vec!["skip-up-to-date-check".to_string()]);
        assert_eq!(Shared::decode(&at_end.encode()).unwrap(), at_end);
        assert!(!at_end.encode().contains("t="), "{}", at_end.encode());

        let at_moment = Shared::decode(&format!(
            "v=1&p=raft&n=3&seed={}&sweep=1&t=2170.41&s=8121&h=00ff00ff00ff00ff",
            u64::MAX
        ))
        .unwrap();
        assert_eq!(at_moment.sweep, Some(Sweep::AtMoment));
        assert_eq!(
            (
                at_moment.seed,
                at_moment.time,
                at_moment.step,
                at_moment.hash
            ),
            (
                u64::MAX,
                Time(2_170_410),
                Some(8121),
                Some(0x00ff_00ff_00ff_00ff)
            )
        );
        assert!(at_moment.inputs.is_empty() && at_moment.toggles.is_empty());
        let text = at_moment.encode();
        assert!(!text.contains("lat=") && !text.contains("in="), "{text}");
        assert_eq!(Shared::decode(&text).unwrap(), at_moment);
        // sweep=0 is an ordinary link.
        assert_eq!(
            Shared::decode("v=1&p=raft&n=3&seed=5&sweep=0")
                .unwrap()
                .sweep,
            None
        );
    }

    #[test]
    fn bad_sweep_links_say_exactly_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("v=1&p=raft&n=3&seed=x5&sweep=1", "the seed in the link is \"x5\", which is not a whole number"),
            (
                "v=1&p=raft&n=3&seed=18446744073709551616&sweep=1",
                "the seed in the link is 18446744073709551616, above the largest allowed",
            ),
            ("v=1&p=raft&n=0&seed=5&sweep=1", "is 0, but a cluster has 3 to 25 servers"),
            ("v=1&p=raft&n=1&seed=5&sweep=1", "is 1, but a cluster has 3 to 25 servers"),
            ("v=1&p=raft&n=4000000000000&seed=5&sweep=1", "a cluster has 3 to 25 servers"),
            ("v=1&p=raft&n=3&seed=5&sweep=yes", "the sweep setting (sweep) in the link is \"yes\", but it must be 0 or 1"),
            (
                "v=1&p=raft&n=3&seed=5&sweep=1&lat=10-20-u",
                "come from the seed as the sweep draws them; the link cannot also set the latency (lat)",
            ),
            ("v=1&p=raft&n=3&seed=5&sweep=1&in=5.100.crash.1", "cannot also set the input log (in)"),
            ("v=1&p=raft&n=3&seed=5&sweep=1&opt=prevote:0", "cannot also set the protocol options (opt)"),
            (
                "v=1&p=raft&n=3&seed=5&sweep=1&tog=a,b",
                "names 2 toggles, but a sweep link (sweep=1) runs with at most one",
            ),
        ];
        for (fragment, expected) in cases {
            let message = err(fragment);
            assert!(
                message.contains(expected),
                "{fragment:?} gave {message:?}, expected it to mention {expected:?}"
            );
        }
    }

    #[test]
    fn delay_spikes_are_written_only_when_set_and_checked() {
        assert!(!Shared::decode(BASE).unwrap().encode().contains("spike"));
        let s = Shared::decode(&format!("{BASE}&spike=0.05-200-2200")).unwrap();
        assert_eq!(
            (
                s.network.delay_spike,
                s.network.spike_min,
                s.network.spike_max
            ),
            (
                Ppm(50_000),
                Duration::from_ms(200),
                Duration::from_ms(2_200)
            )
        );
        for (spike, expected) in [
            ("0.05-200", "must look like 0.05-200-2200"),
            ("2-200-300", "a probability is between 0 and 1"),
            (
                "0.1-300-200",
                "longest delay (200.000 ms) below its shortest (300.000 ms)",
            ),
            ("0.1-0-99999", "the longest allowed is 60 s"),
        ] {
            let message = err(&format!("{BASE}&spike={spike}"));
            assert!(message.contains(expected), "{spike}: {message}");
        }
    }

    #[test]
    fn a_minimal_link_takes_defaults() {
        let s = Shared::decode("v=1&p=raft&n=3&seed=0").unwrap();
        assert_eq!(s.network, LinkParams::default());
        assert!(s.inputs.is_empty() && s.toggles.is_empty() && s.embed.is_none());
        assert_eq!(s.time, Time::ZERO);
    }

    fn err(fragment: &str) -> String {
        Shared::decode(fragment).unwrap_err().to_string()
    }

    const BASE: &str = "v=1&p=raft&n=5&seed=1";

    #[test]
    fn bad_links_say_exactly_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("", "does not say format version"),
            ("v=2&p=raft&n=5&seed=1", "format version 2"),
            ("v=0&p=raft&n=5&seed=1", "format version 0"),
            ("v=1&p=raft&n=5", "does not say seed"),
            (&format!("{BASE}&seed=2"), "sets \"seed\" more than once"),
            (
                &format!("{BASE}&color=red"),
                "\"color\" that this version does not know",
            ),
            (&format!("{BASE}&junk"), "is not of the form key=value"),
            ("v=1&p=raft&n=5&seed=-3", "cannot be negative"),
            ("v=1&p=raft&n=5&seed=abc", "not a whole number"),
            (
                "v=1&p=raft&n=5&seed=18446744073709551616",
                "above the largest allowed",
            ),
            ("v=1&p=raft&n=5&seed=NaN", "not a whole number"),
            (
                "v=1&p=raft&n=0&seed=1",
                "is 0, but a cluster has 3 to 25 servers",
            ),
            ("v=1&p=raft&n=1&seed=1", "is 1, but a cluster has 3 to 25"),
            ("v=1&p=raft&n=99999999999&seed=1", "a cluster has 3 to 25"),
            (
                &format!("{BASE}&drop=1.5"),
                "a probability is between 0 and 1",
            ),
            (&format!("{BASE}&drop=NaN"), "not a probability"),
            (&format!("{BASE}&dup=inf"), "not a probability"),
            (&format!("{BASE}&drop=-0.1"), "cannot be negative"),
            (&format!("{BASE}&lat=0-0-u"), "mean latency of zero"),
            (&format!("{BASE}&lat=30-10-u"), "below its minimum"),
            (&format!("{BASE}&lat=10-20"), "must look like 10-20-u"),
            (&format!("{BASE}&lat=10-20-x"), "tail must be u"),
            (&format!("{BASE}&tog=%zz"), "broken %-escape"),
            (&format!("{BASE}&tog=%"), "broken %-escape"),
            (&format!("{BASE}&tog=a%FFb"), "not valid UTF-8"),
            (&format!("{BASE}&tog=a,a"), "twice"),
            (&format!("{BASE}&t=-5"), "cannot be negative"),
            (&format!("{BASE}&t=99999999999"), "after the longest run"),
            (
                &format!("{BASE}&in=5.100.crash.1~4.200.crash.2"),
                "input 2 in the link's input log (step 4 at 0.200 ms) comes before",
            ),
            (
                &format!("{BASE}&in=5.100.crash.0"),
                "nodes are numbered from 1",
            ),
            (
                &format!("{BASE}&in=5.100.explode.1"),
                "unknown kind \"explode\"",
            ),
            (
                &format!("{BASE}&in=5.100.crash"),
                "has 0 values where 1 are expected",
            ),
            (
                &format!("{BASE}&in=5.100.part.s.1-2"),
                "fewer than two groups",
            ),
            (&format!("{BASE}&in=x.100.crash.1"), "step \"x\""),
            (&format!("{BASE}&autoplay=1"), "only apply with embed=1"),
            (&format!("{BASE}&embed=yes"), "must be 0 or 1"),
            (&format!("{BASE}&h=xyz"), "hexadecimal"),
            (&format!("{BASE}&speed=0"), "from 0.001 (1/1000x) to 10"),
            (&format!("{BASE}&speed=11"), "from 0.001 (1/1000x) to 10"),
            (&format!("{BASE}&speed=fast"), "not a speed"),
            (&format!("{BASE}&s=-1"), "cannot be negative"),
        ];
        for (fragment, expected) in cases {
            let message = err(fragment);
            assert!(
                message.contains(expected),
                "{fragment:?} gave {message:?}, expected it to mention {expected:?}"
            );
        }
    }

    #[test]
    fn huge_links_are_refused_before_parsing() {
        let huge = format!("{BASE}&tog={}", "a".repeat(MAX_LINK_BYTES));
        assert!(err(&huge).contains("links longer than"));
    }

    #[test]
    fn error_messages_quote_user_text_shortened() {
        let message = err(&format!("{BASE}&{}=1", "k".repeat(500)));
        assert!(message.len() < 200, "{message}");
    }
}
