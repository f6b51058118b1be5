//! Pull and push progress on the terminal, as the docker CLI shows it: one line per layer,
//! redrawn in place with a bar while bytes move when stdout is a terminal; plain status
//! lines (no byte counts) when it is not.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;

use berth_engine::registry::{Progress, ProgressEvent};

use super::super::human;

/// Which words to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `berth pull`.
    Pull,
    /// `berth push`.
    Push,
}

/// Prints progress events to stdout.
pub struct Renderer {
    verb: Verb,
    tty: bool,
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
    /// A renderer for `verb`; bars only when stdout is a terminal.
    pub fn new(verb: Verb) -> Self {
        Renderer {
            verb,
            tty: io::stdout().is_terminal(),
            state: Mutex::new(State::default()),
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
                (id.clone(), format!("{word} {}", bar(*current, *total)))
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

/// `[=====>      ]  1.2MB/4.5MB`, 50 cells wide as docker draws it.
fn bar(current: u64, total: Option<u64>) -> String {
    let Some(total) = total.filter(|t| *t > 0) else {
        return human::size(current, 3);
    };
    let filled = ((current.min(total) * 50) / total) as usize;
    let body = if filled >= 50 {
        "=".repeat(50)
    } else {
        format!("{}>{}", "=".repeat(filled), " ".repeat(49 - filled))
    };
    format!(
        "[{body}] {:>8}/{}",
        human::size(current, 3),
        human::size(total, 3)
    )
}

impl Progress for Renderer {
    fn event(&self, e: ProgressEvent) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = io::stdout().lock();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_with_the_bytes() {
        let b = bar(0, Some(100));
        assert!(b.starts_with("[>"), "{b}");
        let half = bar(50, Some(100));
        assert_eq!(half.matches('=').count(), 25, "{half}");
        let full = bar(100, Some(100));
        assert!(full.starts_with(&format!("[{}]", "=".repeat(50))), "{full}");
        assert_eq!(bar(7, None), human::size(7, 3));
    }
}
