//! Master files (RFC 1035 section 5) as BIND, NSD and Knot write them: `$ORIGIN`, `$TTL`,
//! `$INCLUDE` (through a callback, so this stays pure), owner inheritance, TTL and class in
//! either order, multi-line records in parentheses, comments, quoted strings and escapes,
//! RFC 3597 generic RDATA. Class IN only.

use std::borrow::Cow;
use std::sync::Arc;

use crate::name::Name;
use crate::rdata::{self, rtype_from_text};
use crate::{Error, Record};

/// Bounds on what a master file may make us do.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    /// Deepest `$INCLUDE` nesting (the top file is depth 0).
    pub include_depth: usize,
    /// Most records in the zone, all files together.
    pub max_records: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            include_depth: 8,
            max_records: 5_000_000,
        }
    }
}

/// What the caller answers for `$INCLUDE path`: the included file's label (for messages
/// and loop detection, e.g. its resolved path) and its text, or a one-line reason.
pub type IncludeResult = Result<(String, String), String>;

/// One token of a logical entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    /// The text as written, escapes still in it; quotes removed. Borrowed from the file
    /// (tokens end at ASCII delimiters, so on character boundaries; the lossy copy is a
    /// fallback that never runs).
    pub text: Cow<'a, str>,
    /// Whether it was written in double quotes.
    pub quoted: bool,
}

/// A logical entry: the tokens of one line, or of several joined by parentheses.
struct Entry<'a> {
    line: usize,
    /// Whether the line started with blank space (the owner is inherited).
    blank_start: bool,
    tokens: Vec<Token<'a>>,
}

/// The entries of a file, one at a time (so a large zone is never held as tokens all at
/// once: only the records are kept). Errors name the line; after one, nothing follows.
struct Entries<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    /// No entry starts at or after this offset (an entry that starts before it is read to
    /// its end).
    end: usize,
    line: usize,
    depth: usize,
    open_line: usize,
    failed: bool,
}

impl<'a> Entries<'a> {
    /// The entries starting at offset `i` (the start of line `line`) and before `end`.
    fn at(text: &'a str, i: usize, line: usize, end: usize) -> Self {
        Entries {
            text,
            b: text.as_bytes(),
            i,
            end,
            line,
            depth: 0,
            open_line: 0,
            failed: false,
        }
    }

