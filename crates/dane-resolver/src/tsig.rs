//! TSIG key definitions (RFC 8945) as the tools that make them write them, for
//! `dane rollover --update --tsig-key FILE`.
//!
//! Three forms are read ([`parse_keys`]):
//!
//! - Knot's YAML `key:` section, as `keymgr -t NAME` prints it (and as a `knot.conf` holds
//!   it): `- id: NAME`, `algorithm: ALG`, `secret: BASE64`, one list item per key. The
//!   comment line `keymgr -t` prints above it (`# ALG:NAME:SECRET`) is a comment, and is
//!   not read.
//! - BIND's `key "NAME" { algorithm ALG; secret "BASE64"; };` statements, as
//!   `tsig-keygen` and `ddns-confgen` write them (and as a `named.conf` holds them), with
//!   `#`, `//` and `/* */` comments; other statements (`update-policy`, `zone`, ...) are
//!   skipped.
//! - `nsupdate -y`'s `[ALG:]NAME:SECRET`, one key per line. Without `ALG`, nsupdate means
//!   hmac-md5, which is refused here (as every algorithm but HMAC-SHA256/384/512).
//!
//! A file with several keys needs the name of the one to use ([`TsigKey::parse_named`],
//! `--tsig-key-name`). The secret never appears in an error message, in `Debug` output or
//! in a log event: errors name the key and the line, never the text of the secret field.

use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, TSigner};

use crate::update::{FUDGE, UpdateError};

/// Key definitions read from one file at most (a key file has one or a few; a hostile
/// file cannot make the parser keep more).
pub const MAX_KEYS: usize = 64;

/// A TSIG key: its name, algorithm and secret.
#[derive(Clone)]
pub struct TsigKey {
    /// The key's name (as the primary knows it), lower case, fully qualified.
    pub name: Name,
    /// The MAC algorithm (hmac-sha256, hmac-sha384 or hmac-sha512).
    pub algorithm: TsigAlgorithm,
    secret: Vec<u8>,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs and error messages.
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn bad(detail: impl Into<String>) -> UpdateError {
    UpdateError::BadKey(detail.into())
}

impl TsigKey {
    /// A key from its parts (`secret` decoded).
    pub fn new(name: &str, algorithm: &str, secret: Vec<u8>) -> Result<TsigKey, UpdateError> {
        let parsed = Name::from_ascii(name.trim_end_matches('.'))
            .map_err(|e| bad(format!("key name {name:?}: {e}")))?;
        let algo_name = Name::from_ascii(algorithm.to_ascii_lowercase())
            .map_err(|e| bad(format!("key {name:?}: algorithm {algorithm:?}: {e}")))?;
        let algorithm_parsed = TsigAlgorithm::from_name(algo_name);
        // RFC 8945 6: HMAC-SHA256 is mandatory to implement; MD5 and SHA-1 are not to be
        // used for new keys.
        if !matches!(
            algorithm_parsed,
            TsigAlgorithm::HmacSha256 | TsigAlgorithm::HmacSha384 | TsigAlgorithm::HmacSha512
        ) || !algorithm_parsed.supported()
        {
            return Err(bad(format!(
                "key {name:?}: algorithm {algorithm:?} is not supported (use hmac-sha256, hmac-sha384 or hmac-sha512)"
            )));
        }
        if secret.is_empty() {
            return Err(bad(format!("key {name:?}: the secret is empty")));
        }
        let mut parsed = parsed.to_lowercase();
        parsed.set_fqdn(true);
        Ok(TsigKey {
            name: parsed,
            algorithm: algorithm_parsed,
            secret,
        })
    }

    /// The one key of a key file in any of the module's forms; a file with several keys
    /// is refused (name one with [`TsigKey::parse_named`]).
    pub fn parse(text: &str) -> Result<TsigKey, UpdateError> {
        TsigKey::parse_named(text, None)
    }

