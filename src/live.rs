//! What moves with time alone, painted without re-rendering anything.
//!
//! While a run plays, the animation loop (`app::use_animation_loop`) wakes
//! at the run's next event and at least every [`TEXT_EVERY_MS`]; most wakes
//! take no step: only the clock moves. The reducer then returns the same
//! state (nothing re-renders), and the loop publishes a new [`Moment`] to
//! the [`Ticker`]. Messages and countdown rings move between wakes on the
//! browser's compositor (see the stage). The few
//! components that draw time (the messages and countdown rings, the
//! timeline cursor, the clock) register a *painter* with [`use_painter`]: a
//! closure that writes the handful of attributes that moved straight into
//! the elements they rendered, with no virtual DOM and no diff. Those
//! components re-render only when what they draw changes shape (a step
//! adds or removes messages, the timeline's scale grows), and paint again
//! right after each render.
//!
//! Text is the one thing that costs a layout when it changes, so while
//! playing, painters rewrite text (the clock's digits, the slider's value
//! for screen readers) at most every [`TEXT_EVERY_MS`] of wall time; every
//! render and every pause paints it exact.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use sim::{AnySim, MessageView, Time};
use yew::prelude::*;

/// The least wall time between two rewrites of text while playing: digits
/// changing faster than this cannot be read anyway, and each rewrite costs
/// the page a layout.
pub const TEXT_EVERY_MS: f64 = 100.0;

/// The part of the run that changes with time alone, as plain data.
#[derive(Clone, Debug, PartialEq)]
pub struct Moment {
    /// The run it was read from (an address) and its step count: with
    /// `now`, what tells two moments apart.
    key: (usize, u64),
    /// The virtual time.
    pub now: Time,
    /// Steps taken so far.
    pub steps: u64,
    /// The furthest time the run has reached.
    pub horizon: Time,
    /// Every message copy in flight.
    pub messages: Rc<Vec<MessageView>>,
}

impl Moment {
    /// Reads the moment of `run`, which lives at `address`.
    pub fn of(address: usize, run: &dyn AnySim) -> Moment {
        let mut messages = Vec::new();
        run.messages(&mut messages);
        Moment {
            key: (address, run.steps()),
            now: run.now(),
            steps: run.steps(),
            horizon: run.horizon().1,
            messages: Rc::new(messages),
        }
    }

    /// Whether `run` is still at this moment (cheap: no messages read).
    pub fn is_of(&self, address: usize, run: &dyn AnySim) -> bool {
        self.key == (address, run.steps())
            && self.now == run.now()
            && self.horizon == run.horizon().1
    }
}

/// Why a moment is published.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cause {
    /// An animation frame moved the clock while playing; its timestamp, in
    /// milliseconds of wall time.
    Frame(f64),
    /// The page rendered: something changed, so everything is painted
    /// exact, text included.
    Render,
}

/// What a painter is asked to draw.
pub struct Paint<'a> {
    /// The moment to draw.
    pub moment: &'a Moment,
    /// Whether text should be rewritten too (see [`TEXT_EVERY_MS`]).
    pub text: bool,
    /// While playing, the wall time (ms, the animation frames' clock, which
    /// is also the document timeline's) at which the run was at
    /// `moment.now`: the play loop's last wake, or an action that caught
    /// the run up (`lab::Lab::wake`). The stage's compositor animations
    /// are timed against it; between wakes the run's clock stands still.
    pub wall: f64,
}

