//! Entering and leaving the full-screen terminal. Leaving is idempotent and also runs from
//! the panic hook and on signals, so the shell is always given back in a usable state.

use std::io::{BufWriter, Stdout, Write, stdout};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

pub type Term = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

pub fn enter() -> std::io::Result<Term> {
    enable_raw_mode()?;
    execute!(
        stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        cursor::Hide
    )?;
    // Buffered so a frame leaves in one write: fewer syscalls and bytes over SSH. A fixed
    // viewport, resized from the terminal's resize events (`draw`): a full-screen one asks
    // the terminal its size before every frame, opening /dev/tty each time.
    let (w, h) = crossterm::terminal::size()?;
    Terminal::with_options(
        CrosstermBackend::new(BufWriter::with_capacity(64 * 1024, stdout())),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
        },
    )
}

/// Draws a frame of `size` (the last resize event's): the viewport follows it first.
pub fn draw(
    term: &mut Term,
    size: (u16, u16),
    render: impl FnOnce(&mut ratatui::Frame),
) -> std::io::Result<()> {
    let area = Rect::new(0, 0, size.0, size.1);
    if term.get_frame().area() != area {
        term.resize(area)?;
    }
    term.draw(render)?;
    Ok(())
}

pub fn leave() {
    let mut out = stdout();
    let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Restores the terminal before the default panic message is printed.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        leave();
        previous(info);
    }));
}

/// Ctrl-Z: give the terminal back, stop until `fg`, then take it again.
pub fn suspend(term: &mut Term) -> std::io::Result<()> {
    leave();
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP).map_err(std::io::Error::other)?;
    enable_raw_mode()?;
    execute!(
        stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        cursor::Hide
    )?;
    term.clear()
}

/// The terminal's size now (after a suspend, which may have missed resize events).
pub fn size() -> std::io::Result<(u16, u16)> {
    crossterm::terminal::size()
}
