//! How a committed (or imported) image's config differs from its base: [`ConfigChanges`],
//! the container's settings to carry over (`Cmd`, `Env`, …, as `docker commit` copies them)
//! and Dockerfile instructions (`--change 'CMD ["sh"]'`) applied after them. Only the
//! instructions dockerd accepts for commit and import are known: `CMD`, `ENTRYPOINT`, `ENV`,
//! `EXPOSE`, `LABEL`, `USER`, `VOLUME`, `WORKDIR`, `STOPSIGNAL` (and `ONBUILD`, accepted and
//! dropped: OCI configs have no field for it).

use std::collections::{BTreeMap, HashMap};

use oci_spec::image::Config;

/// A `--change` that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigChangeError {
    /// The instruction is not one of those commit and import allow.
    #[error("{0} is not a valid change command")]
    UnknownInstruction(String),
    /// The instruction's arguments are malformed.
    #[error("{instruction} {args:?}: {reason}")]
    BadArgs {
        /// The instruction.
        instruction: String,
        /// What followed it.
        args: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

/// Settings that replace the base image's (each `None` keeps the base's), then Dockerfile
/// instructions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigChanges {
    /// `User`.
    pub user: Option<String>,
    /// `Env` (the whole list).
    pub env: Option<Vec<String>>,
    /// `Cmd`.
    pub cmd: Option<Vec<String>>,
    /// `Entrypoint`.
    pub entrypoint: Option<Vec<String>>,
    /// `WorkingDir`.
    pub working_dir: Option<String>,
    /// Labels added to (or replacing) the base's.
    pub labels: BTreeMap<String, String>,
    /// Ports (`80/tcp`) added to the base's.
    pub exposed_ports: Vec<String>,
    /// Dockerfile instructions, applied last, in order.
    pub instructions: Vec<String>,
}

impl ConfigChanges {
    /// Checks every instruction without applying it.
    pub fn validate(&self) -> Result<(), ConfigChangeError> {
        let mut scratch = Config::default();
        self.instructions
            .iter()
            .try_for_each(|i| apply_instruction(&mut scratch, i))
    }

    /// Applies the settings, then the instructions, to `cfg`.
    pub fn apply(&self, cfg: &mut Config) -> Result<(), ConfigChangeError> {
        if let Some(u) = &self.user {
            cfg.set_user(Some(u.clone()));
        }
        if let Some(e) = &self.env {
            cfg.set_env(Some(e.clone()));
        }
        if let Some(c) = &self.cmd {
            cfg.set_cmd(Some(c.clone()));
        }
        if let Some(e) = &self.entrypoint {
            cfg.set_entrypoint(Some(e.clone()));
        }
        if let Some(w) = &self.working_dir {
            cfg.set_working_dir(Some(w.clone()));
        }
        for (k, v) in &self.labels {
            cfg.labels_mut()
                .get_or_insert_with(HashMap::new)
                .insert(k.clone(), v.clone());
        }
        add_ports(cfg, &self.exposed_ports);
        self.instructions
            .iter()
            .try_for_each(|i| apply_instruction(cfg, i))
    }
}

fn add_ports(cfg: &mut Config, ports: &[String]) {
    if ports.is_empty() {
        return;
    }
    let mut all = cfg.exposed_ports().clone().unwrap_or_default();
    for p in ports {
        if !all.contains(p) {
            all.push(p.clone());
        }
    }
    cfg.set_exposed_ports(Some(all));
}

/// Applies one Dockerfile instruction (`ENV A=1`, `CMD ["sh"]`, …) to `cfg`.
pub fn apply_instruction(cfg: &mut Config, line: &str) -> Result<(), ConfigChangeError> {
    let line = line.trim();
    let (word, args) = line
        .split_once(char::is_whitespace)
        .map_or((line, ""), |(w, a)| (w, a.trim()));
    let instruction = word.to_ascii_uppercase();
    let bad = |reason| ConfigChangeError::BadArgs {
        instruction: instruction.clone(),
        args: args.to_owned(),
        reason,
    };
    let needs_args = |v: &str| {
        if v.is_empty() {
            Err(bad("needs an argument"))
        } else {
            Ok(v.to_owned())
        }
    };
    match instruction.as_str() {
        "CMD" => {
            cfg.set_cmd(Some(command(args)));
        }
        "ENTRYPOINT" => {
            cfg.set_entrypoint(Some(command(args)));
        }
        "USER" => {
            cfg.set_user(Some(needs_args(args)?));
        }
        "WORKDIR" => {
            cfg.set_working_dir(Some(needs_args(args)?));
        }
        "STOPSIGNAL" => {
            cfg.set_stop_signal(Some(needs_args(args)?));
        }
        "ENV" => {
            let pairs = pairs(args).ok_or_else(|| bad("want KEY=VALUE or KEY VALUE"))?;
            let mut env = cfg.env().clone().unwrap_or_default();
            for (k, v) in pairs {
                env.retain(|e| e.split_once('=').map_or(e.as_str(), |(ek, _)| ek) != k);
                env.push(format!("{k}={v}"));
            }
            cfg.set_env(Some(env));
        }
        "LABEL" => {
            let pairs = pairs(args).ok_or_else(|| bad("want KEY=VALUE"))?;
            let labels = cfg.labels_mut().get_or_insert_with(HashMap::new);
            labels.extend(pairs);
        }
        "EXPOSE" => {
            let ports: Vec<String> = args
                .split_whitespace()
                .map(|p| {
                    if p.contains('/') {
                        p.to_owned()
                    } else {
                        format!("{p}/tcp")
                    }
                })
                .collect();
            if ports.is_empty() {
                return Err(bad("needs a port"));
            }
            add_ports(cfg, &ports);
        }
        "VOLUME" => {
            let mut vols = cfg.volumes().clone().unwrap_or_default();
            for v in json_or_words(args) {
                if !vols.contains(&v) {
                    vols.push(v);
                }
            }
            cfg.set_volumes(Some(vols));
        }
        "ONBUILD" => {}
        _ => return Err(ConfigChangeError::UnknownInstruction(word.to_owned())),
    }
    Ok(())
}