    /// The next entry with tokens, starting at the beginning of a line.
    fn entry(&mut self) -> Option<Result<Entry<'a>, (usize, String)>> {
        // Room for a signed record's tokens (an RRSIG line has 13): one allocation, kept
        // across blank and comment lines.
        let mut tokens = Vec::with_capacity(16);
        while self.i < self.end {
            let mut cur = Entry {
                line: self.line,
                blank_start: matches!(self.b[self.i], b' ' | b'\t'),
                tokens,
            };
            if let Err(e) = self.fill(&mut cur) {
                return Some(Err(e));
            }
            if !cur.tokens.is_empty() {
                return Some(Ok(cur));
            }
            tokens = cur.tokens;
        }
        None
    }

    /// Reads the tokens of one entry into `cur`: up to a newline outside parentheses
    /// (consumed), or the end of the file.
    fn fill(&mut self, cur: &mut Entry<'a>) -> Result<(), (usize, String)> {
        let b = self.b;
        while self.i < b.len() {
            match b[self.i] {
                b'\n' => {
                    self.line += 1;
                    self.i += 1;
                    if self.depth == 0 {
                        return Ok(());
                    }
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                b';' => {
                    while self.i < b.len() && b[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                b'(' => {
                    if self.depth == 0 {
                        self.open_line = self.line;
                    }
                    self.depth += 1;
                    self.i += 1;
                }
                b')' => {
                    self.depth = self
                        .depth
                        .checked_sub(1)
                        .ok_or((self.line, "')' without '('".to_string()))?;
                    self.i += 1;
                }
                b'"' => {
                    let start = self.line;
                    let (end, next, lines) = quoted(b, self.i + 1)
                        .ok_or((start, "unterminated quoted string".to_string()))?;
                    let text = self.slice(self.i + 1, end);
                    self.line += lines;
                    self.i = next;
                    cur.tokens.push(Token { text, quoted: true });
                }
                _ => {
                    let end = bare_end(b, self.i);
                    let text = self.slice(self.i, end);
                    self.i = end;
                    cur.tokens.push(Token {
                        text,
                        quoted: false,
                    });
                }
            }
        }
        if self.depth > 0 {
            return Err((
                self.open_line,
                "'(' not closed before the end of the file".to_string(),
            ));
        }
        Ok(())
    }
}

impl<'a> Entries<'a> {
    /// The text from `start` to `end`, borrowed when both are character boundaries.
    fn slice(&self, start: usize, end: usize) -> Cow<'a, str> {
        match self.text.get(start..end) {
            Some(s) => Cow::Borrowed(s),
            None => String::from_utf8_lossy(&self.b[start..end]),
        }
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, (usize, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = self.entry();
        self.failed = matches!(next, Some(Err(_)));
        next
    }
}

/// The end of an unquoted token starting at `i`: the next blank, comment, parenthesis or
/// quote that is not escaped.
fn bare_end(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        match ENDS_TOKEN[usize::from(c)] {
            0 => i += 1,
            1 => break,
            _ => i += 2.min(b.len() - i),
        }
    }
    i
}

/// Per octet: 1 ends an unquoted token, 2 escapes the next octet, 0 is part of it (one
/// look-up per octet where eight comparisons were: a zone's text is mostly base64).
const ENDS_TOKEN: [u8; 256] = {
    let mut t = [0u8; 256];
    let ends = *b" \t\r\n;()\"";
    let mut k = 0;
    while k < ends.len() {
        t[ends[k] as usize] = 1;
        k += 1;
    }
    t[b'\\' as usize] = 2;
    t
};

/// A quoted string starting after its opening quote: (the end of its contents, escapes
/// kept, index after the closing quote, newlines inside it).
fn quoted(b: &[u8], mut i: usize) -> Option<(usize, usize, usize)> {
    let mut lines = 0;
    while i < b.len() {
        match b[i] {
            b'"' => return Some((i, i + 1, lines)),
            b'\\' => i += 2,
            b'\n' => {
                lines += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// Parser state carried across files.
struct State<'a> {
    limits: ParseLimits,
    include: &'a mut dyn FnMut(&str, &str) -> IncludeResult,
    stack: Vec<String>,
    records: Vec<Record>,
    /// Records moved out of `records` in blocks of `block` (a part parsed ahead hands its
    /// records over a block at a time, so they are not held twice while they move).
    done: Vec<Vec<Record>>,
    done_len: usize,
    block: usize,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    /// A part of the top file parsed ahead on another thread ([`parse_top`]): it reads no
    /// `$INCLUDE` and does not know the TTL of the records before it.
    ahead: bool,
    /// Set (with an error) when a part parsed ahead met either: the serial parse redoes it.
    needs_serial: bool,
}

impl<'a> State<'a> {
    fn new(limits: ParseLimits, include: &'a mut dyn FnMut(&str, &str) -> IncludeResult) -> Self {
        State {
            limits,
            include,
            stack: Vec::new(),
            records: Vec::new(),
            done: Vec::new(),
            done_len: 0,
            block: usize::MAX,
            default_ttl: None,
            last_ttl: None,
            ahead: false,
            needs_serial: false,
        }
    }

    /// Records read so far.
    fn count(&self) -> usize {
        self.done_len + self.records.len()
    }

    fn push(&mut self, rec: Record) {
        self.records.push(rec);
        if self.records.len() >= self.block {
            self.done_len += self.records.len();
            let full = std::mem::replace(&mut self.records, Vec::with_capacity(self.block));
            self.done.push(full);
        }
    }
}

/// Where the parse of a file stands: the next entry's offset and line, the origin, and
/// the owner blank-started lines inherit.
#[derive(Clone)]
struct Cursor {
    pos: usize,
    line: usize,
    origin: Name,
    owner: Owner,
}

/// Parses a master file. `file` names it in errors and is passed to `include` as the file
/// an `$INCLUDE` appears in (so the caller resolves paths relative to it); `origin` is
/// the initial `$ORIGIN` (e.g. the zone name).
///
/// A large file (64 KiB and more per thread of rayon's pool) is parsed in parts on several
/// threads; the records and the first error are those of parsing it in order (a part that
/// may not be is parsed again in order), whatever the number of threads.
pub fn parse_master(
    file: &str,
    text: &str,
    origin: &Name,
    limits: ParseLimits,
    include: &mut dyn FnMut(&str, &str) -> IncludeResult,
) -> Result<Vec<Record>, Error> {
    let parts = rayon::current_num_threads()
        .min(text.len() / MIN_PART)
        .max(1);
    let mut st = State::new(limits, include);
    parse_top(&mut st, file, text, origin, parts, BLOCK)?;
    Ok(st.records)
}

/// The least text worth a part of its own (a thread parses it in about a millisecond).
const MIN_PART: usize = 64 << 10;
/// Records a part parsed ahead hands over at a time (4 MiB).
const BLOCK: usize = 65_536;

/// Parses the top file in `parts` parts, the first on this thread (it alone reads
/// `$INCLUDE`s), the others ahead on their own threads, each from a line that starts with
/// an owner and with the origin and `$TTL` the `$` lines before it give. A part's records
/// are taken only when the part before it ended exactly where it starts, in the state it
/// assumed, and it read no `$INCLUDE` nor a TTL inherited from before it; from the first
/// part that fails this, the rest of the file is parsed here in order. So the records,
/// their order and the first error are those of one parse in order, whatever `parts` is.
/// Returns how many parts parsed ahead were taken. They hand over their records in blocks
/// of `block`.
fn parse_top(
    st: &mut State<'_>,
    file: &str,
    text: &str,
    origin: &Name,
    parts: usize,
    block: usize,
) -> Result<usize, Error> {
    let label: Arc<str> = Arc::from(file);
    st.stack.push(file.to_string());
    let starts = part_starts(text, parts);
    let mut cur = Cursor {
        pos: 0,
        line: 1,
        origin: origin.clone(),
        owner: Owner::default(),
    };
    let first_end = starts.first().copied().unwrap_or(text.len());
    let mut taken = 0;
    std::thread::scope(|scope| {
        let ahead: Vec<_> = starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = starts.get(i + 1).copied().unwrap_or(text.len());
                let (limits, label) = (st.limits, Arc::clone(&label));
                let at = (start, end, block);
                scope.spawn(move || parse_ahead(text, file, &label, origin, at, limits))
            })
            .collect();
        parse_entries(st, file, &label, text, &mut cur, first_end)?;
        for (handle, &start) in ahead.into_iter().zip(&starts) {
            let Ok(part) = handle.join() else {
                break; // a part that panicked: parsed again here (and panics here too)
            };
            let lined_up = cur.pos == start
                && part.assumed == Some((cur.origin.clone(), st.default_ttl))
                && !part.needs_serial;
            if !lined_up {
                break;
            }
            let before = st.count();
            let max = st.limits.max_records;
            let count: usize = part.records.iter().map(Vec::len).sum();
            if before + count > max {
                let line = part.records.iter().flatten().nth(max - before);
                let line = line.map_or(cur.line, |r| r.line);
                return Err(parse_error(file, line, format!("more than {max} records")));
            }
            if let Some(e) = part.error {
                return Err(e);
            }
            // Block by block, each freed once moved: the part's records are not all held
            // twice.
            st.records.reserve(count);
            for block in part.records {
                st.records.extend(block);
            }
            st.default_ttl = part.default_ttl;
            st.last_ttl = part.last_ttl.or(st.last_ttl);
            cur = part.cursor;
            taken += 1;
        }
        parse_entries(st, file, &label, text, &mut cur, text.len())
    })?;
    st.stack.pop();
    Ok(taken)
}

fn parse_error(file: &str, line: usize, what: String) -> Error {
    Error::Parse {
        file: file.to_string(),
        line,
        what,
    }
}

/// What a part parsed ahead found.
struct Ahead {
    /// The origin and `$TTL` it started with (`None`: none could be guessed, not parsed).
    assumed: Option<(Name, Option<u32>)>,
    /// Its records, in blocks.
    records: Vec<Vec<Record>>,
    /// The first error in the part, if any.
    error: Option<Error>,
    /// It met an `$INCLUDE` or a record whose TTL comes from before it.
    needs_serial: bool,
    /// Where it ended, and the state there.
    cursor: Cursor,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
}

/// Parses the entries of `text` from `start` that start before `end`, with the origin and
/// `$TTL` that the `$ORIGIN` and `$TTL` lines before `start` set; the records in blocks
/// of `block`.
fn parse_ahead(
    text: &str,
    file: &str,
    label: &Arc<str>,
    origin: &Name,
    (start, end, block): (usize, usize, usize),
    limits: ParseLimits,
) -> Ahead {
    let mut none = |_: &str, _: &str| -> IncludeResult { Err(String::new()) };
    let mut st = State::new(limits, &mut none);
    st.ahead = true;
    st.block = block;
    st.stack.push(file.to_string());
    let line = 1 + text.as_bytes()[..start]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    let assumed = directives_before(text, start, origin);
    let mut cur = Cursor {
        pos: start,
        line,
        origin: origin.clone(),
        owner: Owner::default(),
    };
    let mut error = None;
    if let Some((o, ttl)) = &assumed {
        cur.origin = o.clone();
        st.default_ttl = *ttl;
        error = parse_entries(&mut st, file, label, text, &mut cur, end).err();
    }
    let mut records = st.done;
    records.push(st.records);
    Ahead {
        assumed,
        records,
        error,
        needs_serial: st.needs_serial,
        cursor: cur,
        default_ttl: st.default_ttl,
        last_ttl: st.last_ttl,
    }
}

/// Where the parts after the first start: near each `1/parts` of the text, the start of a
/// line that begins with an owner (not blank space, a comment, a directive or a
/// parenthesis). Increasing; fewer when the text has no such line there.
fn part_starts(text: &str, parts: usize) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out: Vec<usize> = Vec::new();
    for k in 1..parts {
        let mut i = (b.len() / parts * k).max(out.last().map_or(0, |l| l + 1));
        let found = loop {
            let Some(nl) = b
                .get(i..)
                .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
            else {
                break None;
            };
            i += nl + 1;
            match b.get(i) {
                None => break None,
                Some(b' ' | b'\t' | b'\r' | b'\n' | b';' | b'$' | b'(' | b')' | b'"') => {}
                Some(_) => break Some(i),
            }
        };
        match found {
            Some(i) => out.push(i),
            None => break,
        }
    }
    out
}

/// The origin and `$TTL` in force at `start` if the `$ORIGIN` and `$TTL` lines before it
/// are all there is to it; `None` when a line there is `$INCLUDE` or does not parse (the
/// parse in order finds out). A `$` line inside parentheses or quotes makes a wrong guess,
/// which the caller sees (the state at the end of the part before differs).
fn directives_before(text: &str, start: usize, origin: &Name) -> Option<(Name, Option<u32>)> {
    let mut origin = origin.clone();
    let mut ttl = None;
    let head = &text[..start];
    for (i, _) in head.match_indices('$') {
        if i > 0 && head.as_bytes()[i - 1] != b'\n' {
            continue;
        }
        let line = head[i..].lines().next().unwrap_or_default();
        let line = line.split(';').next().unwrap_or_default();
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        match words.as_slice() {
            [d, o] if d.eq_ignore_ascii_case("$ORIGIN") => origin = Name::parse(o, &origin).ok()?,
            [d, t] if d.eq_ignore_ascii_case("$TTL") => ttl = Some(rdata::ttl(t).ok()?),
            _ => return None,
        }
    }
    Some((origin, ttl))
}

/// An included file, parsed in order.
fn parse_file(st: &mut State<'_>, file: &str, text: &str, origin: Name) -> Result<(), Error> {
    st.stack.push(file.to_string());
    let label: Arc<str> = Arc::from(file);
    let mut cur = Cursor {
        pos: 0,
        line: 1,
        origin,
        owner: Owner::default(),
    };
    parse_entries(st, file, &label, text, &mut cur, text.len())?;
    st.stack.pop();
    Ok(())
}

/// Parses the entries of `text` from `cur` that start before `end`; `cur` is left after
/// the last one.
fn parse_entries(
    st: &mut State<'_>,
    file: &str,
    label: &Arc<str>,
    text: &str,
    cur: &mut Cursor,
    end: usize,
) -> Result<(), Error> {
    let err = |line: usize, what: String| parse_error(file, line, what);
    let mut entries = Entries::at(text, cur.pos, cur.line, end);
    let result = (|| {
        for e in entries.by_ref() {
            let e = e.map_err(|(l, w)| err(l, w))?;
            let first = &e.tokens[0];
            if !e.blank_start && !first.quoted && first.text.starts_with('$') {
                directive(st, file, &e, &mut cur.origin).map_err(|w| err(e.line, w))?;
                continue;
            }
            let rec =
                record(st, &e, &cur.origin, &mut cur.owner, label).map_err(|w| err(e.line, w))?;
            if st.count() >= st.limits.max_records {
                return Err(err(
                    e.line,
                    format!("more than {} records", st.limits.max_records),
                ));
            }
            st.push(rec);
        }
        Ok(())
    })();
    cur.pos = entries.i;
    cur.line = entries.line;
    result
}

/// `$ORIGIN`, `$TTL`, `$INCLUDE` (RFC 1035 5.1, RFC 2308 4).
fn directive(st: &mut State<'_>, file: &str, e: &Entry, origin: &mut Name) -> Result<(), String> {
    let t = &e.tokens;
    let arg = |i: usize| t.get(i).map(|t| &*t.text);
    match t[0].text.to_ascii_uppercase().as_str() {
        "$ORIGIN" if t.len() == 2 => {
            *origin = Name::parse(&t[1].text, origin).map_err(|w| format!("$ORIGIN: {w}"))?;
        }
        "$TTL" if t.len() == 2 => {
            st.default_ttl = Some(rdata::ttl(&t[1].text).map_err(|w| format!("$TTL: {w}"))?);
        }
        "$INCLUDE" if st.ahead => {
            st.needs_serial = true;
            return Err("read by the parse in order".into());
        }
        "$INCLUDE" if t.len() == 2 || t.len() == 3 => {
            let path = arg(1).unwrap_or_default();
            if st.stack.len() > st.limits.include_depth {
                return Err(format!(
                    "$INCLUDE {path}: nested deeper than {} files",
                    st.limits.include_depth
                ));
            }
            let (label, text) =
                (st.include)(path, file).map_err(|w| format!("$INCLUDE {path}: {w}"))?;
            if st.stack.contains(&label) {
                return Err(format!("$INCLUDE {path}: includes itself ({label})"));
            }
            // RFC 1035 5.1: the optional origin applies to the included file only.
            let inner = match arg(2) {
                Some(o) => Name::parse(o, origin).map_err(|w| format!("$INCLUDE origin: {w}"))?,
                None => origin.clone(),
            };
            parse_file(st, &label, &text, inner).map_err(|e| e.to_string())?;
        }
        "$ORIGIN" | "$TTL" | "$INCLUDE" => {
            return Err(format!("{} with the wrong number of arguments", t[0].text));
        }
        other => return Err(format!("directive {other} is not supported")),
    }
    Ok(())
}

/// The owner of the last record (inherited by lines starting with blank space), with the
/// text and origin it was parsed from.
#[derive(Default, Clone)]
struct Owner {
    name: Option<Name>,
    text: String,
    origin: Option<Name>,
}

/// One resource record entry: `[owner] [ttl] [class] type rdata` (TTL and class in either
/// order, RFC 1035 5.1).
fn record(
    st: &mut State<'_>,
    e: &Entry,
    origin: &Name,
    last: &mut Owner,
    file: &Arc<str>,
) -> Result<Record, String> {
    let mut t = e.tokens.iter().peekable();
    if !e.blank_start {
        let o = t.next().map(|t| &*t.text).unwrap_or_default();
        // Signers write the owner on every line: the same text under the same origin is
        // the same name, shared rather than parsed and allocated again.
        let same = last.text == o && last.origin.as_ref() == Some(origin);
        if !same || last.name.is_none() {
            last.name = Some(Name::parse(o, origin).map_err(|w| format!("owner {o:?}: {w}"))?);
            o.clone_into(&mut last.text);
            last.origin = Some(origin.clone());
        }
    }
    let owner = last
        .name
        .clone()
        .ok_or("no owner: the first record starts with blank space")?;
    let mut ttl = None;
    let mut class_seen = false;
    let rtype = loop {
        let tok = t.next().ok_or("record has no type")?;
        // Compared without case, no upper-case copy made per token.
        let is = |word: &str| tok.text.eq_ignore_ascii_case(word);
        let class_prefix = tok.text.as_bytes().get(..5);
        if ttl.is_none() && tok.text.starts_with(|c: char| c.is_ascii_digit()) {
            ttl = Some(rdata::ttl(&tok.text)?);
        } else if !class_seen && (is("IN") || is("CLASS1")) {
            class_seen = true;
        } else if !class_seen && ["CH", "HS", "CS", "NONE", "ANY"].into_iter().any(is)
            || class_prefix.is_some_and(|p| p.eq_ignore_ascii_case(b"CLASS"))
        {
            return Err(format!("class {} is not supported (IN only)", tok.text));
        } else {
            break rtype_from_text(&tok.text)?;
        }
    };
    // RFC 2308 4: $TTL applies to records without one; before any $TTL, RFC 1035 5.1
    // says the last explicit TTL.
    let ttl = match ttl.or(st.default_ttl).or(st.last_ttl) {
        Some(v) => v,
        None if st.ahead => {
            st.needs_serial = true;
            return Err("the TTL of a record before this part".into());
        }
        None => return Err("no TTL given and no $TTL before it".into()),
    };
    st.last_ttl = Some(ttl);
    let rest: Vec<&Token> = t.collect();
    let mut rdata = rdata::encode(rtype, &rest, origin)
        .map_err(|w| format!("{} RDATA: {w}", rdata::type_name(rtype)))?;
    // RFC 1035 3.2.1: RDLENGTH is 16 bits.
    if rdata.len() > usize::from(u16::MAX) {
        return Err(format!(
            "{} RDATA of {} octets (most 65535)",
            rdata::type_name(rtype),
            rdata.len()
        ));
    }
    // The encoder's spare capacity would stay allocated for every record of the zone.
    rdata.shrink_to_fit();
    Ok(Record {
        owner,
        rtype,
        class: 1,
        ttl,
        rdata,
        file: Arc::clone(file),
        line: e.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_include(path: &str, _: &str) -> IncludeResult {
        Err(format!("no such file {path}"))
    }

    fn parse(text: &str) -> Result<Vec<Record>, Error> {
        let origin = Name::parse("example.", &Name::root()).unwrap();
        parse_master("z", text, &origin, ParseLimits::default(), &mut no_include)
    }

    /// (input, expected owner/type/ttl/rdata-hex per record, or the error's text part).
    fn check(input: &str, expected: Result<&[(&str, u16, u32, &str)], &str>) {
        let got = parse(input);
        match (got, expected) {
            (Ok(recs), Ok(exp)) => {
                let got: Vec<(String, u16, u32, String)> = recs
                    .iter()
                    .map(|r| {
                        (
                            r.owner.to_string(),
                            r.rtype,
                            r.ttl,
                            data_encoding::HEXLOWER.encode(&r.rdata),
                        )
                    })
                    .collect();
                let exp: Vec<(String, u16, u32, String)> = exp
                    .iter()
                    .map(|(o, t, l, d)| (o.to_string(), *t, *l, d.to_string()))
                    .collect();
                assert_eq!(got, exp, "{input}");
            }
            (Err(e), Err(part)) => assert!(e.to_string().contains(part), "{input}: {e}"),
            (got, exp) => panic!("{input}: got {got:?}, expected {exp:?}"),
        }
    }

    #[test]
    fn master_file_vectors() {
        check(
            "$TTL 1h\n@ A 192.0.2.1\n",
            Ok(&[("example.", 1, 3600, "c0000201")]),
        );
        check(
            "www 300 IN A 192.0.2.1\n IN 60 A 192.0.2.2 ; comment\n",
            Ok(&[
                ("www.example.", 1, 300, "c0000201"),
                ("www.example.", 1, 60, "c0000202"),
            ]),
        );
        check(
            "$ORIGIN sub.example.\n$TTL 5\nmx MX ( 10\n  Mail.Example. ) ; x\n",
            // RDATA keeps the case as written; the canonical form lowercases MX names later.
            Ok(&[("mx.sub.example.", 15, 5, "000a044d61696c074578616d706c6500")]),
        );
        check(
            "$TTL 5\nt TXT \"a b\" \"q\\\"\\059\" c\n",
            Ok(&[("t.example.", 16, 5, "036120620371223b0163")]),
        );
        check(
            "$TTL 5\nx TYPE65534 \\# 4 0a0B 0c0d\nx CLASS1 TYPE1 \\# 4 c0000201\n",
            Ok(&[
                ("x.example.", 65534, 5, "0a0b0c0d"),
                ("x.example.", 1, 5, "c0000201"),
            ]),
        );
        check("$TTL 5\nx TYPE1 \\# 0\n", Err("A RDATA"));
        check("$TTL 5\nx TYPE65534 \\# 3 0a0b\n", Err("3 octets"));
        check(" A 192.0.2.1\n", Err("z:1: no owner"));
        check("x A 192.0.2.1\n", Err("no TTL"));
        check("$TTL 5\nx CH A 192.0.2.1\n", Err("IN only"));
        // Classes and types in any case, compared without copying the token.
        check(
            "$TTL 5\nx in a 192.0.2.1\nx Class1 type1 \\# 4 c0000201\n",
            Ok(&[
                ("x.example.", 1, 5, "c0000201"),
                ("x.example.", 1, 5, "c0000201"),
            ]),
        );
        check("$TTL 5\nx class3 A 192.0.2.1\n", Err("IN only"));
        check("$TTL 5\nx cH A 192.0.2.1\n", Err("IN only"));
        check("$TTL 5\nx typ A 192.0.2.1\n", Err("unknown type typ"));
        check("$TTL 5\nx TYPE A 192.0.2.1\n", Err("unknown type TYPE"));
        // Tokens with multi-octet characters, bare, escaped and quoted, keep their text.
        check(
            "$TTL 5\nx \u{e9}t\u{e9} 1\n",
            Err("unknown type \u{e9}t\u{e9}"),
        );
        check(
            "$TTL 5\nt TXT \"\u{e9}\" \\\u{e9}\n",
            Ok(&[("t.example.", 16, 5, "02c3a902c3a9")]),
        );
        check("$TTL 5\n\n\nx A (192.0.2.1\n", Err("z:4: '(' not closed"));
        check("$TTL 5\nx A 192.0.2.1 )\n", Err("z:2: ')' without"));
        check("$TTL 5\nx TXT \"abc\n", Err("unterminated"));
        check("$GENERATE 1-2 x A 1.2.3.$\n", Err("not supported"));
        check("$TTL 5\nx FOO 1\n", Err("unknown type FOO"));
        let big = format!("$TTL 5\nx TYPE65534 \\# 65536 {}\n", "00".repeat(65536));
        check(
            &big,
            Err("z:2: TYPE65534 RDATA of 65536 octets (most 65535)"),
        );
        // UTF-8 text is taken as its octets, the same as the escaped form.
        check(
            "$TTL 5\nt TXT \"é\" caf\\195\\169\n",
            Ok(&[("t.example.", 16, 5, "02c3a905636166c3a9")]),
        );
        // An escaped blank and semicolon stay in the token (RFC 1035 5.1).
        check(
            "$TTL 5\nx TXT a\\ b\\;c\n",
            Ok(&[("x.example.", 16, 5, "056120623b63")]),
        );
        check(
            "$INCLUDE other\n",
            Err("z:1: $INCLUDE other: no such file other"),
        );
    }

    /// The top file parsed in `parts` parts, whatever its size, and how many parts parsed
    /// ahead were taken.
    fn parse_in(
        text: &str,
        parts: usize,
        max_records: usize,
    ) -> Result<(Vec<Record>, usize), Error> {
        // Blocks of 1 to 7 records, so parts hand over several.
        let block = 1 + (parts + max_records % 7) % 7;
        let origin = Name::parse("example.", &Name::root()).unwrap();
        let mut inc = |path: &str, _: &str| -> IncludeResult {
            match path {
                "keys" => Ok(("keys".into(), "$TTL 7\nk A 192.0.2.9\n x TXT y\n".into())),
                _ => Err("missing".into()),
            }
        };
        let limits = ParseLimits {
            max_records,
            ..ParseLimits::default()
        };
        let mut st = State::new(limits, &mut inc);
        let taken = parse_top(&mut st, "z", text, &origin, parts, block)?;
        Ok((st.records, taken))
    }

    /// Parsed in parts (threads parsing ahead), a file gives the records and the first
    /// error of the parse in order: with directives, inherited owners and TTLs, entries
    /// across lines, `$` lines inside them, includes and errors around the part starts.
    #[test]
    fn parts_parse_as_one() {
        let pieces = [
            "a{i} 300 A 192.0.2.1\n",
            " 60 TXT \"x{i}\"\n",
            "$ORIGIN o{i}.example.\n",
            "$TTL 9{i}\n",
            "b{i} MX ( 10\nmx{i} )\n",
            "c{i} TXT ( \"p\"\n$ORIGIN q.\n)\n",
            "d{i} TXT \"l1\n$TTL 5\nl3\"\n",
            "e{i} A 192.0.2.2\n",
            "; comment {i}\n\n",
            "f{i} 30 IN A 192.0.2.3\ng{i} AAAA ::1\n",
            "$INCLUDE keys\n",
            "h{i} TYPE65534 \\# 2 0a0b\n",
        ];
        let mut cases = Vec::new();
        for seed in 0..40usize {
            let mut text = String::new();
            if seed % 3 != 0 {
                text.push_str("$TTL 100\n");
            }
            for i in 0..60 {
                let k = (i * 7 + seed * 5 + i * i * seed) % pieces.len();
                // Includes and the odd pieces only in some files, so most have parts.
                if (k == 10 && seed % 4 != 1) || (k == 5 && seed % 5 != 2) {
                    continue;
                }
                text.push_str(&pieces[k].replace("{i}", &i.to_string()));
            }
            match seed % 8 {
                3 => text.push_str("bad 5 A 300.0.0.1\n"),
                5 => {
                    let at = text.len() / 2;
                    let at = text[at..].find('\n').map_or(at, |n| at + n + 1);
                    text.insert_str(at, "zz 5 FOO 1\n");
                }
                _ => {}
            }
            cases.push(text);
        }
        let (mut split, mut taken) = (0, 0);
        let records = |r: Result<(Vec<Record>, usize), Error>| r.map(|(records, _)| records);
        for text in &cases {
            for max in [usize::MAX, 40] {
                let one = parse_in(text, 1, max);
                assert!(matches!(one, Ok((_, 0)) | Err(_)));
                let one = records(one);
                for parts in 2..7 {
                    let got = parse_in(text, parts, max);
                    taken += got.as_ref().map_or(0, |(_, taken)| *taken);
                    assert_eq!(records(got), one, "{parts} parts of\n{text}");
                }
            }
            split += usize::from(part_starts(text, 4).len() == 3);
        }
        assert!(split > 30, "{split}");
        // Most parts were taken from the threads, not parsed again.
        assert!(taken > 300, "{taken}");
        // Both kinds of outcome are covered: whole files and errors (a bad address, an
        // unknown type, the record limit).
        let oks = cases
            .iter()
            .filter(|t| parse_in(t, 1, usize::MAX).is_ok())
            .count();
        assert!(oks > 10 && oks < cases.len(), "{oks}");
    }

    #[test]
    fn part_starts_are_owner_lines() {
        let text = "$TTL 5\na A 192.0.2.1\n b TXT x\n;c\n$ORIGIN x.\nd A 192.0.2.1\n";
        for parts in 1..8 {
            let starts = part_starts(text, parts);
            assert!(starts.len() < parts.max(1));
            assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
            for s in starts {
                assert_eq!(&text[s - 1..s], "\n");
                assert!(text[s..].starts_with(['a', 'd']), "{s}");
            }
        }
        assert_eq!(part_starts("", 4), Vec::<usize>::new());
        assert_eq!(part_starts("a A 192.0.2.1\n", 4), Vec::<usize>::new());
    }

    #[test]
    fn include_is_relative_bounded_and_loop_free() {
        let origin = Name::parse("example.", &Name::root()).unwrap();
        let mut inc = |path: &str, from: &str| -> IncludeResult {
            match path {
                "keys" => Ok((format!("{from}/keys"), "@ 5 A 192.0.2.9\n".into())),
                "sub" => Ok(("sub".into(), "$ORIGIN inner.\nx 5 A 192.0.2.8\n".into())),
                "self" => Ok(("z".into(), String::new())),
                "deep" => Ok((format!("{from}+"), "$INCLUDE deep\n".into())),
                _ => Err("missing".into()),
            }
        };
        let text = "$INCLUDE keys\n$INCLUDE sub other.\ny 5 A 192.0.2.7\n";
        let recs = parse_master("z", text, &origin, ParseLimits::default(), &mut inc).unwrap();
        let owners: Vec<String> = recs.iter().map(|r| r.owner.to_string()).collect();
        // The included origin and $ORIGIN stay inside the included file (RFC 1035 5.1).
        assert_eq!(owners, ["example.", "x.inner.", "y.example."]);
        assert_eq!(&*recs[0].file, "z/keys");
        let e = parse_master(
            "z",
            "$INCLUDE self\n",
            &origin,
            ParseLimits::default(),
            &mut inc,
        );
        assert!(e.unwrap_err().to_string().contains("includes itself"));
        let e = parse_master(
            "z",
            "$INCLUDE deep\n",
            &origin,
            ParseLimits::default(),
            &mut inc,
        );
        assert!(e.unwrap_err().to_string().contains("nested deeper than 8"));
    }
}
