//! The queue in the app: the [`Interactive`] contract. An operation is
//! written as people type it, `publish 3` (the key picks the partition),
//! and goes to a producer.

use sim::{Interactive, NodeId, NodeKind, Rule};

use super::node::PubSubOp;
use super::PubSub;

/// The largest key a person may type (keys are small numbers: the key only
/// picks the partition).
pub const MAX_KEY: u32 = 1_000_000;

/// The queue's liveness check: the sweep's convergence predicate
/// ([`sim::Sweepable::converged`] for [`PubSub`]), in a sentence.
pub const LIVENESS: Rule = Rule {
    id: "L1",
    name: "Delivery and progress",
    description: "Once a majority of brokers and every client can talk again, within the bound every partition has a live leader whose high watermark is its log end, the healed brokers hold that log, every group has processed and committed every partition to its end, and no producer has a message waiting.",
};

impl Interactive for PubSub {
    fn liveness_rule(&self) -> Rule {
        LIVENESS
    }

    fn node_kind(&self, id: NodeId) -> NodeKind {
        if id.index() <= self.brokers {
            // The brokers and the controller.
            NodeKind::Server
        } else if self.producer_ids().contains(&id) {
            NodeKind::Producer
        } else {
            NodeKind::Consumer
        }
    }

    /// Keys 0, 1, 2, ... in turn, so that clicks spread over the partitions.
    fn sample_op(&self, n: u64) -> PubSubOp {
        PubSubOp::Publish {
            key: (n % u64::from(MAX_KEY)) as u32,
        }
    }

    fn parse_op(&self, text: &str) -> Result<PubSubOp, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["publish", key] => key
                .parse::<u32>()
                .ok()
                .filter(|&k| k <= MAX_KEY)
                .map(|key| PubSubOp::Publish { key })
                .ok_or_else(|| {
                    format!("the key \"{key}\" is not a whole number from 0 to {MAX_KEY}")
                }),
            [] => Err("it is empty; write for example \"publish 3\"".into()),
            ["publish"] => Err("\"publish\" takes a key, as in \"publish 3\"".into()),
            [verb, ..] => Err(format!(
                "\"{verb}\" is not an operation; use publish, as in \"publish 3\""
            )),
        }
    }

    fn format_op(&self, op: &PubSubOp) -> String {
        match op {
            PubSubOp::Publish { key } => format!("publish {key}"),
        }
    }

    fn request_target(&self) -> Option<NodeId> {
        self.producer_ids().first().copied()
    }

    /// Replication, producing, consuming and control each get a colour; a
    /// request and its reply share one.
    fn message_colours(&self) -> &'static [(&'static str, u8)] {
        &[
            ("Fetch", 0),
            ("FetchReply", 0),
            ("Produce", 1),
            ("ProduceReply", 1),
            ("ConsumerFetch", 2),
            ("ConsumerFetchReply", 2),
            ("OffsetCommit", 3),
            ("OffsetCommitReply", 3),
            ("BrokerHeartbeat", 4),
            ("Partitions", 4),
            ("AlterIsr", 5),
            ("JoinGroup", 6),
            ("Assignment", 6),
            ("GroupHeartbeat", 7),
            ("GroupHeartbeatReply", 7),
            ("MetadataRequest", 8),
            ("Metadata", 8),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::{Delivery, GroupSpec};

    fn queue() -> PubSub {
        PubSub::new(3, 1, 2).with_groups(vec![GroupSpec {
            name: "billing".to_string(),
            members: 1,
            mode: Delivery::AtLeastOnce,
        }])
    }

    #[test]
    fn operations_read_back_and_bad_ones_say_why() {
        let q = queue();
        for n in [0, 1, 7, 123] {
            let op = q.sample_op(n);
            assert_eq!(q.parse_op(&q.format_op(&op)), Ok(op));
        }
        assert_eq!(
            q.parse_op("  publish   4 "),
            Ok(PubSubOp::Publish { key: 4 })
        );
        assert!(q.parse_op("").unwrap_err().contains("empty"));
        assert!(q.parse_op("publish").unwrap_err().contains("takes a key"));
        assert!(q
            .parse_op("publish -1")
            .unwrap_err()
            .contains("whole number"));
        assert!(q
            .parse_op("publish 2000000")
            .unwrap_err()
            .contains("whole number"));
        assert!(q
            .parse_op("put x 1")
            .unwrap_err()
            .contains("not an operation"));
    }

    #[test]
    fn node_kinds_and_the_request_target_follow_the_layout() {
        let q = queue();
        let kinds: Vec<NodeKind> = (0..6).map(|i| q.node_kind(NodeId(i))).collect();
        assert_eq!(
            kinds,
            [
                NodeKind::Server,
                NodeKind::Server,
                NodeKind::Server,
                NodeKind::Server,
                NodeKind::Producer,
                NodeKind::Consumer
            ]
        );
        assert_eq!(q.request_target(), Some(NodeId(4)));
        let kinds: Vec<&str> = q.message_colours().iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds.len(), 17, "every message kind has a colour");
    }
}
