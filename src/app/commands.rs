//! Which command a guarded key means in the focused pane: the pane's source turns the
//! selection into a typed command (`Sample::command`); this adds who and where.

use super::state::State;
use crate::actions::Command;
use crate::config::keymap::Action;

pub fn for_action(state: &State, action: Action) -> Result<Command, String> {
    let pane = state.focus;
    if !state.zoomed {
        return Err(format!(
            "{}: zoom into a pane first (select a row, then press the key)",
            action.name()
        ));
    }
    let source = state
        .current_source(pane)
        .ok_or_else(|| format!("no {} source in this context", pane.title()))?;
    let sample = source
        .sample
        .as_ref()
        .ok_or_else(|| format!("{} has no data yet", source.name))?;
    let model = state.pane_model(pane);
    let row = state
        .selected_row(pane, &model)
        .ok_or_else(|| "select a row first".to_string())?;
    let ps = state.pane_state(pane);
    let (target, op, risk) = sample
        .command(ps.table, &row.key, &ps.marked, action)
        .unwrap_or_else(|| {
            Err(format!(
                "{}: not available in the {} pane",
                action.name(),
                pane.title()
            ))
        })?;
    Ok(Command {
        kind: source.kind,
        source: source.name.clone(),
        target,
        op,
        risk,
    })
}