    /// The key named `name` in a key file (any of the module's forms), or its only key
    /// when `name` is `None`.
    pub fn parse_named(text: &str, name: Option<&str>) -> Result<TsigKey, UpdateError> {
        let keys = parse_keys(text)?;
        let names = || {
            keys.iter()
                .map(|k| k.name.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            Some(wanted) => {
                let mut n = Name::from_ascii(wanted.trim_end_matches('.'))
                    .map_err(|e| bad(format!("key name {wanted:?}: {e}")))?
                    .to_lowercase();
                n.set_fqdn(true);
                let found = keys.iter().find(|k| k.name == n).cloned();
                found.ok_or_else(|| {
                    bad(format!(
                        "no key named {n} in the file (it has: {})",
                        names()
                    ))
                })
            }
            None if keys.len() == 1 => Ok(keys[0].clone()),
            None => Err(bad(format!(
                "the file has {} keys ({}): choose one with --tsig-key-name",
                keys.len(),
                names()
            ))),
        }
    }

    /// The hickory signer for this key.
    pub fn signer(&self) -> Result<TSigner, UpdateError> {
        TSigner::new(
            self.secret.clone(),
            self.algorithm.clone(),
            self.name.clone(),
            FUDGE,
        )
        .map_err(|e| bad(format!("key {}: {e}", self.name)))
    }
}

/// Every key defined in `text`: the Knot `key:` section when the file has one, else the
/// BIND `key` statements when it has any, else the `[ALG:]NAME:SECRET` lines. A definition
/// that is incomplete or malformed is an error (naming the key), not skipped.
pub fn parse_keys(text: &str) -> Result<Vec<TsigKey>, UpdateError> {
    let defs = if let Some(defs) = knot_keys(text)? {
        defs
    } else if let Some(defs) = bind_keys(text)? {
        defs
    } else {
        line_keys(text)?
    };
    if defs.is_empty() {
        return Err(bad(
            "no key found (expected Knot `key:` / `- id: NAME` as keymgr -t prints it, BIND `key \"NAME\" { algorithm ...; secret \"...\"; };`, or ALG:NAME:SECRET)",
        ));
    }
    if defs.len() > MAX_KEYS {
        return Err(bad(format!(
            "{} key definitions; at most {MAX_KEYS} are read",
            defs.len()
        )));
    }
    defs.into_iter().map(Definition::key).collect()
}

/// One key definition as found, before its parts are checked.
#[derive(Default)]
struct Definition {
    name: Option<String>,
    algorithm: Option<String>,
    secret: Option<String>,
    /// Where it is (`line 3`), for errors.
    at: String,
}

impl Definition {
    fn key(self) -> Result<TsigKey, UpdateError> {
        let Definition {
            name,
            algorithm,
            secret,
            at,
        } = self;
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Err(bad(format!("the key at {at} has no name")));
        };
        // A secret where the name belongs (`ALG:SECRET:NAME`) would be quoted in the errors
        // below: refuse it without quoting it.
        if looks_like_secret(&name) {
            return Err(bad(format!(
                "the key at {at}: its name field looks like a secret (the order is [ALG:]NAME:SECRET); it is not shown"
            )));
        }
        let Some(algorithm) = algorithm.filter(|a| !a.is_empty()) else {
            return Err(bad(format!("key {name:?} ({at}) has no algorithm")));
        };
        let Some(secret) = secret.filter(|s| !s.is_empty()) else {
            return Err(bad(format!("key {name:?} ({at}) has no secret")));
        };
        // The decoder's error names a position, never the text.
        let decoded = data_encoding::BASE64
            .decode(secret.trim().as_bytes())
            .map_err(|e| {
                bad(format!(
                    "key {name:?} ({at}): the secret is not base64: {e}"
                ))
            })?;
        TsigKey::new(&name, &algorithm, decoded)
    }
}

/// Base64 of 16 octets or more with padding, `+` or `/`, or 40 characters or more: a
/// secret, not a key name (names have dots or dashes, and are short).
fn looks_like_secret(text: &str) -> bool {
    let decoded = data_encoding::BASE64.decode(text.trim().as_bytes());
    decoded.is_ok_and(|d| d.len() >= 16)
        && (text.contains(['+', '/', '=']) || text.trim().len() >= 40)
}

/// A YAML scalar: quoted (the text between the quotes) or plain (up to a ` #` comment).
fn yaml_scalar(raw: &str) -> String {
    let v = raw.trim();
    for q in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(q) {
            return rest.split(q).next().unwrap_or_default().to_owned();
        }
    }
    v.split(" #").next().unwrap_or_default().trim().to_owned()
}

