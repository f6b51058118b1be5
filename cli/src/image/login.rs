//! `berth login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `berth logout [SERVER]`:
//! credentials checked against the registry and kept in Docker's `config.json`, so the
//! docker CLI and berth share them. The password is read from stdin or a prompt, never
//! echoed or printed.

use std::io::{self, BufRead, IsTerminal, Read, Write};

use anyhow::Context as _;

use berth_engine::registry::{self, Credentials};

use super::registry_args::RegistryArgs;

/// Docker Hub, when no server is named.
const DEFAULT_SERVER: &str = "docker.io";

/// `berth login` arguments.
#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// The registry (HOST[:PORT]); Docker Hub by default
    pub server: Option<String>,
    /// Username
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (visible to other users of this machine: prefer --password-stdin)
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    /// How to reach the registry.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `berth logout` arguments.
#[derive(clap::Args, Debug)]
pub struct LogoutArgs {
    /// The registry (HOST[:PORT]); Docker Hub by default
    pub server: Option<String>,
}

/// Runs `berth login`.
pub fn login(args: LoginArgs) -> anyhow::Result<()> {
    let server = args.server.as_deref().unwrap_or(DEFAULT_SERVER);
    let stdin = io::stdin();
    let username = match args.username {
        Some(u) => u,
        None => {
            anyhow::ensure!(
                stdin.is_terminal() && !args.password_stdin,
                "login {server}: no username given (-u USER)"
            );
            prompt("Username: ")?
        }
    };
    let password = match (args.password, args.password_stdin) {
        (Some(_), true) => anyhow::bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => p,
        (None, true) => {
            let mut p = String::new();
            stdin
                .lock()
                .read_to_string(&mut p)
                .context("read the password from stdin")?;
            p.trim_end_matches(['\n', '\r']).to_owned()
        }
        (None, false) => {
            anyhow::ensure!(
                stdin.is_terminal(),
                "login {server}: no password given (--password-stdin)"
            );
            read_hidden("Password: ")?
        }
    };
    anyhow::ensure!(!username.is_empty(), "login {server}: empty username");
    anyhow::ensure!(!password.is_empty(), "login {server}: empty password");
    let opts = args.registry.options();
    let creds = Credentials { username, password };
    registry::login(&opts, server, &creds)?;
    let mut out = io::stdout().lock();
    writeln!(out, "Login Succeeded")?;
    Ok(())
}

/// Runs `berth logout`.
pub fn logout(args: LogoutArgs) -> anyhow::Result<()> {
    let server = args.server.as_deref().unwrap_or(DEFAULT_SERVER);
    let file = registry::AuthFile::from_env();
    let mut out = io::stdout().lock();
    if file.remove(server)? {
        writeln!(out, "Removing login credentials for {server}")?;
    } else {
        writeln!(out, "Not logged in to {server}")?;
    }
    Ok(())
}

fn prompt(label: &str) -> anyhow::Result<String> {
    let mut err = io::stderr().lock();
    write!(err, "{label}")?;
    err.flush()?;
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Reads a line from the terminal with echo off.
fn read_hidden(label: &str) -> anyhow::Result<String> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let stdin = io::stdin();
    let old = tcgetattr(&stdin).context("read terminal settings")?;
    let mut quiet = old.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("turn off echo")?;
    let line = prompt(label);
    let _ = tcsetattr(&stdin, SetArg::TCSANOW, &old);
    let _ = writeln!(io::stderr());
    line
}
