//! `berth run`: create a container, start it through its shim and either print its id (`-d`)
//! or attach to it ([`super::session`]) and exit with its exit code. 125 when berth fails
//! (nothing is left behind), 126/127 when the command cannot be run or is not found, 1 for
//! `-it` without a terminal on stdin (as Docker).

use crate::Ctx;
use crate::terminal;
use berth_engine::container::create::create;

use super::detach_keys::{DetachKeys, DetachKeysArg};
use super::session::{self, Attach, SignalTarget};

/// `berth run` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run in the background and print the container id
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Detach keys.
    #[command(flatten)]
    pub detach_keys: DetachKeysArg,
    /// Container settings.
    #[command(flatten)]
    pub create: super::create::CreateArgs,
}

/// Runs; never returns (the exit code is the container's).
pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<()> {
    let c = &args.create;
    if let Err(e) = terminal::check_tty(c.interactive && !args.detach, c.tty) {
        super::exit_with_error(&e.into(), 1);
    }
    let keys = args.detach_keys.keys_or_exit();
    match run_inner(&args, keys, ctx) {
        Ok(code) => super::exit(code),
        Err(e) => super::exit_with_error(&e, super::start::code_of(&e)),
    }
}

fn run_inner(args: &Args, detach_keys: DetachKeys, ctx: &Ctx) -> anyhow::Result<i32> {
    let mut req = args.create.request()?;
    // Stdin closes with the attached client's input; a detached container keeps it open.
    req.stdio.stdin_once &= !args.detach;
    let store = super::store(ctx)?;
    req.image = crate::image::pull::ensure_image(&store, &req.image, args.create.pull)?;
    let eng = super::engine(ctx, &store);
    let mut rec = create(&eng, &req)?;
    let size = (req.stdio.tty && !args.detach)
        .then(terminal::window_size)
        .flatten();
    let shim = match super::start::start_container(&eng, ctx, &mut rec, size) {
        Ok((shim, _)) => shim,
        Err(e) => {
            // Nothing half-made: a container that could not start is removed again.
            if let Ok(r) = eng.containers.load(&rec.id) {
                let _ = berth_engine::container::lifecycle::remove(&eng, &r, true);
            }
            return Err(e);
        }
    };
    if args.detach {
        drop(shim);
        ctx.print(&rec.id)?;
        return Ok(0);
    }
    let how = Attach {
        stdin: req.stdio.open_stdin,
        tty: req.stdio.tty,
        detach_keys,
    };
    let target = SignalTarget {
        runtime_root: eng.runtime_root.clone(),
        id: rec.id.clone(),
    };
    Ok(session::with_shim(shim, how, target))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::{Cli, Command};

    fn run_args(argv: &[&str]) -> super::Args {
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Run(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn i_and_t_before_the_image_are_berths_after_it_the_commands() {
        let a = run_args(&["berth", "run", "-it", "--rm", "bb", "sh", "-it"]);
        assert!(a.create.interactive && a.create.tty && !a.detach);
        assert_eq!(a.create.cmd(), ["sh", "-it"]);
        let req = a.create.request().unwrap();
        assert!(req.stdio.tty && req.stdio.open_stdin && req.stdio.stdin_once);
        let a = run_args(&["berth", "run", "-d", "-t", "bb"]);
        assert!(a.create.tty && !a.create.interactive && a.detach);
        assert_eq!(a.create.image(), "bb");
        assert!(a.create.cmd().is_empty());
        // A flag right after the image is the command's, not berth's.
        let a = run_args(&["berth", "run", "--name", "x", "bb", "--rm", "-d"]);
        assert_eq!(a.create.image(), "bb");
        assert_eq!(a.create.cmd(), ["--rm", "-d"]);
        assert!(!a.create.rm && !a.detach);
        let req = a.create.request().unwrap();
        assert!(!req.stdio.open_stdin && !req.stdio.stdin_once);
    }

    #[test]
    fn exec_start_and_attach_take_their_stdio_flags() {
        let cli = Cli::try_parse_from(["berth", "exec", "-it", "c", "sh", "-i"]).unwrap();
        let Command::Exec(e) = cli.command else {
            panic!("exec")
        };
        assert!(e.interactive && e.tty);
        assert_eq!(e.cmd, ["sh", "-i"]);
        let cli = Cli::try_parse_from(["berth", "start", "-ai", "c"]).unwrap();
        let Command::Start(s) = cli.command else {
            panic!("start")
        };
        assert!(s.attach && s.interactive);
        let cli = Cli::try_parse_from(["berth", "attach", "--no-stdin", "c"]).unwrap();
        let Command::Attach(a) = cli.command else {
            panic!("attach")
        };
        assert!(a.no_stdin && a.container == "c");
    }

    #[test]
    fn run_start_attach_and_exec_take_detach_keys() {
        for argv in [
            &["berth", "run", "--detach-keys", "ctrl-a,x", "-it", "bb"][..],
            &["berth", "start", "-ai", "--detach-keys=ctrl-a,x", "c"],
            &["berth", "attach", "--detach-keys", "ctrl-a,x", "c"],
            &[
                "berth",
                "exec",
                "-it",
                "--detach-keys",
                "ctrl-a,x",
                "c",
                "sh",
            ],
        ] {
            let keys = match Cli::try_parse_from(argv).unwrap().command {
                Command::Run(a) => a.detach_keys,
                Command::Start(a) => a.detach_keys,
                Command::Attach(a) => a.detach_keys,
                Command::Exec(a) => a.detach_keys,
                other => panic!("{other:?}"),
            };
            assert_eq!(keys.detach_keys.as_deref(), Some("ctrl-a,x"), "{argv:?}");
        }
        // "" is a value (detaching off), and in the command the flag is the command's.
        let a = run_args(&[
            "berth",
            "run",
            "--detach-keys",
            "",
            "bb",
            "sh",
            "--detach-keys",
        ]);
        assert_eq!(a.detach_keys.detach_keys.as_deref(), Some(""));
        assert_eq!(a.create.cmd(), ["sh", "--detach-keys"]);
    }
}
