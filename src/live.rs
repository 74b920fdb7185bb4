//! What moves with time alone, delivered without re-rendering the page.
//!
//! While a run plays, most animation frames take no step: only the clock
//! moves. The reducer then returns the same state (nothing re-renders), and
//! the animation loop publishes a new [`Moment`] to the [`Ticker`]; only the
//! few components that draw time (the messages and countdown rings, the
//! timeline cursor, the clock) subscribe with [`use_moment`] and redraw.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use sim::{AnySim, MessageView, Time};
use yew::prelude::*;

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
        self.key == (address, run.steps()) && self.now == run.now()
    }
}

/// Hands the latest [`Moment`] to the components that draw it.
pub struct Ticker {
    moment: RefCell<Moment>,
    subscribers: RefCell<Vec<(u64, Callback<()>)>>,
    next_id: Cell<u64>,
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
            subscribers: RefCell::new(Vec::new()),
            next_id: Cell::new(0),
        }
    }

    /// The latest moment.
    pub fn moment(&self) -> Moment {
        self.moment.borrow().clone()
    }

    /// Publishes the moment of `run` if it moved, and redraws the
    /// subscribers.
    pub fn publish(&self, address: usize, run: &dyn AnySim) {
        let next = {
            let current = self.moment.borrow();
            if current.is_of(address, run) {
                return;
            }
            if current.key == (address, run.steps()) {
                // Only the clock moved: the same messages, shared, so what
                // is drawn from them is reused.
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
        let subscribers: Vec<Callback<()>> = self
            .subscribers
            .borrow()
            .iter()
            .map(|(_, c)| c.clone())
            .collect();
        for redraw in subscribers {
            redraw.emit(());
        }
    }

    fn subscribe(&self, redraw: Callback<()>) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.subscribers.borrow_mut().push((id, redraw));
        id
    }

    fn unsubscribe(&self, id: u64) {
        self.subscribers.borrow_mut().retain(|(i, _)| *i != id);
    }
}

/// The latest moment; the component redraws whenever a new one is
/// published.
#[hook]
pub fn use_moment() -> Moment {
    let ticker = use_context::<TickerHandle>().expect("the App provides a Ticker");
    let redraw = use_force_update();
    {
        let ticker = ticker.clone();
        use_effect_with((), move |_| {
            let id = ticker
                .0
                .subscribe(Callback::from(move |()| redraw.force_update()));
            move || ticker.0.unsubscribe(id)
        });
    }
    ticker.0.moment()
}
