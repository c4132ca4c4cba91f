//! What a verb means where it is pressed: the focused pane's view names the row (and so its
//! source); that source's system plans the command, or asks for a parameter first.

use super::state::{Ask, Input, Origin, State};
use super::view::marked_keys;
use crate::actions::Command;
use crate::config::keymap::Action;
use crate::sources::{At, Plan};

/// What a verb leads to.
#[derive(Debug)]
pub enum Next {
    Ready(Command),
    Ask(Box<Ask>),
}

/// Where a verb is pressed: the source, the table of its model and the row key.
struct Place {
    source: usize,
    table: usize,
    key: Option<String>,
}

fn place(state: &State) -> Result<Place, String> {
    let pane = state.focus;
    let view = state.view(pane);
    let (origin, table, key) = match view.selected.and_then(|i| view.rows.get(i)) {
        Some(at) => (at.origin, at.table, state.row(at).map(|r| r.key.clone())),
        None => match view.current_tab().and_then(|t| t.parts.first()) {
            Some(&(o, t)) => (o, t, None),
            None => return Err(format!("no {} source in this context", pane.title())),
        },
    };
    match origin {
        Origin::Source(source) => Ok(Place { source, table, key }),
        Origin::Alerts => Err("the Alerts pane changes no system".into()),
        Origin::Timeline => Err("the Timeline pane changes no system".into()),
    }
}

fn plan_at(state: &State, p: &Place, action: Action, input: Option<&str>) -> Result<Next, String> {
    let src = &state.sources[p.source];
    let sample = src
        .sample
        .as_ref()
        .ok_or_else(|| format!("{} has no data yet", src.name))?;
    let marked = marked_keys(
        &state.pane_state(state.focus).marked,
        Origin::Source(p.source),
    );
    let at = At {
        table: p.table,
        key: p.key.as_deref(),
        marked: &marked,
    };
    match sample.plan(&at, action, input) {
        None => Err(format!("{}: not offered here", action.hint())),
        Some(Err(why)) => Err(why),
        Some(Ok(Plan::Ready(planned))) => Ok(Next::Ready(Command::new(&src.name, planned))),
        Some(Ok(Plan::Ask(question))) => Ok(Next::Ask(Box::new(Ask {
            action,
            source: p.source,
            table: p.table,
            key: p.key.clone(),
            question,
            input: Input::default(),
        }))),
    }
}

/// A verb pressed in the focused, zoomed pane.
pub fn plan(state: &State, action: Action) -> Result<Next, String> {
    if !state.zoomed {
        return Err(format!(
            "{}: zoom into a pane first (select a row, then press the key)",
            action.hint()
        ));
    }
    plan_at(state, &place(state)?, action, None)
}

/// The command once the person answered the question.
pub fn answered(state: &State, ask: &Ask) -> Result<Command, String> {
    let p = Place {
        source: ask.source,
        table: ask.table,
        key: ask.key.clone(),
    };
    if p.source >= state.sources.len() {
        return Err("the source is gone".into());
    }
    match plan_at(state, &p, ask.action, Some(&ask.input.text))? {
        Next::Ready(c) => Ok(c),
        Next::Ask(a) => Err(a.question),
    }
}

#[cfg(test)]
pub fn for_action(state: &State, action: Action) -> Result<Command, String> {
    match plan(state, action)? {
        Next::Ready(c) => Ok(c),
        Next::Ask(a) => Err(format!("asks: {}", a.question)),
    }
}
