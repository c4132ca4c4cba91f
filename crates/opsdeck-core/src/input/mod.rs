//! Reading what people write (config, theme, keymap and topic files): errors that name the
//! file, line and column with a hint, and the values those files hold (durations).

pub mod error;
pub mod origin;
pub mod recover;
pub mod values;

pub use error::{ConfigError, ConfigErrors};
pub use origin::Origin;
pub use values::{find_span, parse_duration};
