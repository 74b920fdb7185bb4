//! Stage geometry: where nodes sit and where a message in flight is drawn.
//!
//! Servers sit on a ring, so no node is special by position. Producers sit in
//! a column to the left and consumers and clients to the right. When there
//! are producers or consumers (a pub/sub run), the servers (brokers, then the
//! controller) stand in columns between them instead of a ring, so the flow
//! of messages reads left to right: producers, brokers, consumers. Sizes shrink with the cluster so 3 to 9 servers
//! are comfortable and 25 still fit. All in the SVG's own units.

use sim::{NodeKind, Time};

/// The SVG viewBox width.
pub const WIDTH: f64 = 1000.0;
/// The SVG viewBox height.
pub const HEIGHT: f64 = 640.0;
const RING_CENTRE: (f64, f64) = (470.0, 320.0);
const RING_RADIUS: f64 = 235.0;
const LEFT_X: f64 = 80.0;
const RIGHT_X: f64 = 900.0;

/// Where one node sits, and how big it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Place {
    /// Centre x.
    pub x: f64,
    /// Centre y.
    pub y: f64,
    /// Radius of the node's circle.
    pub r: f64,
}

/// Places every node, given each node's kind in id order.
pub fn place_nodes(kinds: &[NodeKind]) -> Vec<Place> {
    let ring: Vec<usize> = (0..kinds.len())
        .filter(|&i| kinds[i] == NodeKind::Server)
        .collect();
    let left: Vec<usize> = (0..kinds.len())
        .filter(|&i| kinds[i] == NodeKind::Producer)
        .collect();
    let right: Vec<usize> = (0..kinds.len())
        .filter(|&i| matches!(kinds[i], NodeKind::Client | NodeKind::Consumer))
        .collect();

    let mut places = vec![
        Place {
            x: 0.0,
            y: 0.0,
            r: 0.0
        };
        kinds.len()
    ];
    let flow = !left.is_empty() || kinds.contains(&NodeKind::Consumer);
    if flow {
        place_columns(&ring, &mut places);
    } else {
        place_ring(&ring, &mut places);
    }
    for (column, x) in [(&left, LEFT_X), (&right, RIGHT_X)] {
        let count = column.len();
        let r_side = ((HEIGHT - 80.0) / count.max(1) as f64 * 0.32).clamp(12.0, 30.0);
        for (k, &i) in column.iter().enumerate() {
            let y = HEIGHT / 2.0
                + (k as f64 - (count as f64 - 1.0) / 2.0) * ((HEIGHT - 80.0) / count.max(1) as f64);
            places[i] = Place { x, y, r: r_side };
        }
    }
    places
}

/// The most servers stacked in one column of a left-to-right layout.
const COLUMN_ROWS: usize = 5;
/// The distance between two server columns.
const COLUMN_GAP: f64 = 200.0;
/// How far every other row steps aside, so that a link between two nodes
/// of a column does not run through the node between them.
const ZIGZAG: f64 = 36.0;

/// Stacks the servers top to bottom in id order, in as few columns of at
/// most [`COLUMN_ROWS`] as it takes, centred between the producers and the
/// consumers, in a zigzag. Each node leaves room below it for its badges
/// and strip.
fn place_columns(servers: &[usize], places: &mut [Place]) {
    let columns = servers.len().div_ceil(COLUMN_ROWS).max(1);
    let rows = servers.len().div_ceil(columns).max(1);
    let slot = (HEIGHT - 80.0) / rows as f64;
    let r = (slot * 0.25).clamp(15.0, 36.0);
    for (k, &i) in servers.iter().enumerate() {
        let (column, row) = (k / rows, k % rows);
        let in_column = (servers.len() - column * rows).min(rows);
        places[i] = Place {
            x: RING_CENTRE.0
                + (column as f64 - (columns as f64 - 1.0) / 2.0) * COLUMN_GAP
                + if row % 2 == 0 { -ZIGZAG } else { ZIGZAG },
            // A little above the slot's middle: the strip hangs below.
            y: HEIGHT / 2.0 + (row as f64 - (in_column as f64 - 1.0) / 2.0) * slot - slot * 0.12,
            r,
        };
    }
}

/// Puts the servers on a ring, the first at the top.
fn place_ring(ring: &[usize], places: &mut [Place]) {
    let n = ring.len().max(1) as f64;
    // The ring's circumference shared among the servers, a third of each
    // share for the node itself, kept between readable bounds.
    let r_server = (std::f64::consts::TAU * RING_RADIUS / n * 0.3).clamp(15.0, 46.0);
    for (k, &i) in ring.iter().enumerate() {
        // Start at the top and go clockwise, as people read a clock.
        let angle = -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * k as f64 / n;
        places[i] = Place {
            x: RING_CENTRE.0 + RING_RADIUS * angle.cos(),
            y: RING_CENTRE.1 + RING_RADIUS * angle.sin(),
            r: if ring.len() == 1 { 46.0 } else { r_server },
        };
    }
}

/// How far along its path a message is at `now`: 0 at the sender, 1 at the
/// receiver (and held there if it waits at a slow or paused node).
pub fn progress(sent: Time, arrives: Time, now: Time) -> f64 {
    if arrives <= sent {
        return if now >= arrives { 1.0 } else { 0.0 };
    }
    let done = now.0.saturating_sub(sent.0) as f64;
    (done / (arrives.0 - sent.0) as f64).clamp(0.0, 1.0)
}

