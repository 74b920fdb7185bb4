//! The stage: the area that holds the cluster. It says plainly when there is
//! nothing to show rather than drawing a pretend cluster.

use yew::prelude::*;

#[function_component(Stage)]
pub fn stage() -> Html {
    html! {
        <section class="stage" aria-label="Cluster stage">
            <div class="stage-empty">
                <p class="stage-empty-title">{"No cluster on the stage yet"}</p>
                <p class="stage-empty-body">
                    {"This build has the app shell only. The simulator and its protocols are not connected, so there is nothing to run."}
                </p>
            </div>
        </section>
    }
}
