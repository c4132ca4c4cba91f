//! Where a name was given (a theme, a keymap), so that its error points there: the config
//! file's key, a command-line flag or a console command.

use std::path::Path;

use super::error::ConfigError;
use super::recover::span_of;

#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// `key = "name"` in a file (the config's `theme`, a theme's `inherits`).
    File { file: &'a Path, key: &'a str },
    /// A command-line flag, e.g. `--theme`.
    Flag(&'a str),
    /// A console command, e.g. `:theme`.
    Command(&'a str),
}

impl Origin<'_> {
    /// An error about the name, at the place it was written.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        match self {
            Origin::File { file, key } => {
                let text = std::fs::read_to_string(file).unwrap_or_default();
                ConfigError::new(
                    file,
                    &text,
                    span_of(&text, &[(*key).into()], false),
                    message,
                )
            }
            Origin::Flag(what) | Origin::Command(what) => {
                ConfigError::whole_file(Path::new(what), message)
            }
        }
    }
}
