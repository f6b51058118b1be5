//! Pull and push progress on the terminal, as the docker CLI shows it: one line per layer,
//! redrawn in place with a bar while bytes move when stdout is a terminal; plain status
//! lines (no byte counts) when it is not.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

use berth_engine::registry::{Progress, ProgressEvent, Verb, bar};

use super::super::human;

/// Prints progress events to stdout (or stderr, under `run`).
pub struct Renderer {
    verb: Verb,
    tty: bool,
    to_stderr: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Layer ids and their current line, in first-seen order.
    lines: Vec<(String, String)>,
    /// Lines drawn by the last redraw.
    drawn: usize,
}

impl Renderer {
    /// A renderer for `verb` on stdout; bars only when stdout is a terminal.
    pub fn new(verb: Verb) -> Self {
        Self::with(verb, false, io::stdout().is_terminal())
    }

    /// A renderer on stderr (`run`'s pull of a missing image keeps stdout the container's);
    /// bars only when stderr is a terminal.
    pub fn on_stderr(verb: Verb) -> Self {
        Self::with(verb, true, io::stderr().is_terminal())
    }

    fn with(verb: Verb, to_stderr: bool, tty: bool) -> Self {
        Renderer {
            verb,
            tty,
            to_stderr,
            state: Mutex::new(State::default()),
        }
    }

    fn out(&self) -> Box<dyn Write + '_> {
        match self.to_stderr {
            true => Box::new(io::stderr().lock()),
            false => Box::new(io::stdout().lock()),
        }
    }

    /// The layer id and the line to show for it; bytes and extraction only on a terminal.
    fn status(&self, e: &ProgressEvent) -> Option<(String, String)> {
        match e {
            ProgressEvent::Bytes { .. } | ProgressEvent::Extracting { .. } if !self.tty => {
                return None;
            }
            ProgressEvent::Start { .. } => return None,
            _ => {}
        }
        let (id, mut line) = e.status(self.verb)?;
        if let ProgressEvent::Bytes { current, total, .. } = e {
            line.push(' ');
            line.push_str(&match total {
                Some(t) => bar(*current, *t),
                None => human::size(*current, 3),
            });
        }
        Some((id?.to_owned(), line))
    }
}

impl Progress for Renderer {
    fn event(&self, e: ProgressEvent) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = self.out();
        if let ProgressEvent::Start { .. } = &e {
            let _ = match e.status(self.verb) {
                Some((Some(tag), line)) => writeln!(out, "{tag}: {line}"),
                Some((None, line)) => writeln!(out, "{line}"),
                None => Ok(()),
            };
            return;
        }
        let Some((id, line)) = self.status(&e) else {
            return;
        };
        let known = st.lines.iter().position(|(i, _)| *i == id);
        if !self.tty {
            if known.is_none() || !matches!(e, ProgressEvent::Bytes { .. }) {
                let _ = writeln!(out, "{id}: {line}");
            }
            if known.is_none() {
                st.lines.push((id, line));
            }
            return;
        }
        match known {
            Some(i) => st.lines[i].1 = line,
            None => st.lines.push((id, line)),
        }
        // Redraw the layer lines in place.
        if st.drawn > 0 {
            let _ = write!(out, "\x1b[{}A", st.drawn);
        }
        for (id, line) in &st.lines {
            let _ = writeln!(out, "\x1b[2K{id}: {line}");
        }
        st.drawn = st.lines.len();
        let _ = out.flush();
    }
}
