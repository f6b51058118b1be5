//! Container names: validation (Docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]*`) and random
//! `adjective_noun` names for containers started without `--name`.

use super::ContainerError;

const ADJECTIVES: &[&str] = &[
    "admiring", "brave", "busy", "calm", "clever", "dreamy", "eager", "fervent", "gallant",
    "happy", "jolly", "keen", "lucid", "modest", "nifty", "quirky", "relaxed", "serene", "sharp",
    "stoic", "tender", "upbeat", "vibrant", "wizardly", "youthful", "zealous",
];

const NOUNS: &[&str] = &[
    "babbage",
    "curie",
    "darwin",
    "einstein",
    "euler",
    "fermat",
    "gauss",
    "hopper",
    "hypatia",
    "kepler",
    "lamport",
    "liskov",
    "lovelace",
    "mcclintock",
    "noether",
    "pascal",
    "ritchie",
    "shannon",
    "thompson",
    "torvalds",
    "turing",
    "wozniak",
];

/// Checks a user-given name.
pub fn validate(name: &str) -> Result<(), ContainerError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ContainerError::BadName(name.to_owned()))
    }
}

/// A random `adjective_noun`, with a number appended from the `attempt`th try on.
pub fn random(attempt: u32) -> std::io::Result<String> {
    let r = crate::ids::random_string(b"0123456789abcdef", 8)?;
    let n = u32::from_str_radix(&r, 16).unwrap_or(0) as usize;
    let name = format!(
        "{}_{}",
        ADJECTIVES[n % ADJECTIVES.len()],
        NOUNS[(n / ADJECTIVES.len()) % NOUNS.len()]
    );
    Ok(if attempt == 0 {
        name
    } else {
        format!("{name}{}", n % 100)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for good in ["web", "a.b-c_d", "9x"] {
            validate(good).unwrap();
        }
        for bad in ["", "-x", "a/b", "a b", "_x"] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        let r = random(0).unwrap();
        validate(&r).unwrap();
        assert!(r.contains('_'));
    }
}