/// Knot's `key:` section (a top-level `key:` line, then `- id:` items, each with
/// `algorithm:` and `secret:`, until the next top-level line). `None` when the file has
/// no such section.
fn knot_keys(text: &str) -> Result<Option<Vec<Definition>>, UpdateError> {
    let mut defs: Vec<Definition> = Vec::new();
    let mut in_section = false;
    let mut found = false;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let top_level = !raw.starts_with([' ', '\t']) && !trimmed.starts_with('-');
        if top_level {
            in_section = yaml_scalar(trimmed) == "key:";
            found |= in_section;
            continue;
        }
        if !in_section {
            continue;
        }
        let mut item = trimmed;
        if let Some(rest) = trimmed.strip_prefix('-') {
            defs.push(Definition {
                at: format!("line {}", i + 1),
                ..Definition::default()
            });
            item = rest.trim();
            if item.is_empty() {
                continue;
            }
        }
        let Some(def) = defs.last_mut() else {
            return Err(bad(format!(
                "line {}: a key attribute before the first `- id:`",
                i + 1
            )));
        };
        let Some((attr, value)) = item.split_once(':') else {
            return Err(bad(format!(
                "line {}: not `attribute: value` in the key section",
                i + 1
            )));
        };
        let slot = match attr.trim() {
            "id" => &mut def.name,
            "algorithm" => &mut def.algorithm,
            "secret" => &mut def.secret,
            // Other attributes (a comment) do not matter here.
            _ => continue,
        };
        if slot.is_some() {
            return Err(bad(format!(
                "line {}: `{}` given twice for one key",
                i + 1,
                attr.trim()
            )));
        }
        *slot = Some(yaml_scalar(value));
    }
    Ok(found.then_some(defs))
}

/// The tokens of a BIND configuration: quoted strings (without the quotes), words, and
/// `{`, `}`, `;`, each with its line; comments (`#`, `//`, `/* */`) dropped.
fn bind_tokens(text: &str) -> Result<Vec<(String, usize)>, UpdateError> {
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '"' => {
                let start = line;
                let mut t = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(d) => {
                            if d == '\n' {
                                line += 1;
                            }
                            t.push(d);
                        }
                        None => return Err(bad(format!("line {start}: unterminated string"))),
                    }
                }
                tokens.push((t, start));
            }
            '{' | '}' | ';' => tokens.push((c.to_string(), line)),
            '#' => while chars.next_if(|&d| d != '\n').is_some() {},
            '/' if chars.peek() == Some(&'/') => while chars.next_if(|&d| d != '\n').is_some() {},
            '/' if chars.peek() == Some(&'*') => {
                let start = line;
                chars.next();
                let mut last = ' ';
                loop {
                    match chars.next() {
                        Some('/') if last == '*' => break,
                        Some(d) => {
                            if d == '\n' {
                                line += 1;
                            }
                            last = d;
                        }
                        None => return Err(bad(format!("line {start}: unterminated /* comment"))),
                    }
                }
            }
            c if c.is_whitespace() => {}
            c => {
                let mut t = c.to_string();
                while let Some(d) = chars.next_if(|&d| !d.is_whitespace() && !"{};\"#".contains(d))
                {
                    t.push(d);
                }
                tokens.push((t, line));
            }
        }
    }
    Ok(tokens)
}

/// BIND's `key NAME { algorithm ALG; secret "BASE64"; };` statements at the top level of
/// the file (a `key "x";` reference inside another statement is not a definition). `None`
/// when there is none.
fn bind_keys(text: &str) -> Result<Option<Vec<Definition>>, UpdateError> {
    let tokens = bind_tokens(text)?;
    let mut defs = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let (t, line) = (&tokens[i].0, tokens[i].1);
        match t.as_str() {
            "{" => depth += 1,
            "}" => depth = depth.saturating_sub(1),
            "key" if depth == 0 && tokens.get(i + 2).is_some_and(|(b, _)| b == "{") => {
                let mut def = Definition {
                    name: tokens.get(i + 1).map(|(n, _)| n.clone()),
                    at: format!("line {line}"),
                    ..Definition::default()
                };
                i += 3;
                // The clauses, up to the closing brace.
                while i < tokens.len() && tokens[i].0 != "}" {
                    let slot = match tokens[i].0.as_str() {
                        "algorithm" => Some(&mut def.algorithm),
                        "secret" => Some(&mut def.secret),
                        _ => None,
                    };
                    if let Some(slot) = slot {
                        let value = tokens.get(i + 1).map(|(v, _)| v.clone());
                        if value.as_deref().is_some_and(|v| "{};".contains(v)) {
                            return Err(bad(format!(
                                "line {}: `{}` without a value",
                                tokens[i].1, tokens[i].0
                            )));
                        }
                        *slot = value;
                        i += 1;
                    }
                    i += 1;
                }
                if i >= tokens.len() {
                    return Err(bad(format!("line {line}: the key statement is not closed")));
                }
                defs.push(def);
            }
            _ => {}
        }
        i += 1;
    }
    Ok((!defs.is_empty()).then_some(defs))
}

