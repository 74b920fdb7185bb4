use protocols::pubsub::PubSub;
use sim::sweep::run_seed_traced;
use sim::Sweepable;
use std::rc::Rc;

#[test]
fn debug_seed() {
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let toggle = std::env::var("TOGGLE").ok();
    let q = Rc::new(PubSub::for_sweep(std::env::var("NODES").map_or(3, |n| n.parse().unwrap()), toggle.as_deref()).unwrap());
    let mut lines: Vec<String> = Vec::new();
    let mut last_scenes = String::new();
    let filter = std::env::var("FILTER").unwrap_or_default();
    let mut f = |r: &sim::StepRecord<protocols::pubsub::PubSubNode>, w: &sim::World<PubSub>| {
        let h = r.headline();
        if filter.is_empty()
            || filter.split(',').any(|x| h.contains(x))
            || r.node.is_none()
            || !r.out.notes().is_empty()
        {
            let mut s = format!("{} #{} {}", r.time, r.step, h);
            for n in r.out.notes() {
                s.push_str(&format!("\n      {n}"));
            }
            lines.push(s);
        }
        if r.step % 1 == 0 {
            last_scenes.clear();
            for id in w.node_ids() {
                if let Some(sc) = w.scene(id) {
                    for d in sc.details {
                        last_scenes.push_str(&format!("{id} {}: {}\n", d.label, d.value));
                    }
                }
            }
        }
    };
    let o = run_seed_traced(&q, seed, Some(&mut f));
    let n = lines.len();
    let keep: usize = std::env::var("KEEP")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(300);
    for l in &lines[n.saturating_sub(keep)..] {
        println!("{l}");
    }
    println!("{last_scenes}");
    println!("{}\n{:?}", o.params, o.result);
}
