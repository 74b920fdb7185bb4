//! The linearizability checker against Porcupine's published histories:
//! every one must be decided, with the verdict Porcupine's own tests give
//! it, whether the history is fed whole or event by event as the app's
//! live check feeds it (which exercises resuming, backing out of a place
//! given to an operation whose result arrives later, and forgetting the
//! past).

use std::path::PathBuf;

use protocols::linearizability::formats::{parse_jepsen_cas_log, parse_kv_log};
use protocols::linearizability::{check_logged, CasRegister, Feed, Kv, Verdict};

/// Far more than any of these histories needs: a search that has not
/// decided by then has a bug, not a hard history.
const BUDGET: u64 = 200_000_000;

/// The etcd histories Porcupine's tests judge linearizable; every other one
/// (but the empty etcd_095, which they skip) is not.
const ETCD_OK: &[u32] = &[
    2, 5, 7, 18, 25, 31, 38, 45, 48, 49, 51, 53, 56, 67, 75, 76, 80, 87, 92, 98, 100, 101, 102,
];

fn data(path: &str) -> String {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/porcupine")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn kv(name: &str, feed: Feed) -> Verdict {
    let events = parse_kv_log(&data(&format!("kv/{name}.txt"))).expect("a valid log");
    assert!(!events.is_empty());
    check_logged(&Kv, &events, BUDGET, feed).expect("well-formed")
}

fn etcd(n: u32, feed: Feed) -> Verdict {
    let events =
        parse_jepsen_cas_log(&data(&format!("jepsen/etcd_{n:03}.log"))).expect("a valid log");
    check_logged(&CasRegister, &events, BUDGET, feed).expect("well-formed")
}

#[test]
fn every_kv_history_gets_porcupines_verdict() {
    // Fifty clients fed live cost a search many times what the whole
    // history does (every return asks for an answer about a history that
    // is still open); the live check is for the app's handful of clients.
    for (feed, sizes) in [
        (Feed::Whole, &["c01", "c10", "c50"][..]),
        (Feed::Live, &["c01", "c10"][..]),
    ] {
        for clients in sizes {
            assert_eq!(
                kv(&format!("{clients}-ok"), feed),
                Verdict::Linearizable,
                "{clients}-ok, {feed:?}"
            );
            assert_eq!(
                kv(&format!("{clients}-bad"), feed),
                Verdict::NotLinearizable,
                "{clients}-bad, {feed:?}"
            );
        }
    }
}

#[test]
fn every_jepsen_etcd_history_gets_porcupines_verdict() {
    let mut ok = 0;
    for n in (0..=102).filter(|&n| n != 95) {
        let expected = if ETCD_OK.contains(&n) {
            ok += 1;
            Verdict::Linearizable
        } else {
            Verdict::NotLinearizable
        };
        for feed in [Feed::Whole, Feed::Live] {
            assert_eq!(etcd(n, feed), expected, "etcd_{n:03}, {feed:?}");
        }
    }
    assert_eq!(ok, ETCD_OK.len());
    assert_eq!(etcd(95, Feed::Whole), Verdict::Linearizable, "empty");
}

#[test]
fn a_small_budget_says_unknown_and_never_a_wrong_verdict() {
    // c50-ok needs many steps: with a handful it must admit it does not
    // know, not call the history broken.
    let events = parse_kv_log(&data("kv/c50-ok.txt")).unwrap();
    assert_eq!(
        check_logged(&Kv, &events, 10, Feed::Whole).unwrap(),
        Verdict::Unknown
    );
}
