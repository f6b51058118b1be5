//! `--change` instructions (`docker import --change`, `docker commit --change`): the Dockerfile
//! instructions that only set configuration, applied to an image config as dockerd's
//! `BuildFromConfig` does. `CMD`/`ENTRYPOINT`/`VOLUME` take a JSON array or shell words
//! (`CMD`/`ENTRYPOINT` in shell form run under `/bin/sh -c`); `ENV` and `LABEL` take
//! `KEY=VALUE` pairs (or `KEY VALUE`); `EXPOSE` ports; `USER`, `WORKDIR`, `STOPSIGNAL` one value.

use std::collections::HashMap;

use oci_spec::image::Config;

use super::ImageError;

/// Applies every instruction of `changes` to `config`, in order.
pub fn apply_changes(config: &mut Config, changes: &[String]) -> Result<(), ImageError> {
    for c in changes {
        apply_one(config, c)?;
    }
    Ok(())
}

fn bad(reason: String) -> ImageError {
    ImageError::InvalidChange { reason }
}

fn apply_one(config: &mut Config, change: &str) -> Result<(), ImageError> {
    let change = change.trim();
    if change.is_empty() {
        return Ok(());
    }
    let (word, rest) = change
        .split_once(char::is_whitespace)
        .map_or((change, ""), |(w, r)| (w, r.trim()));
    let instr = word.to_ascii_uppercase();
    let needs_args = || match rest.is_empty() {
        true => Err(bad(format!("{instr} requires at least one argument"))),
        false => Ok(()),
    };
    match instr.as_str() {
        "CMD" => {
            needs_args()?;
            config.set_cmd(Some(command(rest)));
        }
        "ENTRYPOINT" => {
            needs_args()?;
            config.set_entrypoint(Some(command(rest)));
        }
        "ENV" => {
            needs_args()?;
            let env = config.env().clone().unwrap_or_default();
            config.set_env(Some(merge_env(env, pairs(&instr, rest)?)));
        }
        "LABEL" => {
            needs_args()?;
            let mut labels: HashMap<String, String> = config.labels().clone().unwrap_or_default();
            labels.extend(pairs(&instr, rest)?);
            config.set_labels(Some(labels));
        }
        "EXPOSE" => {
            needs_args()?;
            let mut ports = config.exposed_ports().clone().unwrap_or_default();
            for p in words(rest) {
                let p = if p.contains('/') {
                    p
                } else {
                    format!("{p}/tcp")
                };
                if !ports.contains(&p) {
                    ports.push(p);
                }
            }
            config.set_exposed_ports(Some(ports));
        }
        "VOLUME" => {
            needs_args()?;
            let mut vols = config.volumes().clone().unwrap_or_default();
            for v in json_array(rest).unwrap_or_else(|| words(rest)) {
                if !vols.contains(&v) {
                    vols.push(v);
                }
            }
            config.set_volumes(Some(vols));
        }
        "USER" => {
            config.set_user(Some(one(&instr, rest)?));
        }
        "WORKDIR" => {
            config.set_working_dir(Some(one(&instr, rest)?));
        }
        "STOPSIGNAL" => {
            config.set_stop_signal(Some(one(&instr, rest)?));
        }
        _ => return Err(bad(format!("{instr} is not a valid change command"))),
    }
    Ok(())
}

/// A JSON array of strings, or the shell form under `/bin/sh -c`.
fn command(rest: &str) -> Vec<String> {
    json_array(rest).unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into(), rest.to_owned()])
}

fn json_array(rest: &str) -> Option<Vec<String>> {
    rest.starts_with('[')
        .then(|| serde_json::from_str(rest).ok())
        .flatten()
}

fn one(instr: &str, rest: &str) -> Result<String, ImageError> {
    match words(rest).as_slice() {
        [v] => Ok(v.clone()),
        _ => Err(bad(format!("{instr} requires exactly one argument"))),
    }
}

/// Words split at whitespace, with `"…"` and `'…'` quoting and `\` escapes.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', q) if q != Some('\'') => {
                cur.extend(chars.next());
                in_word = true;
            }
            (q @ ('"' | '\''), None) => {
                quote = Some(q);
                in_word = true;
            }
            (c, Some(q)) if c == q => quote = None,
            (c, None) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (c, _) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

/// `K=V K2=V2`, or the legacy `K V…` (one pair, the rest of the line its value).
fn pairs(instr: &str, rest: &str) -> Result<Vec<(String, String)>, ImageError> {
    let ws = words(rest);
    if ws.first().is_some_and(|w| !w.contains('=')) {
        let (k, v) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad(format!("{instr} must have two arguments")))?;
        return Ok(vec![(k.to_owned(), words(v.trim()).join(" "))]);
    }
    ws.into_iter()
        .map(|w| match w.split_once('=') {
            Some(("", _)) => Err(bad(format!("{instr} names can not be blank"))),
            Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
            None => Err(bad(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            ))),
        })
        .collect()
}

/// `env` with each pair set (replacing an existing `KEY=`).
fn merge_env(mut env: Vec<String>, set: Vec<(String, String)>) -> Vec<String> {
    for (k, v) in set {
        let prefix = format!("{k}=");
        let entry = format!("{k}={v}");
        match env.iter_mut().find(|e| e.starts_with(&prefix)) {
            Some(e) => *e = entry,
            None => env.push(entry),
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(changes: &[&str]) -> Result<Config, ImageError> {
        let mut c = Config::default();
        let owned: Vec<String> = changes.iter().map(|s| (*s).to_owned()).collect();
        apply_changes(&mut c, &owned)?;
        Ok(c)
    }

    #[test]
    fn changes_set_the_config_as_dockerfile_instructions() {
        let c = applied(&[
            r#"CMD ["sh", "-c", "echo hi"]"#,
            "entrypoint /bin/init --x",
            "ENV A=1 B=\"two words\"",
            "ENV A 3",
            "LABEL team=core \"k2\"=v2",
            "EXPOSE 80 53/udp",
            "VOLUME /data",
            "USER nobody",
            "WORKDIR /srv",
            "STOPSIGNAL SIGINT",
        ])
        .unwrap();
        assert_eq!(c.cmd().clone().unwrap(), ["sh", "-c", "echo hi"]);
        assert_eq!(
            c.entrypoint().clone().unwrap(),
            ["/bin/sh", "-c", "/bin/init --x"]
        );
        assert_eq!(c.env().clone().unwrap(), ["A=3", "B=two words"]);
        let labels = c.labels().clone().unwrap();
        assert_eq!(labels["team"], "core");
        assert_eq!(labels["k2"], "v2");
        assert_eq!(c.exposed_ports().clone().unwrap(), ["80/tcp", "53/udp"]);
        assert_eq!(c.volumes().clone().unwrap(), ["/data"]);
        assert_eq!(c.user().as_deref(), Some("nobody"));
        assert_eq!(c.working_dir().as_deref(), Some("/srv"));
        assert_eq!(c.stop_signal().as_deref(), Some("SIGINT"));
    }

    #[test]
    fn build_steps_and_malformed_changes_are_refused() {
        let msg = |c: &[&str]| applied(c).unwrap_err().to_string();
        assert!(msg(&["RUN echo"]).contains("RUN is not a valid change command"));
        assert!(msg(&["CMD"]).contains("requires at least one argument"));
        assert!(msg(&["LABEL a=1 b"]).contains("can't find ="));
        assert!(msg(&["USER a b"]).contains("exactly one"));
    }
}
