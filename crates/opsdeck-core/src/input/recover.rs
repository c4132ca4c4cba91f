//! Every problem of a file in one run. serde stops at the first error, so the document is
//! parsed once (with toml's spans) and deserialized again after each error with the
//! offending key, value or table taken out, until it deserializes. The structs keep
//! `deny_unknown_fields`: an unknown key is still an error, it just no longer hides the
//! next one. Positions always refer to the original text.

use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue, Deserializer};

use super::error::ConfigError;

/// More errors than this in one file means the file is not what was meant; stop there.
const MAX_ERRORS: usize = 50;

/// Deserializes `T` from `text`, collecting every problem. The value is what remained valid
/// (None after a TOML syntax error, which leaves nothing reliable to read).
pub fn from_toml<T: DeserializeOwned>(path: &Path, text: &str) -> (Option<T>, Vec<ConfigError>) {
    let mut doc = match DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => return (None, vec![ConfigError::from_toml(path, text, &e)]),
    };
    doc.get_mut().make_owned();
    let mut errors: Vec<ConfigError> = Vec::new();
    // (table span, key) taken out for a bad value: the "missing field" that follows is
    // the same mistake and is not reported twice.
    let mut taken: Vec<(Range<usize>, String)> = Vec::new();
    while errors.len() < MAX_ERRORS {
        let e = match T::deserialize(Deserializer::from(doc.clone())) {
            Ok(v) => return (Some(v), errors),
            Err(e) => e,
        };
        let Some(span) = e.span() else {
            errors.push(ConfigError::from_toml(path, text, &e));
            break;
        };
        let progressed = if let Some(field) = missing_field(e.message()) {
            if !taken.iter().any(|(t, k)| *t == span && k == field) {
                errors.push(ConfigError::from_toml(path, text, &e));
            }
            take_table(&mut doc, &span)
        } else {
            errors.push(ConfigError::from_toml(path, text, &e));
            match take_entry(&mut doc, &span) {
                Some(t) => {
                    taken.push(t);
                    true
                }
                None => false,
            }
        };
        if !progressed {
            break;
        }
    }
    (None, errors)
}

fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// One step from a table or array to a child.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.start < outer.end
}

/// What `visit` calls with each entry: its path, its value and its key's span.
type OnEntry<'f> = dyn FnMut(&[Step], &Spanned<DeValue>, Option<Range<usize>>) + 'f;