/// The exec form (`["a", "b"]`) as it is; the shell form as `/bin/sh -c "…"`.
fn command(args: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<String>>(args) {
        Ok(v) => v,
        Err(_) => vec!["/bin/sh".into(), "-c".into(), args.to_owned()],
    }
}

/// A JSON array, or whitespace-separated words.
fn json_or_words(args: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(args)
        .unwrap_or_else(|_| args.split_whitespace().map(str::to_owned).collect())
}

/// `K=V K2="V 2"` pairs, or the legacy `K V…` form (one pair, the rest of the line its value).
fn pairs(args: &str) -> Option<Vec<(String, String)>> {
    let first = args.split_whitespace().next()?;
    if !first.contains('=') {
        let value = args[first.len()..].trim();
        return Some(vec![(first.to_owned(), value.to_owned())]);
    }
    let mut out = Vec::new();
    for word in shell_words(args) {
        let (k, v) = word.split_once('=')?;
        if k.is_empty() {
            return None;
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Some(out)
}

/// Splits on whitespace outside double or single quotes, dropping the quotes.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_change_the_config_as_a_dockerfile_would() {
        let mut c = Config::default();
        c.set_env(Some(vec!["PATH=/bin".into(), "A=old".into()]));
        for i in [
            r#"CMD ["sh", "-c", "echo hi"]"#,
            "ENTRYPOINT top -b",
            r#"ENV A=new B="two words""#,
            "ENV C legacy form",
            "label team=a",
            "EXPOSE 80 53/udp",
            "VOLUME /data",
            "WORKDIR /srv",
            "USER www",
        ] {
            apply_instruction(&mut c, i).unwrap();
        }
        assert_eq!(c.cmd().as_ref().unwrap(), &["sh", "-c", "echo hi"]);
        assert_eq!(
            c.entrypoint().as_ref().unwrap(),
            &["/bin/sh", "-c", "top -b"]
        );
        assert_eq!(
            c.env().as_ref().unwrap(),
            &["PATH=/bin", "A=new", "B=two words", "C=legacy form"]
        );
        assert_eq!(c.labels().as_ref().unwrap()["team"], "a");
        assert_eq!(c.exposed_ports().as_ref().unwrap(), &["80/tcp", "53/udp"]);
        assert_eq!(c.volumes().as_ref().unwrap(), &["/data"]);
        assert_eq!(c.working_dir().as_deref(), Some("/srv"));
        assert_eq!(c.user().as_deref(), Some("www"));
    }

    #[test]
    fn unknown_and_malformed_instructions_are_refused() {
        let mut c = Config::default();
        assert_eq!(
            apply_instruction(&mut c, "RUN rm -rf /")
                .unwrap_err()
                .to_string(),
            "RUN is not a valid change command"
        );
        assert!(apply_instruction(&mut c, "USER").is_err());
        assert!(apply_instruction(&mut c, "LABEL =x").is_err());
        let ch = ConfigChanges {
            instructions: vec!["ENV A=1".into(), "FROM x".into()],
            ..Default::default()
        };
        assert!(ch.validate().is_err());
    }

    #[test]
    fn settings_replace_the_bases_and_labels_merge() {
        let mut c = Config::default();
        c.set_cmd(Some(vec!["sh".into()]));
        c.set_labels(Some([("a".to_owned(), "1".to_owned())].into()));
        let ch = ConfigChanges {
            cmd: Some(vec!["cat".into(), "/f".into()]),
            labels: [("b".to_owned(), "2".to_owned())].into(),
            instructions: vec!["ENV X=1".into()],
            ..Default::default()
        };
        ch.apply(&mut c).unwrap();
        assert_eq!(c.cmd().as_ref().unwrap(), &["cat", "/f"]);
        assert_eq!(c.labels().as_ref().unwrap().len(), 2);
        assert_eq!(c.env().as_ref().unwrap(), &["X=1"]);
    }
}