/// `[ALG:]NAME:SECRET` lines (`nsupdate -y`, `knsupdate -y`); `#` lines are comments.
fn line_keys(text: &str) -> Result<Vec<Definition>, UpdateError> {
    let mut defs = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("line {}", i + 1);
        let parts: Vec<&str> = line.split(':').map(str::trim).collect();
        let def = match parts[..] {
            [alg, name, secret] => Definition {
                name: Some(name.to_owned()),
                algorithm: Some(alg.to_owned()),
                secret: Some(secret.to_owned()),
                at,
            },
            // RFC 8945 6 and nsupdate(1): without an algorithm, nsupdate means hmac-md5.
            [name, _] if !name.to_ascii_lowercase().starts_with("hmac-") => {
                return Err(bad(format!(
                    "key {name:?} ({at}) names no algorithm: nsupdate -y then means hmac-md5, which is not supported; write hmac-sha256:{name}:SECRET"
                )));
            }
            // Never echo the line: its last field may be the secret.
            _ => {
                return Err(bad(format!(
                    "{at}: not a key definition (expected [ALG:]NAME:SECRET, Knot `key:` or BIND `key \"NAME\" {{ ... }};`)"
                )));
            }
        };
        defs.push(def);
    }
    Ok(defs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
    const OTHER: &str = "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3Q=";

    /// Parses `text` (choosing `name`), and checks the key's name and algorithm, or that
    /// the error says `expected`'s text; an error never holds either secret.
    fn check(text: &str, name: Option<&str>, expected: Result<(&str, &str), &str>) {
        let got = TsigKey::parse_named(text, name);
        if let Ok(k) = &got {
            let debug = format!("{k:?}");
            assert!(
                !debug.contains(SECRET) && !debug.contains("secret-"),
                "{debug}"
            );
        }
        match (got, expected) {
            (Ok(k), Ok((name, alg))) => {
                assert_eq!(k.name.to_string(), name, "{text}");
                assert_eq!(k.algorithm.to_name().to_string(), alg, "{text}");
            }
            (Err(e), Err(want)) => {
                let e = e.to_string();
                assert!(e.contains(want), "{text}: {e}");
                assert!(!e.contains(SECRET) && !e.contains(OTHER), "{e}");
            }
            (got, want) => panic!("{text}: got {got:?}, wanted {want:?}"),
        }
    }

    fn bind(name: &str, alg: &str, secret: &str) -> String {
        format!("key \"{name}\" {{\n\talgorithm {alg};\n\tsecret \"{secret}\";\n}};\n")
    }

    fn knot(name: &str, alg: &str, secret: &str) -> String {
        format!(
            "# {alg}:{name}:{secret}\nkey:\n  - id: {name}\n    algorithm: {alg}\n    secret: {secret}\n"
        )
    }

    #[test]
    fn knot_keymgr_output() {
        check(
            &knot("knot-key", "hmac-sha512", SECRET),
            None,
            Ok(("knot-key.", "hmac-sha512")),
        );
        // The comment line is a comment: the YAML decides (here another algorithm).
        let t = format!(
            "# hmac-sha256:wrong:{OTHER}\nkey:\n  - id: k2\n    algorithm: \"hmac-sha384\"\n    secret: '{SECRET}'  # the secret\n"
        );
        check(&t, None, Ok(("k2.", "hmac-sha384")));
        // A comment line alone is no key.
        check(
            &format!("# hmac-sha256:k:{SECRET}\n"),
            None,
            Err("no key found"),
        );
        // Inside a knot.conf, with other sections around it.
        let conf = format!(
            "server:\n    listen: 0.0.0.0@53\nkey:\n  - id: a\n    algorithm: hmac-sha256\n    secret: {SECRET}\n  - id: b\n    algorithm: hmac-sha256\n    secret: {OTHER}\nacl:\n  - id: update\n    key: a\n"
        );
        check(
            &conf,
            None,
            Err("2 keys (a., b.): choose one with --tsig-key-name"),
        );
        check(&conf, Some("b"), Ok(("b.", "hmac-sha256")));
        check(&conf, Some("B."), Ok(("b.", "hmac-sha256")));
        check(
            &conf,
            Some("c"),
            Err("no key named c. in the file (it has: a., b.)"),
        );
        check(
            "key:\n  - id: k\n    algorithm: hmac-sha256\n",
            None,
            Err("key \"k\" (line 2) has no secret"),
        );
        check(
            &format!("key:\n  - id: k\n    secret: {SECRET}\n    secret: {OTHER}\n"),
            None,
            Err("given twice"),
        );
        check(
            &format!("key:\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"),
            None,
            Err("before the first `- id:`"),
        );
    }

    #[test]
    fn bind_tsig_keygen_and_ddns_confgen() {
        check(
            &bind("rollover-key", "hmac-sha256", SECRET),
            None,
            Ok(("rollover-key.", "hmac-sha256")),
        );
        // ddns-confgen: comments of every kind, and an update-policy statement.
        let ddns = format!(
            "# To activate this key, place the following in named.conf, and\n\
             # in a separate keyfile on the system or systems from which nsupdate\n\
             # will be run:\n{}\n\
             # Then, in the \"zone\" statement for the zone containing the\n\
             # name \"example.com\", place an \"update-policy\" statement\n\
             update-policy {{\n\t  grant ddns-key.example.com zonesub ANY;\n}};\n\
             // key \"commented\" {{ algorithm hmac-sha512; secret \"{OTHER}\"; }};\n\
             /* key \"also-commented\" {{\n algorithm hmac-sha512;\n secret \"{OTHER}\"; }}; */\n\
             zone \"example.com\" {{ allow-update {{ key \"ddns-key.example.com\"; }}; }};\n",
            bind("ddns-key.example.com", "hmac-sha256", SECRET)
        );
        check(&ddns, None, Ok(("ddns-key.example.com.", "hmac-sha256")));
        // One line, unquoted name, quoted algorithm.
        check(
            &format!("key k2 {{ algorithm \"hmac-sha384\"; secret \"{SECRET}\"; }};"),
            None,
            Ok(("k2.", "hmac-sha384")),
        );
        let two = format!(
            "{}{}",
            bind("a", "hmac-sha256", SECRET),
            bind("b", "hmac-sha512", OTHER)
        );
        check(&two, None, Err("2 keys (a., b.)"));
        check(&two, Some("b"), Ok(("b.", "hmac-sha512")));
        check(
            &bind("md5", "hmac-md5", SECRET),
            None,
            Err("\"hmac-md5\" is not supported"),
        );
        check(
            &bind("sha1", "hmac-sha1", SECRET),
            None,
            Err("is not supported"),
        );
        check(&bind("x", "hmac-sha256", "@@@"), None, Err("not base64"));
        check(
            "key \"x\" {\n algorithm hmac-sha256;\n};",
            None,
            Err("key \"x\" (line 1) has no secret"),
        );
        check(
            &format!("key \"x\" {{\n algorithm hmac-sha256;\n secret \"{SECRET}\";\n"),
            None,
            Err("not closed"),
        );
        check(
            &format!("key \"x\" {{ algorithm hmac-sha256; secret \"{SECRET};}};\n"),
            None,
            Err("unterminated string"),
        );
        check(
            "/* key \"x\" { algorithm hmac-sha256; };",
            None,
            Err("unterminated /* comment"),
        );
        check(
            "key \"x\" { secret ; };",
            None,
            Err("`secret` without a value"),
        );
    }

    #[test]
    fn nsupdate_y_lines() {
        check(
            &format!("hmac-sha256:line-key:{SECRET}\n"),
            None,
            Ok(("line-key.", "hmac-sha256")),
        );
        check(
            &format!("# a comment\n\nhmac-sha512:k:{SECRET}"),
            None,
            Ok(("k.", "hmac-sha512")),
        );
        check(&format!("k:{SECRET}"), None, Err("means hmac-md5"));
        check(
            &format!("hmac-sha256:{SECRET}"),
            None,
            Err("line 1: not a key definition"),
        );
        check(
            &format!("a:b:c:{SECRET}"),
            None,
            Err("not a key definition"),
        );
        check(&format!("hmac-sha256::{SECRET}"), None, Err("has no name"));
        // The fields swapped: the secret is never quoted back.
        check(
            &format!("hmac-sha256:{SECRET}:roll-key"),
            None,
            Err("its name field looks like a secret"),
        );
        check(
            &format!("key \"{SECRET}\" {{ algorithm hmac-sha256; secret \"x\"; }};"),
            None,
            Err("looks like a secret"),
        );
        check("hmac-sha256:k:", None, Err("has no secret"));
        check(
            &format!("hmac-sha256:a:{SECRET}\nhmac-sha256:b:{OTHER}\n"),
            Some("a"),
            Ok(("a.", "hmac-sha256")),
        );
        check("hello", None, Err("line 1: not a key definition"));
        check("", None, Err("no key found"));
    }

    #[test]
    fn too_many_keys() {
        let many: String = (0..=MAX_KEYS)
            .map(|i| format!("hmac-sha256:k{i}:{SECRET}\n"))
            .collect();
        check(&many, Some("k1"), Err("at most 64"));
    }
}