/// Where a message from `a` to `b` is drawn at progress `t`. Messages run
/// between the circles' edges, in a lane offset to the right of the
/// direction of travel, so a request and its reply never overlap.
pub fn message_point(a: Place, b: Place, t: f64) -> (f64, f64) {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let lane = 6.0;
    let start = (a.x + ux * a.r - uy * lane, a.y + uy * a.r + ux * lane);
    let end = (b.x - ux * b.r - uy * lane, b.y - uy * b.r + ux * lane);
    (
        start.0 + (end.0 - start.0) * t,
        start.1 + (end.1 - start.1) * t,
    )
}

/// The two ends of the lane from `a` to `b` (for drawing link states).
pub fn lane(a: Place, b: Place) -> ((f64, f64), (f64, f64)) {
    (message_point(a, b, 0.0), message_point(a, b, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(n: usize) -> Vec<NodeKind> {
        vec![NodeKind::Server; n]
    }

    #[test]
    fn servers_sit_on_a_ring_without_overlapping_up_to_25() {
        for n in [3, 5, 9, 25] {
            let p = place_nodes(&servers(n));
            for i in 0..n {
                for j in i + 1..n {
                    let d = ((p[i].x - p[j].x).powi(2) + (p[i].y - p[j].y).powi(2)).sqrt();
                    assert!(d > p[i].r + p[j].r, "n={n}: nodes {i} and {j} overlap");
                }
                assert!(p[i].x - p[i].r >= 0.0 && p[i].x + p[i].r <= WIDTH);
                assert!(p[i].y - p[i].r >= 0.0 && p[i].y + p[i].r <= HEIGHT);
            }
            // The first server is at the top.
            assert!(p[0].y < p.iter().map(|q| q.y).fold(f64::MAX, f64::min) + 1e-6);
        }
    }

    #[test]
    fn clients_and_consumers_right_producers_left() {
        let kinds = [
            NodeKind::Producer,
            NodeKind::Server,
            NodeKind::Server,
            NodeKind::Server,
            NodeKind::Consumer,
            NodeKind::Client,
        ];
        let p = place_nodes(&kinds);
        assert!(p[0].x < p[1].x.min(p[2].x).min(p[3].x));
        assert!(p[4].x > p[1].x.max(p[2].x).max(p[3].x));
        assert_eq!(p[4].x, p[5].x);
        assert!(p[4].y < p[5].y);
    }

    /// A queue reads left to right: producers, then every broker and the
    /// controller, then consumers; servers do not overlap, stay on the
    /// stage, and a Raft run with clients keeps its ring.
    #[test]
    fn a_queue_reads_left_to_right() {
        for servers in [2, 4, 6, 10] {
            let mut kinds = vec![NodeKind::Server; servers];
            kinds.extend([NodeKind::Producer, NodeKind::Consumer, NodeKind::Consumer]);
            let p = place_nodes(&kinds);
            let (s, rest) = p.split_at(servers);
            let (lo, hi) = s.iter().fold((f64::MAX, f64::MIN), |(lo, hi), q| {
                (lo.min(q.x - q.r), hi.max(q.x + q.r))
            });
            assert!(
                rest[0].x + rest[0].r < lo,
                "{servers}: producer left of the brokers"
            );
            assert!(rest[1].x - rest[1].r > hi && rest[2].x == rest[1].x);
            for i in 0..servers {
                assert!(
                    s[i].y - s[i].r >= 0.0 && s[i].y + s[i].r + 40.0 <= HEIGHT,
                    "{servers}: {i}"
                );
                for j in i + 1..servers {
                    let d = ((s[i].x - s[j].x).powi(2) + (s[i].y - s[j].y).powi(2)).sqrt();
                    // Room for the node, its badge and its strip below.
                    assert!(
                        d > s[i].r + s[j].r + 40.0,
                        "{servers}: {i} and {j} too close"
                    );
                }
            }
            // Brokers in id order, top to bottom in the first column; a
            // link from a node to the one two rows down misses the node
            // between them.
            assert!(s[0].y < s[1].y);
            if servers >= 3 {
                assert!((s[1].x - s[0].x).abs() > s[1].r, "{servers}: a zigzag");
                assert_eq!(s[0].x, s[2].x);
            }
        }
        let mut raft = servers(5);
        raft.push(NodeKind::Client);
        assert_eq!(place_nodes(&raft)[..5], place_nodes(&servers(5))[..]);
    }

    #[test]
    fn progress_is_clamped_and_handles_zero_latency() {
        assert_eq!(progress(Time(100), Time(200), Time(150)), 0.5);
        assert_eq!(progress(Time(100), Time(200), Time(50)), 0.0);
        assert_eq!(progress(Time(100), Time(200), Time(900)), 1.0);
        assert_eq!(progress(Time(100), Time(100), Time(100)), 1.0);
    }

    #[test]
    fn a_request_and_its_reply_use_different_lanes() {
        let a = Place {
            x: 0.0,
            y: 0.0,
            r: 10.0,
        };
        let b = Place {
            x: 100.0,
            y: 0.0,
            r: 10.0,
        };
        let there = message_point(a, b, 0.5);
        let back = message_point(b, a, 0.5);
        assert_eq!(there.0, back.0);
        assert!((there.1 - back.1).abs() >= 10.0);
        // Messages start and end at the circles' edges.
        assert_eq!(message_point(a, b, 0.0).0, 10.0);
        assert_eq!(message_point(a, b, 1.0).0, 90.0);
    }
}
