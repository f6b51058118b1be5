//! Pull and push progress on the terminal, as the docker CLI shows it: one line per layer,
//! redrawn in place with a bar while bytes move when stdout is a terminal; plain status
//! lines (no byte counts) when it is not.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

use berth_engine::registry::{Progress, ProgressEvent, bar};

use super::super::human;

/// Which words to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `berth pull`.
    Pull,
    /// `berth push`.
    Push,
}

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
        Renderer {
            verb,
            tty: io::stdout().is_terminal(),
            to_stderr: false,
            state: Mutex::new(State::default()),
        }
    }

    /// A pull renderer on stderr (`run`'s pull of a missing image keeps stdout the
    /// container's); bars only when stderr is a terminal.
    pub fn on_stderr(verb: Verb) -> Self {
        Renderer {
            verb,
            tty: io::stderr().is_terminal(),
            to_stderr: true,
            state: Mutex::new(State::default()),
        }
    }

    fn out(&self) -> Box<dyn Write + '_> {
        match self.to_stderr {
            true => Box::new(io::stderr().lock()),
            false => Box::new(io::stdout().lock()),
        }
    }

    fn status(&self, e: &ProgressEvent) -> Option<(String, String)> {
        let pull = self.verb == Verb::Pull;
        Some(match e {
            ProgressEvent::Waiting { id } => (
                id.clone(),
                if pull {
                    "Pulling fs layer"
                } else {
                    "Preparing"
                }
                .into(),
            ),
            ProgressEvent::Exists { id, mounted_from } => (
                id.clone(),
                match (pull, mounted_from) {
                    (true, _) => "Already exists".into(),
                    (false, Some(from)) => format!("Mounted from {from}"),
                    (false, None) => "Layer already exists".into(),
                },
            ),
            ProgressEvent::Bytes { id, current, total } if self.tty => {
                let word = if pull { "Downloading" } else { "Pushing" };
                let line = match total {
                    Some(t) => bar(*current, *t),
                    None => human::size(*current, 3),
                };
                (id.clone(), format!("{word} {line}"))
            }
            ProgressEvent::Downloaded { id } => (id.clone(), "Download complete".into()),
            ProgressEvent::Extracting { id } if self.tty => (id.clone(), "Extracting".into()),
            ProgressEvent::Done { id } => (
                id.clone(),
                if pull { "Pull complete" } else { "Pushed" }.into(),
            ),
            ProgressEvent::Retrying { id, seconds } => {
                (id.clone(), format!("Retrying in {seconds} second(s)"))
            }
            _ => return None,
        })
    }
}

impl Progress for Renderer {
    fn event(&self, e: ProgressEvent) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = self.out();
        if let ProgressEvent::Start { repository, tag } = &e {
            let _ = match self.verb {
                Verb::Pull => writeln!(out, "{tag}: Pulling from {repository}"),
                Verb::Push => writeln!(out, "The push refers to repository [{repository}]"),
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
