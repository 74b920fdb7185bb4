//! Paxos in the app: the [`Interactive`] contract. Operations are written as
//! people type them: `propose v9` (single-decree, to a server), `put x 1`,
//! `get x`, `append x abc` (Multi-Paxos, to a client), and `prepare` (make a
//! server start a ballot now).

use sim::{Interactive, NodeId, NodeKind, Rule};

use super::node::PaxosOp;
use super::{Mode, MultiPaxos, Paxos, PaxosTimer};
use crate::kv::KvOp;

/// The longest key or value a person may type.
const MAX_WORD: usize = 64;

fn check_word(what: &str, w: &str) -> Result<String, String> {
    if w.chars().count() > MAX_WORD {
        Err(format!(
            "the {what} \"{}…\" is longer than {MAX_WORD} characters",
            w.chars().take(16).collect::<String>()
        ))
    } else {
        Ok(w.to_string())
    }
}

impl Interactive for Paxos {
    fn node_kind(&self, id: NodeId) -> NodeKind {
        if self.is_server(id) {
            NodeKind::Server
        } else {
            NodeKind::Client
        }
    }

    /// Single-decree: a new value to propose. Multi-Paxos: cycles through a
    /// put, an append and a get on a few keys.
    fn sample_op(&self, n: u64) -> PaxosOp {
        if self.mode() == Mode::Single {
            return PaxosOp::Propose(format!("w{n}"));
        }
        let key = ["x", "y", "z"][(n % 3) as usize].to_string();
        PaxosOp::Kv(match n % 3 {
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

    /// Single-decree requests go to a server (the first one): there are no
    /// clients.
    fn request_target(&self) -> Option<NodeId> {
        match self.mode() {
            Mode::Single => self.server_ids().first().copied(),
            Mode::Multi => self.client_ids().first().copied(),
        }
    }

    fn parse_op(&self, text: &str) -> Result<PaxosOp, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["prepare"] => Ok(PaxosOp::Prepare),
            ["propose", v] => Ok(PaxosOp::Propose(check_word("value", v)?)),
            ["get", key] => Ok(PaxosOp::Kv(KvOp::Get {
                key: check_word("key", key)?,
            })),
            ["put", key, value] => Ok(PaxosOp::Kv(KvOp::Put {
                key: check_word("key", key)?,
                value: check_word("value", value)?,
            })),
            ["append", key, value] => Ok(PaxosOp::Kv(KvOp::Append {
                key: check_word("key", key)?,
                value: check_word("value", value)?,
            })),
            [] => Err(
                "it is empty; write for example \"propose v9\", \"put x 1\", \"get x\" or \"prepare\""
                    .into(),
            ),
            [verb, ..] if ["get", "put", "append", "propose", "prepare"].contains(verb) => {
                Err(format!(
                    "\"{verb}\" takes {}",
                    match *verb {
                        "get" => "a key, as in \"get x\"",
                        "put" => "a key and a value, as in \"put x 1\"",
                        "append" => "a key and a value, as in \"append x 2\"",
                        "propose" => "one value, as in \"propose v9\"",
                        _ => "nothing else",
                    }
                ))
            }
            [verb, ..] => Err(format!(
                "\"{verb}\" is not an operation; use propose, prepare, put, get or append"
            )),
        }
    }

    fn format_op(&self, op: &PaxosOp) -> String {
        match op {
            PaxosOp::Prepare => "prepare".into(),
            PaxosOp::Propose(v) => format!("propose {v}"),
            PaxosOp::Kv(KvOp::Get { key }) => format!("get {key}"),
            PaxosOp::Kv(KvOp::Put { key, value }) => format!("put {key} {value}"),
            PaxosOp::Kv(KvOp::Append { key, value }) => format!("append {key} {value}"),
        }
    }

    /// Each message kind of the two phases has its own colour.
    fn message_colours(&self) -> &'static [(&'static str, u8)] {
        &[
            ("Prepare", 0),
            ("Promise", 1),
            ("Accept", 2),
            ("Accepted", 3),
            ("Nack", 4),
            ("Chosen", 5),
            ("CatchUp", 6),
            ("Heartbeat", 7),
            ("ClientRequest", 8),
            ("ClientReply", 8),
        ]
    }

    fn countdown_timer(&self) -> Option<PaxosTimer> {
        Some(match self.mode() {
            Mode::Single => PaxosTimer::Propose,
            Mode::Multi => PaxosTimer::LeaderTimeout,
        })
    }

    /// L1 for single-decree, L2 for Multi-Paxos.
    fn liveness_rule(&self) -> Rule {
        match self.mode() {
            Mode::Single => super::checker::LIVENESS[0],
            Mode::Multi => super::checker::LIVENESS[1],
        }
    }

    fn node_actions(&self, id: NodeId) -> Vec<(String, String)> {
        if self.is_server(id) {
            let mut actions = vec![("Start a ballot".into(), "prepare".into())];
            if self.mode() == Mode::Single {
                actions.push(("Propose a value".into(), format!("propose p{}", id.0 + 1)));
            }
            actions
        } else {
            vec![
                ("Send put".into(), format!("put x {}", id.0)),
                ("Send append".into(), format!("append x {}", id.0)),
                ("Send get".into(), "get x".into()),
            ]
        }
    }
}

/// Multi-Paxos in the app is exactly [`Paxos`] in [`Mode::Multi`].
impl Interactive for MultiPaxos {
    fn node_kind(&self, id: NodeId) -> NodeKind {
        self.0.node_kind(id)
    }

    fn sample_op(&self, n: u64) -> PaxosOp {
        self.0.sample_op(n)
    }

    fn request_target(&self) -> Option<NodeId> {
        self.0.request_target()
    }

    fn parse_op(&self, text: &str) -> Result<PaxosOp, String> {
        self.0.parse_op(text)
    }

    fn format_op(&self, op: &PaxosOp) -> String {
        self.0.format_op(op)
    }

    fn message_colours(&self) -> &'static [(&'static str, u8)] {
        self.0.message_colours()
    }

    fn countdown_timer(&self) -> Option<PaxosTimer> {
        self.0.countdown_timer()
    }

    fn node_actions(&self, id: NodeId) -> Vec<(String, String)> {
        self.0.node_actions(id)
    }

    fn liveness_rule(&self) -> Rule {
        self.0.liveness_rule()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_round_trip_through_text() {
        for paxos in [Paxos::single(3, 2), Paxos::multi(3, 1)] {
            for n in 0..6 {
                let op = paxos.sample_op(n);
                assert_eq!(paxos.parse_op(&paxos.format_op(&op)).unwrap(), op);
            }
        }
        let p = Paxos::single(3, 1);
        assert_eq!(p.parse_op(" prepare ").unwrap(), PaxosOp::Prepare);
        assert_eq!(
            p.parse_op("propose  v7").unwrap(),
            PaxosOp::Propose("v7".into())
        );
    }

    #[test]
    fn bad_operations_say_what_is_expected() {
        let p = Paxos::multi(3, 1);
        assert!(p.parse_op("").unwrap_err().contains("propose v9"));
        assert!(p.parse_op("propose").unwrap_err().contains("one value"));
        assert!(p
            .parse_op("delete x")
            .unwrap_err()
            .contains("not an operation"));
        assert!(p
            .parse_op(&format!("propose {}", "v".repeat(100)))
            .unwrap_err()
            .contains("longer than 64"));
    }
}
