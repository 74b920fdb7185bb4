//! Presentational components. They read plain data and emit callbacks; none
//! of them touches the simulated world directly (ARCHITECTURE.md, "The app").

pub mod checkers;
pub mod controls;
pub mod events;
pub mod header;
pub mod help;
pub mod icons;
pub mod inspector;
pub mod menu;
pub mod settings;
pub mod share;
pub mod stage;
pub mod timeline;