/// Calls `f` with every entry under `value`.
fn visit(value: &DeValue, path: &mut Vec<Step>, f: &mut OnEntry) {
    match value {
        DeValue::Table(t) => {
            for (k, v) in t.iter() {
                path.push(Step::Key(k.get_ref().to_string()));
                f(path, v, Some(k.span()));
                visit(v.get_ref(), path, f);
                path.pop();
            }
        }
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(Step::Index(i));
                f(path, v, None);
                visit(v.get_ref(), path, f);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The deepest entry whose key or value holds `span` (`exact`: whose value span is it).
/// Parents' spans are not relied on (a `[header]` table's span is not its whole body), so
/// every entry is visited.
fn locate(doc: &Spanned<DeTable>, span: &Range<usize>, exact: bool) -> Option<Vec<Step>> {
    let root = DeValue::Table(doc.get_ref().clone());
    let mut best: Option<(Vec<Step>, usize)> = None;
    visit(&root, &mut Vec::new(), &mut |path, v, key_span| {
        let vs = v.span();
        let hit = if exact {
            vs == *span
        } else {
            key_span.as_ref().is_some_and(|k| contains(k, span)) || contains(&vs, span)
        };
        let width = vs.end - vs.start;
        let better = best
            .as_ref()
            .is_none_or(|(p, w)| path.len() > p.len() || width < *w);
        if hit && better {
            best = Some((path.to_vec(), width));
        }
    });
    best.map(|(p, _)| p)
}

/// The table or array at `path` (None when the path ends elsewhere).
fn parent_mut<'d, 'i>(doc: &'d mut DeValue<'i>, path: &[Step]) -> Option<&'d mut DeValue<'i>> {
    let mut cur = doc;
    for step in path {
        cur = match (cur, step) {
            (DeValue::Table(t), Step::Key(k)) => t.get_mut(k.as_str())?.get_mut(),
            (DeValue::Array(a), Step::Index(i)) => a.get_mut(*i)?.get_mut(),
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes the child at the end of `path`; returns the span of the table it was in and its
/// key (for a table entry).
fn remove(doc: &mut Spanned<DeTable>, path: &[Step]) -> Option<(Range<usize>, String)> {
    let (last, parent_path) = path.split_last()?;
    let root_span = doc.span();
    let mut root = DeValue::Table(std::mem::take(doc.get_mut()));
    let parent_span = {
        // The span of the parent value, to match a later "missing field" in it.
        let mut span = root_span;
        let mut cur = &root;
        for step in parent_path {
            let next = match (cur, step) {
                (DeValue::Table(t), Step::Key(k)) => t.get(k.as_str()),
                (DeValue::Array(a), Step::Index(i)) => a.get(*i),
                _ => None,
            };
            match next {
                Some(v) => {
                    span = v.span();
                    cur = v.get_ref();
                }
                None => break,
            }
        }
        span
    };
    let done = match (parent_mut(&mut root, parent_path), last) {
        (Some(DeValue::Table(t)), Step::Key(k)) => {
            t.remove(k.as_str()).map(|_| (parent_span, k.clone()))
        }
        (Some(DeValue::Array(a)), Step::Index(i)) => {
            let mut kept = DeArray::new();
            for (j, v) in a.iter().enumerate() {
                if j != *i {
                    kept.push(v.clone());
                }
            }
            *a = kept;
            Some((parent_span, String::new()))
        }
        _ => None,
    };
    if let DeValue::Table(t) = root {
        *doc.get_mut() = t;
    }
    done
}

/// Takes out the entry a key or value error points at.
fn take_entry(doc: &mut Spanned<DeTable>, span: &Range<usize>) -> Option<(Range<usize>, String)> {
    let path = locate(doc, span, false)?;
    remove(doc, &path)
}

/// Takes out the table a "missing field" error points at (its span is the table's).
fn take_table(doc: &mut Spanned<DeTable>, span: &Range<usize>) -> bool {
    locate(doc, span, true)
        .or_else(|| locate(doc, span, false))
        .is_some_and(|p| remove(doc, &p).is_some())
}

/// A key path into a document, to point an error at what it is about.
#[derive(Debug, Clone, Copy)]
pub enum At<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> From<&'a str> for At<'a> {
    fn from(k: &'a str) -> At<'a> {
        At::Key(k)
    }
}

impl From<usize> for At<'_> {
    fn from(i: usize) -> Self {
        At::Index(i)
    }
}

/// Where the key (`key == true`) or the value at `path` is written in `text`.
pub fn span_of(text: &str, path: &[At], key: bool) -> Option<Range<usize>> {
    let root = DeValue::Table(DeTable::parse(text).ok()?.into_inner());
    let mut cur: &DeValue = &root;
    let mut spans = None;
    for step in path {
        let (k, v) = match (cur, step) {
            (DeValue::Table(t), At::Key(k)) => {
                let (k, v) = t.get_key_value(*k)?;
                (Some(k.span()), v)
            }
            (DeValue::Array(a), At::Index(i)) => (None, a.get(*i)?),
            _ => return None,
        };
        spans = Some((k, v.span()));
        cur = v.get_ref();
    }
    let (k, v) = spans?;
    Some(if key { k.unwrap_or(v) } else { v })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        refresh: Option<String>,
        #[serde(default)]
        contexts: BTreeMap<String, Ctx>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Ctx {
        #[serde(default)]
        readonly: bool,
        #[serde(default)]
        kafka: Vec<Kafka>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Kafka {
        name: String,
        brokers: String,
    }

    fn errors(text: &str) -> Vec<String> {
        let (_, e) = from_toml::<Doc>(Path::new("/c.toml"), text);
        e.iter()
            .map(|e| format!("{}:{}: {}", e.line, e.column, e.message))
            .collect()
    }

    #[test]
    fn every_unknown_key_and_bad_value_is_reported() {
        let text = "refresh = \"2s\"\nbogus = 1\n[contexts.a]\ncolour = \"red\"\nreadonly = \"yes\"\n[[contexts.a.kafka]]\nname = \"k\"\nbrokers = 9092\nextra = true\n[[contexts.a.kafka]]\nname = \"ok\"\nbrokers = \"h:1\"\n";
        let got = errors(text);
        let want = [
            "2:1: unknown field `bogus`",
            "4:1: unknown field `colour`",
            "5:12: invalid type: string \"yes\", expected a boolean",
            "8:11: invalid type: integer `9092`, expected a string",
            "9:1: unknown field `extra`",
        ];
        assert_eq!(got.len(), want.len(), "{got:#?}");
        for w in want {
            assert!(got.iter().any(|g| g.starts_with(w)), "{w} not in {got:#?}");
        }
    }

    #[test]
    fn a_missing_field_is_reported_once_and_the_rest_still_read() {
        let text = "[[contexts.a.kafka]]\nname = \"k\"\n[contexts.b]\nnope = 1\n";
        let got = errors(text);
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(got[0].contains("missing field `brokers`"), "{got:#?}");
        assert!(got[1].starts_with("4:1: unknown field `nope`"), "{got:#?}");
    }

    #[test]
    fn what_remains_valid_is_returned() {
        let (doc, e) = from_toml::<Doc>(
            Path::new("/c.toml"),
            "refresh = \"1s\"\nbogus = 1\n[contexts.a]\n",
        );
        assert_eq!(e.len(), 1);
        let doc = doc.expect("the rest deserializes");
        assert_eq!(doc.refresh.as_deref(), Some("1s"));
        assert!(doc.contexts.contains_key("a"));
    }

    #[test]
    fn a_syntax_error_stops_there() {
        let got = errors("refresh = [\n");
        assert_eq!(got, ["1:12: unclosed array, expected `]`"]);
    }

    #[test]
    fn spans_of_keys_and_values() {
        let text = "keymap = \"nope\"\n[keys]\nrefresh = [\"f5\", \"ctrl-\"]\n";
        let v = span_of(text, &["keymap".into()], false).unwrap();
        assert_eq!(&text[v], "\"nope\"");
        let k = span_of(text, &["keys".into(), "refresh".into()], true).unwrap();
        assert_eq!(&text[k], "refresh");
        let i = span_of(text, &["keys".into(), "refresh".into(), 1.into()], false).unwrap();
        assert_eq!(&text[i], "\"ctrl-\"");
        assert!(span_of(text, &["nope".into()], false).is_none());
    }
}
