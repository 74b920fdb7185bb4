//! Raft in the app: the [`Interactive`] contract. Operations are written as
//! people type them: `put x 1`, `get x`, `append x abc`, and `timeout` (make
//! a server's election timer expire now).

use sim::{Interactive, NodeId, NodeKind, Rule};

use super::node::RaftOp;
use super::{KvOp, Raft, RaftTimer};

impl Interactive for Raft {
    fn node_kind(&self, id: NodeId) -> NodeKind {
        if self.is_server(id) {
            NodeKind::Server
        } else {
            NodeKind::Client
        }
    }

    /// Cycles through a put, an append and a get on a few keys, so that a
    /// handful of clicks shows every kind of operation.
    fn sample_op(&self, n: u64) -> RaftOp {
        let key = ["x", "y", "z"][(n % 3) as usize].to_string();
        RaftOp::Kv(match n % 3 {
            1 => KvOp::Put {
                key,
                value: n.to_string(),
            },
            2 => KvOp::Append {
                key,
                value: n.to_string(),
            },
            _ => KvOp::Get { key },
        })
    }

    fn parse_op(&self, text: &str) -> Result<RaftOp, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let check_key = |k: &str| {
            if k.chars().count() > 64 {
                Err(format!(
                    "the key \"{}…\" is longer than 64 characters",
                    k.chars().take(16).collect::<String>()
                ))
            } else {
                Ok(k.to_string())
            }
        };
        match words.as_slice() {
            ["timeout"] => Ok(RaftOp::Timeout),
            ["get", key] => Ok(RaftOp::Kv(KvOp::Get {
                key: check_key(key)?,
            })),
            ["put", key, value] => Ok(RaftOp::Kv(KvOp::Put {
                key: check_key(key)?,
                value: value.to_string(),
            })),
            ["append", key, value] => Ok(RaftOp::Kv(KvOp::Append {
                key: check_key(key)?,
                value: value.to_string(),
            })),
            [] => Err(
                "it is empty; write for example \"put x 1\", \"get x\" or \"append x 2\"".into(),
            ),
            [verb, ..] if ["get", "put", "append", "timeout"].contains(verb) => Err(format!(
                "\"{verb}\" takes {}",
                match *verb {
                    "get" => "a key, as in \"get x\"",
                    "put" => "a key and a value, as in \"put x 1\"",
                    "append" => "a key and a value, as in \"append x 2\"",
                    _ => "nothing else",
                }
            )),
            [verb, ..] => Err(format!(
                "\"{verb}\" is not an operation; use put, get, append or timeout"
            )),
        }
    }

    fn format_op(&self, op: &RaftOp) -> String {
        match op {
            RaftOp::Timeout => "timeout".into(),
            RaftOp::Kv(KvOp::Get { key }) => format!("get {key}"),
            RaftOp::Kv(KvOp::Put { key, value }) => format!("put {key} {value}"),
            RaftOp::Kv(KvOp::Append { key, value }) => format!("append {key} {value}"),
        }
    }

    fn message_colours(&self) -> &'static [(&'static str, u8)] {
        &[
            ("PreVote", 0),
            ("PreVoteReply", 0),
            ("RequestVote", 1),
            ("RequestVoteReply", 1),
            ("AppendEntries", 2),
            ("AppendEntriesReply", 2),
            ("ClientRequest", 3),
            ("ClientReply", 3),
        ]
    }

    fn countdown_timer(&self) -> Option<RaftTimer> {
        Some(RaftTimer::Election)
    }

    fn liveness_rule(&self) -> Rule {
        super::checker::LIVENESS
    }

    fn node_actions(&self, id: NodeId) -> Vec<(String, String)> {
        if self.is_server(id) {
            vec![("Time out now".into(), "timeout".into())]
        } else {
            vec![
                ("Send put".into(), format!("put x {}", id.0)),
                ("Send append".into(), format!("append x {}", id.0)),
                ("Send get".into(), "get x".into()),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_round_trip_through_text() {
        let raft = Raft::new(3, 1);
        for n in 0..6 {
            let op = raft.sample_op(n);
            assert_eq!(raft.parse_op(&raft.format_op(&op)).unwrap(), op);
        }
        assert_eq!(
            raft.parse_op("  put   k   v ").unwrap(),
            RaftOp::Kv(KvOp::Put {
                key: "k".into(),
                value: "v".into()
            })
        );
        assert_eq!(raft.parse_op("timeout").unwrap(), RaftOp::Timeout);
    }

    #[test]
    fn bad_operations_say_what_is_expected() {
        let raft = Raft::new(3, 1);
        assert!(raft.parse_op("").unwrap_err().contains("put x 1"));
        assert!(raft
            .parse_op("put x")
            .unwrap_err()
            .contains("a key and a value"));
        assert!(raft
            .parse_op("delete x")
            .unwrap_err()
            .contains("not an operation"));
        assert!(raft
            .parse_op(&format!("get {}", "k".repeat(100)))
            .unwrap_err()
            .contains("longer than 64"));
    }
}
