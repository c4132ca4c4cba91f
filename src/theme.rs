//! Themes: `themes/*.toml` are embedded; a user file of the same name in
//! `<config dir>/themes/` overrides one. A theme may set only some colours and `inherits`
//! the rest. `NO_COLOR` turns every colour off (the screen then relies on text and
//! reverse video, never on colour alone).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::Color;
use serde::Deserialize;
use toml::Spanned;

use crate::config::{ConfigError, ConfigErrors};
use opsdeck_core::input::Origin;

pub const SHIPPED: &[(&str, &str)] = &[
    ("dark", include_str!("../themes/dark.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("ansi16", include_str!("../themes/ansi16.toml")),
];

macro_rules! theme_fields {
    ($($field:ident),* $(,)?) => {
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Theme {
            pub name: String,
            $(pub $field: Color,)*
        }

        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ThemeFile {
            inherits: Option<Spanned<String>>,
            $($field: Option<Spanned<String>>,)*
        }

        impl ThemeFile {
            fn apply(self, base: &mut Theme, file: &Path, text: &str, errors: &mut Vec<ConfigError>) {
                $(
                    if let Some(v) = self.$field {
                        match parse_color(v.get_ref()) {
                            Ok(c) => base.$field = c,
                            Err(e) => errors.push(ConfigError::new(file, text, Some(v.span()), format!("{}: {e}", stringify!($field)))
                                .with_hint("colours are names (red, lightblue, darkgray, reset), #rrggbb or a 0-255 index")),
                        }
                    }
                )*
            }
        }

        impl Theme {
            fn without_colour(mut self) -> Theme {
                $(self.$field = Color::Reset;)*
                self
            }
        }
    };
}

theme_fields!(
    fg,
    bg,
    muted,
    border,
    border_focused,
    title,
    header_fg,
    header_bg,
    ok,
    warn,
    crit,
    info,
    selection_fg,
    selection_bg,
    badge_fg,
    badge_bg,
    bar,
    bar_empty,
    spark,
    key,
);

fn parse_color(s: &str) -> Result<Color, String> {
    Color::from_str(s).map_err(|_| format!("cannot parse colour {s:?}"))
}

impl Default for Theme {
    /// The built-in dark theme; `themes/dark.toml` is tested equal to it.
    fn default() -> Self {
        Theme {
            name: "dark".into(),
            fg: Color::Rgb(0xc8, 0xcc, 0xd4),
            bg: Color::Reset,
            muted: Color::Rgb(0x6b, 0x72, 0x80),
            border: Color::Rgb(0x3b, 0x42, 0x52),
            border_focused: Color::Rgb(0x61, 0xaf, 0xef),
            title: Color::Rgb(0xe5, 0xe9, 0xf0),
            header_fg: Color::Rgb(0xe5, 0xe9, 0xf0),
            header_bg: Color::Rgb(0x28, 0x2c, 0x34),
            ok: Color::Rgb(0x98, 0xc3, 0x79),
            warn: Color::Rgb(0xe5, 0xc0, 0x7b),
            crit: Color::Rgb(0xe0, 0x6c, 0x75),
            info: Color::Rgb(0x56, 0xb6, 0xc2),
            selection_fg: Color::Rgb(0x28, 0x2c, 0x34),
            selection_bg: Color::Rgb(0x61, 0xaf, 0xef),
            badge_fg: Color::Rgb(0x28, 0x2c, 0x34),
            badge_bg: Color::Rgb(0xe5, 0xc0, 0x7b),
            bar: Color::Rgb(0x61, 0xaf, 0xef),
            bar_empty: Color::Rgb(0x3b, 0x42, 0x52),
            spark: Color::Rgb(0x56, 0xb6, 0xc2),
            key: Color::Rgb(0xc6, 0x78, 0xdd),
        }
    }
}

impl Theme {
    pub fn shipped_names() -> Vec<&'static str> {
        SHIPPED.iter().map(|(n, _)| *n).collect()
    }

    /// Parses a theme file over `base` (its `inherits` target or the default); every
    /// problem of the file is reported.
    pub fn parse(
        name: &str,
        file: &Path,
        text: &str,
        config_dir: &Path,
        depth: u8,
    ) -> Result<Theme, ConfigErrors> {
        let (tf, mut errors) = opsdeck_core::input::recover::from_toml::<ThemeFile>(file, text);
        let tf = tf.unwrap_or_default();
        let mut base = match &tf.inherits {
            Some(parent) if depth < 4 => {
                let origin = Origin::File {
                    file,
                    key: "inherits",
                };
                match Theme::load_for(parent.get_ref(), config_dir, origin) {
                    Ok(t) => t,
                    Err(ConfigErrors(es)) => {
                        for err in es {
                            errors.push(if err.file != file {
                                ConfigError::new(
                                    file,
                                    text,
                                    Some(parent.span()),
                                    format!("inherits: {}", err.message),
                                )
                            } else {
                                err
                            });
                        }
                        Theme::default()
                    }
                }
            }
            Some(parent) => {
                errors.push(ConfigError::new(
                    file,
                    text,
                    Some(parent.span()),
                    "themes inherit more than 4 levels deep",
                ));
                Theme::default()
            }
            None => Theme::default(),
        };
        base.name = name.to_string();
        tf.apply(&mut base, file, text, &mut errors);
        if errors.is_empty() {
            Ok(base)
        } else {
            errors.sort_by_key(|e| (e.line, e.column));
            Err(ConfigErrors(errors))
        }
    }

    /// Finds a theme by name: `<config dir>/themes/NAME.toml`, else a shipped one.
    /// `referrer` is the config file that named it (for the error); None: `--theme`.
    pub fn load(
        name: &str,
        config_dir: &Path,
        referrer: Option<&Path>,
    ) -> Result<Theme, ConfigErrors> {
        let origin = match referrer {
            Some(file) => Origin::File { file, key: "theme" },
            None => Origin::Flag("--theme"),
        };
        Theme::load_for(name, config_dir, origin)
    }

    /// `:theme NAME` in the console: the problem on one line, named as the command.
    pub fn load_by_command(name: &str, config_dir: &Path) -> Result<Theme, String> {
        Theme::load_for(name, config_dir, Origin::Command(":theme")).map_err(|e| {
            e.0.iter()
                .map(|e| match &e.hint {
                    Some(h) => format!(
                        "{} ({h})",
                        ConfigError {
                            hint: None,
                            ..e.clone()
                        }
                    ),
                    None => e.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// `load` with the place the name was given, so its error points there.
    pub fn load_for(name: &str, config_dir: &Path, origin: Origin) -> Result<Theme, ConfigErrors> {
        let user = config_dir.join("themes").join(format!("{name}.toml"));
        if user.is_file() {
            let text = std::fs::read_to_string(&user)
                .map_err(|e| ConfigError::whole_file(&user, e.to_string()))?;
            return Theme::parse(name, &user, &text, config_dir, 1);
        }
        if let Some((_, text)) = SHIPPED.iter().find(|(n, _)| *n == name) {
            return Theme::parse(
                name,
                &PathBuf::from(format!("themes/{name}.toml")),
                text,
                config_dir,
                1,
            );
        }
        Err(origin
            .error(format!("unknown theme {name:?}"))
            .with_hint(format!(
                "shipped themes: {}; or create {}",
                Theme::shipped_names().join(", "),
                user.display()
            ))
            .into())
    }

    /// Applies `NO_COLOR` (https://no-color.org): any non-empty value turns colour off.
    pub fn honour_no_color(self) -> Theme {
        match std::env::var_os("NO_COLOR") {
            Some(v) if !v.is_empty() => self.without_colour(),
            _ => self,
        }
    }

    pub fn colourless(&self) -> bool {
        self.fg == Color::Reset && self.ok == Color::Reset && self.crit == Color::Reset
    }

    /// A context's colour: a theme colour name (ok, warn, crit, info) or any colour.
    pub fn context_color(&self, spec: Option<&str>) -> Color {
        if self.colourless() {
            return Color::Reset;
        }
        match spec {
            Some("ok") => self.ok,
            Some("warn") => self.warn,
            Some("crit") => self.crit,
            Some("info") => self.info,
            Some(s) => parse_color(s).unwrap_or(self.title),
            None => self.title,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_parses() {
        for (name, text) in SHIPPED {
            Theme::parse(name, Path::new(name), text, Path::new("/nonexistent"), 1)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn shipped_dark_equals_builtin() {
        let t = Theme::parse(
            "dark",
            Path::new("dark"),
            SHIPPED[0].1,
            Path::new("/nonexistent"),
            1,
        )
        .unwrap();
        assert_eq!(t, Theme::default());
    }

    #[test]
    fn shipped_themes_set_every_colour() {
        // A shipped theme must not silently inherit the dark theme's colours.
        for (name, text) in SHIPPED {
            let tf: toml::Table = toml::from_str(text).unwrap();
            assert!(!tf.contains_key("inherits"), "{name}");
            assert_eq!(tf.len(), 20, "{name} sets {} colours", tf.len());
        }
    }

    #[test]
    fn user_theme_overrides_and_inherits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/dark.toml"),
            "inherits = \"light\"\ncrit = \"#ff0000\"\n",
        )
        .unwrap();
        let t = Theme::load("dark", dir.path(), None).unwrap();
        let light = Theme::load("light", dir.path(), None).unwrap();
        assert_eq!(t.crit, Color::Rgb(255, 0, 0));
        assert_eq!(t.ok, light.ok);
    }

    #[test]
    fn bad_colour_and_unknown_field_name_the_line() {
        let e = Theme::parse(
            "x",
            Path::new("/t.toml"),
            "ok = \"green\"\ncrit = \"blurple\"\n",
            Path::new("/n"),
            1,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("error: /t.toml:2:8: crit: cannot parse colour \"blurple\""),
            "{e}"
        );
        let e = Theme::parse(
            "x",
            Path::new("/t.toml"),
            "okay = \"green\"\n",
            Path::new("/n"),
            1,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("error: /t.toml:1:1: unknown field `okay`"),
            "{e}"
        );
    }

    #[test]
    fn the_engine_accepts_the_colours_the_theme_parser_accepts() {
        // The engine validates context colours without ratatui; both must agree.
        let samples = [
            "red",
            "Red",
            "light-blue",
            "lightblue",
            "Light Blue",
            "bright_green",
            "grey",
            "dark gray",
            "darkgrey",
            "silver",
            "light black",
            "light white",
            "light gray",
            "reset",
            "white",
            "magenta",
            "#00ff7f",
            "#00FF7F",
            "#00ff7",
            "#00ff7g",
            "00ff7f",
            "0",
            "208",
            "255",
            "256",
            "-1",
            "",
            "ok",
            "blurple",
            "lightorange",
            "#ffffff0",
        ];
        for c in samples {
            assert_eq!(
                opsdeck_core::input::values::is_colour(c),
                parse_color(c).is_ok(),
                "{c:?}"
            );
        }
    }

    #[test]
    fn the_console_command_is_named_as_itself() {
        let e = Theme::load_by_command("nope", Path::new("/n")).unwrap_err();
        assert!(
            e.starts_with(":theme: unknown theme \"nope\" (shipped themes: dark"),
            "{e}"
        );
        assert!(!e.contains("--theme") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn every_problem_of_a_theme_file_is_reported() {
        let e = Theme::parse(
            "x",
            Path::new("/t.toml"),
            "ok = \"blurple\"\nokay = \"green\"\ncrit = 3\n",
            Path::new("/n"),
            1,
        )
        .unwrap_err()
        .to_string();
        for w in [
            "/t.toml:1:6: ok: cannot parse colour",
            "/t.toml:2:1: unknown field `okay`",
            "/t.toml:3:8: invalid type",
        ] {
            assert!(e.contains(w), "want {w} in {e}");
        }
    }

    #[test]
    fn unknown_theme_lists_shipped_ones() {
        let e = Theme::load("nope", Path::new("/n"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown theme \"nope\""), "{e}");
        assert!(e.contains("dark, light, high-contrast, ansi16"), "{e}");
    }
}
