//! Readers for the two published history formats that this checker is
//! tested against: Porcupine's key-value logs (Jepsen's EDN operation maps,
//! one per line) and Jepsen's etcd register logs (as logged by
//! `jepsen.util`). Both are event sequences in the order they happened.

use std::fmt;

use super::model::{CasInput, CasOutput, KvInput};

/// One event of a logged history. A call names the key (the partition) it
/// touches; a return belongs to the process's pending call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Logged<I, O> {
    /// `process` called `input` on `key`.
    Call {
        /// The calling process.
        process: u64,
        /// The key it touches (every operation of a register shares one).
        key: String,
        /// The operation.
        input: I,
    },
    /// `process`'s pending call returned `output` (`None`: it returned, but
    /// its result is unknown or was not logged).
    Return {
        /// The process.
        process: u64,
        /// What it returned.
        output: Option<O>,
    },
}

/// A line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    /// The line's number, from 1.
    pub line: usize,
    /// What was wrong with it.
    pub reason: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for FormatError {}

/// Reads a Porcupine key-value log: lines such as
/// `{:process 3, :type :invoke, :f :append, :key "1", :value "x 3 0 y"}`.
/// An `:ok` get returns the value it read; an `:ok` put or append returns
/// nothing the model checks. Blank lines are skipped.
pub fn parse_kv_log(text: &str) -> Result<Vec<Logged<KvInput, String>>, FormatError> {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let err = |reason: &str| FormatError {
            line: i + 1,
            reason: reason.to_string(),
        };
        let process = edn_field(line, ":process ")
            .and_then(|p| p.parse::<u64>().ok())
            .ok_or_else(|| err("no :process number"))?;
        let kind = edn_field(line, ":type ").ok_or_else(|| err("no :type"))?;
        let f = edn_field(line, ":f ").ok_or_else(|| err("no :f"))?;
        let key = edn_string(line, ":key ").ok_or_else(|| err("no :key string"))?;
        let value = edn_string(line, ":value ");
        match kind {
            ":invoke" => {
                let input = match f {
                    ":get" => KvInput::Get,
                    ":put" => KvInput::Put(value.ok_or_else(|| err("a put without a value"))?),
                    ":append" => {
                        KvInput::Append(value.ok_or_else(|| err("an append without a value"))?)
                    }
                    _ => return Err(err("an unknown :f")),
                };
                events.push(Logged::Call {
                    process,
                    key,
                    input,
                });
            }
            ":ok" => events.push(Logged::Return {
                process,
                output: if f == ":get" {
                    Some(value.ok_or_else(|| err("a get without a value"))?)
                } else {
                    None
                },
            }),
            // An operation whose outcome is unknown stays pending.
            ":info" => {}
            _ => return Err(err("an unknown :type")),
        }
    }
    Ok(events)
}

