//! Which command a guarded key means in the focused pane: the pane's source turns the
//! selection into a typed command (`Sample::command`), or first asks for a parameter
//! (`Sample::prompt`); this adds who and where.

use super::state::SourceState;
use super::state::{Ask, Input, State};
use crate::actions::Command;
use crate::config::keymap::Action;
use crate::sources::{CommandResult, Sample};

/// What a guarded key leads to.
#[derive(Debug)]
pub enum Next {
    Ready(Command),
    Ask(Box<Ask>),
}

fn selection(state: &State, action: Action) -> Result<(&SourceState, &Sample, String), String> {
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
    // Creating something needs no selected row.
    let key = state
        .selected_row(pane, &model)
        .map(|r| r.key.clone())
        .unwrap_or_default();
    if key.is_empty() && action != Action::CreateTopic && action != Action::TerminateIdle {
        return Err("select a row first".into());
    }
    Ok((source, sample, key))
}

fn finish(
    source: &SourceState,
    result: Option<CommandResult>,
    action: Action,
    pane: &str,
) -> Result<Command, String> {
    let (target, op, risk) = result.unwrap_or_else(|| {
        Err(format!(
            "{}: not available in the {pane} pane",
            action.name()
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

pub fn plan(state: &State, action: Action) -> Result<Next, String> {
    let (source, sample, key) = selection(state, action)?;
    let ps = state.pane_state(state.focus);
    if let Some(question) = sample.prompt(ps.table, &key, action) {
        return Ok(Next::Ask(Box::new(Ask {
            action,
            table: ps.table,
            key,
            question,
            input: Input::default(),
        })));
    }
    finish(
        source,
        sample.command(ps.table, &key, &ps.marked, action),
        action,
        state.focus.title(),
    )
    .map(Next::Ready)
}

/// The command once the person answered the prompt.
pub fn answered(state: &State, ask: &Ask) -> Result<Command, String> {
    let source = state
        .current_source(state.focus)
        .ok_or("the source is gone")?;
    let sample = source.sample.as_ref().ok_or("the source has no data")?;
    finish(
        source,
        sample.command_with_input(ask.table, &ask.key, ask.action, &ask.input.text),
        ask.action,
        state.focus.title(),
    )
}

#[cfg(test)]
pub fn for_action(state: &State, action: Action) -> Result<Command, String> {
    match plan(state, action)? {
        Next::Ready(c) => Ok(c),
        Next::Ask(a) => Err(format!("asks: {}", a.question)),
    }
}
