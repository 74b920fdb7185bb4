//! Inline SVG icons. Unicode media glyphs (⏮ ⏭ ⏩) are missing from many
//! system fonts and render as empty boxes, so every icon is drawn here.

use yew::prelude::*;

/// The icons the app draws.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Icon {
    Play,
    Pause,
    StepBack,
    StepForward,
    NextRound,
}

impl Icon {
    fn path(self) -> &'static str {
        match self {
            Icon::Play => "M7 4.5v15l12-7.5z",
            Icon::Pause => "M6 4.5h4v15H6zM14 4.5h4v15h-4z",
            Icon::StepBack => "M5 4.5h2.5v15H5zM19 4.5v15L9 12z",
            Icon::StepForward => "M16.5 4.5H19v15h-2.5zM5 4.5v15L15 12z",
            Icon::NextRound => "M3 4.5v15l9-7.5zM12 4.5v15l9-7.5z",
        }
    }
}

/// Renders an icon at the surrounding font size. Decorative: the button that
/// holds it carries the accessible name.
pub fn icon(which: Icon) -> Html {
    html! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d={which.path()} />
        </svg>
    }
}