/// Reads a Jepsen etcd register log: lines such as
/// `INFO  jepsen.util - 2 :invoke :cas [3 0]` (fields separated by tabs or
/// spaces). Lines of other loggers are
/// skipped. A read that failed with `:timed-out` returned with an unknown
/// result; an `:info` operation (timed out, outcome unknown) never returns.
pub fn parse_jepsen_cas_log(text: &str) -> Result<Vec<Logged<CasInput, CasOutput>>, FormatError> {
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.split_once("jepsen.util - ").map(|(_, r)| r) else {
            continue;
        };
        let err = |reason: &str| FormatError {
            line: i + 1,
            reason: reason.to_string(),
        };
        // Fields are separated by tabs in some logs and spaces in others.
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let [process, kind, f, ref arg @ ..] = fields[..] else {
            return Err(err("fewer than four fields"));
        };
        if arg.is_empty() {
            return Err(err("fewer than four fields"));
        }
        let arg = &arg.join(" ");
        let process = process
            .trim()
            .parse::<u64>()
            .map_err(|_| err("no process number"))?;
        let int = |s: &str| s.trim().parse::<i64>().map_err(|_| err("not an integer"));
        let pair = |s: &str| -> Result<(i64, i64), FormatError> {
            let inner = s
                .trim()
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .ok_or_else(|| err("not a [from to] pair"))?;
            let (a, b) = inner
                .split_once(' ')
                .ok_or_else(|| err("not a [from to] pair"))?;
            Ok((int(a)?, int(b)?))
        };
        let key = String::new();
        match (kind, f) {
            (":invoke", ":read") => events.push(Logged::Call {
                process,
                key,
                input: CasInput::Read,
            }),
            (":invoke", ":write") => events.push(Logged::Call {
                process,
                key,
                input: CasInput::Write(int(arg)?),
            }),
            (":invoke", ":cas") => {
                let (from, to) = pair(arg)?;
                events.push(Logged::Call {
                    process,
                    key,
                    input: CasInput::Cas(from, to),
                });
            }
            (":ok", ":read") => events.push(Logged::Return {
                process,
                output: Some(CasOutput::Read(if arg.trim() == "nil" {
                    None
                } else {
                    Some(int(arg)?)
                })),
            }),
            (":ok", ":write") => events.push(Logged::Return {
                process,
                output: Some(CasOutput::Written),
            }),
            (":ok" | ":fail", ":cas") => events.push(Logged::Return {
                process,
                output: Some(CasOutput::Cas(kind == ":ok")),
            }),
            (":fail", ":read") => events.push(Logged::Return {
                process,
                output: None,
            }),
            (":info", _) => {}
            _ => return Err(err("an unknown operation")),
        }
    }
    Ok(events)
}

/// The text after `name` up to the next `,` or `}`.
fn edn_field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(name)? + name.len();
    let rest = &line[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// The string literal after `name` (`None` if there is none, as for `nil`).
fn edn_string(line: &str, name: &str) -> Option<String> {
    let start = line.find(name)? + name.len();
    let rest = line[start..].strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_lines_become_calls_and_returns() {
        let text = "{:process 3, :type :invoke, :f :append, :key \"1\", :value \"x 3 0 y\"}\n\
                    {:process 3, :type :ok, :f :append, :key \"1\", :value \"x 3 0 y\"}\n\
                    {:process 4, :type :invoke, :f :get, :key \"1\", :value nil}\n\
                    {:process 4, :type :ok, :f :get, :key \"1\", :value \"x 3 0 y\"}\n";
        let events = parse_kv_log(text).unwrap();
        assert_eq!(
            events,
            vec![
                Logged::Call {
                    process: 3,
                    key: "1".into(),
                    input: KvInput::Append("x 3 0 y".into())
                },
                Logged::Return {
                    process: 3,
                    output: None
                },
                Logged::Call {
                    process: 4,
                    key: "1".into(),
                    input: KvInput::Get
                },
                Logged::Return {
                    process: 4,
                    output: Some("x 3 0 y".into())
                },
            ]
        );
        let bad = parse_kv_log("{:process x, :type :invoke}").unwrap_err();
        assert_eq!(bad.line, 1);
    }

    #[test]
    fn jepsen_lines_become_calls_and_returns() {
        let text = "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\
                    INFO  jepsen.core - something else\n\
                    INFO  jepsen.util - 2\t:fail\t:cas\t[3 0]\n\
                    INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - 1\t:ok\t:read\tnil\n\
                    INFO  jepsen.util - 5\t:invoke\t:write\t4\n\
                    INFO  jepsen.util - 5 :info   :write  :timed-out\n";
        let events = parse_jepsen_cas_log(text).unwrap();
        assert_eq!(events.len(), 5);
        assert_eq!(
            events[1],
            Logged::Return {
                process: 2,
                output: Some(CasOutput::Cas(false))
            }
        );
        assert_eq!(
            events[3],
            Logged::Return {
                process: 1,
                output: Some(CasOutput::Read(None))
            }
        );
        assert!(matches!(
            events[4],
            Logged::Call {
                process: 5,
                input: CasInput::Write(4),
                ..
            }
        ));
        let bad = parse_jepsen_cas_log("INFO  jepsen.util - 2\t:invoke\t:cas\t[3]").unwrap_err();
        assert_eq!(bad.line, 1);
    }
}
