//! Presentational components. They read plain data and emit callbacks; none of
//! them touches the simulated world directly (DESIGN.md, "The app").

pub mod controls;
pub mod header;
pub mod help;
pub mod icons;
pub mod stage;