type Painter = Rc<dyn Fn(&Paint<'_>)>;

/// Hands the latest [`Moment`] to the painters that draw it.
pub struct Ticker {
    moment: RefCell<Moment>,
    painters: RefCell<Vec<(u64, Painter)>>,
    next_id: Cell<u64>,
    /// Wall time (ms) of the last paint that rewrote text.
    text_at: Cell<f64>,
    /// Whether text was left behind by a frame that skipped it.
    text_stale: Cell<bool>,
    /// See [`Paint::wall`].
    wall: Cell<f64>,
}

/// Shared through a context; it never changes, so the context never
/// re-renders anything by itself.
#[derive(Clone)]
pub struct TickerHandle(pub Rc<Ticker>);

impl PartialEq for TickerHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Ticker {
    pub fn new(moment: Moment) -> Ticker {
        Ticker {
            moment: RefCell::new(moment),
            painters: RefCell::new(Vec::new()),
            next_id: Cell::new(0),
            text_at: Cell::new(f64::NEG_INFINITY),
            text_stale: Cell::new(false),
            wall: Cell::new(0.0),
        }
    }

    /// Records that the run's clock was moved to its current time at wall
    /// time `wall` (see [`Paint::wall`]).
    pub fn tie(&self, wall: f64) {
        self.wall.set(wall);
    }

    /// The latest moment.
    pub fn moment(&self) -> Moment {
        self.moment.borrow().clone()
    }

    /// Publishes the moment of `run` if it moved (or if a frame left text
    /// behind and this is a render), and runs the painters.
    pub fn publish(&self, address: usize, run: &dyn AnySim, cause: Cause) {
        let moved = !self.moment.borrow().is_of(address, run);
        let frame = match cause {
            Cause::Frame(wall) => Some(wall),
            Cause::Render => None,
        };
        if let Some(wall) = frame {
            self.wall.set(wall);
        }
        if !moved && (frame.is_some() || !self.text_stale.get()) {
            return;
        }
        if moved {
            let next = {
                let current = self.moment.borrow();
                if current.key == (address, run.steps()) {
                    // Only the clock moved: the same messages, shared, so
                    // what is drawn from them is reused.
                    Moment {
                        now: run.now(),
                        horizon: run.horizon().1,
                        ..current.clone()
                    }
                } else {
                    Moment::of(address, run)
                }
            };
            *self.moment.borrow_mut() = next;
        }
        let text = match frame {
            None => true,
            // A tenth early: the animation loop wakes about every
            // TEXT_EVERY_MS, and a wake a little under it still writes.
            Some(wall) if wall - self.text_at.get() >= TEXT_EVERY_MS * 0.9 => {
                self.text_at.set(wall);
                true
            }
            Some(_) => false,
        };
        self.text_stale.set(!text);
        let painters: Vec<Painter> = self
            .painters
            .borrow()
            .iter()
            .map(|(_, p)| p.clone())
            .collect();
        let moment = self.moment.borrow().clone();
        let paint = Paint {
            moment: &moment,
            text,
            wall: self.wall.get(),
        };
        for p in painters {
            p(&paint);
        }
    }

    fn register(&self, painter: Painter) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.painters.borrow_mut().push((id, painter));
        id
    }

    fn unregister(&self, id: u64) {
        self.painters.borrow_mut().retain(|(i, _)| *i != id);
    }
}

/// The ticker the App provides.
#[hook]
pub fn use_ticker() -> TickerHandle {
    use_context::<TickerHandle>().expect("the App provides a Ticker")
}

/// Registers `paint` with the ticker for the component's lifetime, and
/// runs it after every render of the component (exact, text included), so
/// what the render left unpainted is drawn before the browser paints.
/// `paint` sees the component's state through whatever it captured (a
/// `use_mut_ref` that the render updates).
#[hook]
pub fn use_painter<F>(paint: F)
where
    F: Fn(&Paint<'_>) + 'static,
{
    let ticker = use_ticker();
    let painter: Rc<dyn Fn(&Paint<'_>)> = {
        let holder = use_mut_ref(|| None::<Painter>);
        if holder.borrow().is_none() {
            *holder.borrow_mut() = Some(Rc::new(paint));
        }
        let painter = holder.borrow().clone().expect("just set");
        painter
    };
    {
        let (ticker, painter) = (ticker.clone(), painter.clone());
        use_effect_with((), move |_| {
            let id = ticker.0.register(painter);
            move || ticker.0.unregister(id)
        });
    }
    use_effect(move || {
        let moment = ticker.0.moment();
        painter(&Paint {
            moment: &moment,
            text: true,
            wall: ticker.0.wall.get(),
        });
    });
}
