//! What each source has on screen: the title of its tab while its pane is zoomed on it,
//! else nothing. `update` compares it after every event and asks the loop to tell the
//! sources whose tab changed (`Effect::Visible`), so costly lists (Redis `CLIENT LIST`, the
//! process table) are read only while someone looks at them.

use super::event::Effect;
use super::state::State;
use super::view::Origin;

/// The tab each source (by index) shows now.
pub fn shown(state: &State) -> Vec<Option<String>> {
    let mut out = vec![None; state.sources.len()];
    if !state.zoomed {
        return out;
    }
    if let Some(tab) = state.view(state.focus).current_tab() {
        for &(origin, _) in &tab.parts {
            if let Origin::Source(i) = origin
                && let Some(o) = out.get_mut(i)
            {
                *o = Some(tab.title.clone());
            }
        }
    }
    out
}

/// One `Effect::Visible` per source whose shown tab changed since the last call.
pub fn effects(state: &mut State) -> Vec<Effect> {
    let now = shown(state);
    if now == state.shown {
        return Vec::new();
    }
    let fx = now
        .iter()
        .enumerate()
        .filter(|(i, t)| state.shown.get(*i) != Some(t))
        .map(|(index, tab)| Effect::Visible {
            index,
            tab: tab.clone(),
        })
        .collect();
    state.shown = now;
    fx
}
