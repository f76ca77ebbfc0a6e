//! A flat, borrowed form of one JSON event for the fast path of the request path.
//!
//! [`Scanner`] reads one JSON value from the body's bytes into a reused `Vec<Entry>`
//! (strings stay in the body, numbers become `serde_json::Number`s), and [`Tape`] lets
//! `jsonschema` validate that form directly, so a valid event costs no
//! `serde_json::Value` tree. The scanner also tells whether the event's compact text
//! is exactly what `serde_json` would write for it (no escapes, no duplicate keys,
//! numbers in the form serde_json prints): only then does the caller store the bytes
//! as they came. Anything else (escapes, exponents, `1.50`, duplicate keys, invalid
//! events) takes the `Value` path, which stays the single source of error messages.

use std::borrow::Cow;

use jsonschema::JsonType;
use jsonschema::json::{Array, Json, Node, NodeIdentity, Object};
use serde_json::{Number, Value};

/// Deepest nesting the scanner reads (serde_json stops at 128).
pub const MAX_DEPTH: usize = 100;

/// Objects with more members than this are not checked for duplicate keys here:
/// such an event takes the `Value` path.
const MAX_FAST_MEMBERS: usize = 64;

/// One value of a scanned event. Containers are followed by their contents: an
/// object by `key, value` pairs (each key a `Str`), an array by its elements; `end`
/// is the index just past the container's last descendant.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Null,
    Bool(bool),
    Num(Number),
    /// Byte range of the string's contents (without quotes) in the event's text.
    Str {
        start: u32,
        end: u32,
    },
    Arr {
        len: u32,
        end: u32,
    },
    Obj {
        len: u32,
        end: u32,
    },
}

/// A scanned event: its text (valid UTF-8) and its entries.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a> {
    pub src: &'a str,
    pub entries: &'a [Entry],
}

impl<'a> Doc<'a> {
    pub fn root(&'a self) -> TapeNode<'a> {
        TapeNode { doc: self, i: 0 }
    }
}

/// The scanner found something it does not read: the JSON is invalid, or deeper than
/// [`MAX_DEPTH`], or (for [`Scanner::event`]) followed by more than whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// What a scanned value is like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Shape {
    /// The value holds something the fast path leaves to `serde_json` (an escape, an
    /// exponent, a number serde_json would print differently, a duplicate key, a very
    /// large object).
    pub slow: bool,
    /// Whitespace between tokens: the compact text needs it removed.
    pub spaced: bool,
}

/// Reads JSON values from `b`, starting at `pos`, each into its tape.
pub struct Scanner<'b> {
    b: &'b [u8],
    pub pos: usize,
    tape: Vec<Entry>,
    /// Key ranges of the objects being read, for the duplicate check.
    keys: Vec<(u32, u32)>,
    shape: Shape,
    /// Offset subtracted from byte positions (ranges are relative to the value).
    base: usize,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}

impl<'b> Scanner<'b> {
    /// A scanner at the start of `b`, reusing `tape`'s allocation.
    pub fn new(b: &'b [u8], tape: Vec<Entry>) -> Scanner<'b> {
        Scanner {
            b,
            pos: 0,
            tape,
            keys: Vec::new(),
            shape: Shape::default(),
            base: 0,
        }
    }

    /// The entries of the last value read.
    pub fn tape(&self) -> &[Entry] {
        &self.tape
    }

    /// Gives the tape back for reuse.
    pub fn into_tape(self) -> Vec<Entry> {
        self.tape
    }

    /// Skips whitespace; true when there was some.
    pub fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.pos < self.b.len() && is_ws(self.b[self.pos]) {
            self.pos += 1;
        }
        self.pos > start
    }

    pub fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    /// Reads one value starting at the current position (no leading whitespace) into a
    /// cleared tape; string ranges are relative to that position. Returns the value's
    /// byte range and shape. Its text may still be invalid UTF-8 (the caller checks).
    pub fn value(&mut self) -> Result<(usize, usize, Shape), Invalid> {
        self.tape.clear();
        self.keys.clear();
        self.shape = Shape::default();
        self.base = self.pos;
        let start = self.pos;
        self.any(0)?;
        Ok((start, self.pos, self.shape))
    }

    fn ws(&mut self) {
        if self.skip_ws() {
            self.shape.spaced = true;
        }
    }

    fn rel(&self, at: usize) -> Result<u32, Invalid> {
        u32::try_from(at - self.base).map_err(|_| Invalid)
    }

    fn any(&mut self, depth: usize) -> Result<(), Invalid> {
        if depth > MAX_DEPTH {
            return Err(Invalid);
        }
        match self.peek().ok_or(Invalid)? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => {
                let (s, e) = self.string()?;
                self.tape.push(Entry::Str { start: s, end: e });
                Ok(())
            }
            b't' => self.literal(b"true", Entry::Bool(true)),
            b'f' => self.literal(b"false", Entry::Bool(false)),
            b'n' => self.literal(b"null", Entry::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Invalid),
        }
    }

    fn literal(&mut self, word: &[u8], e: Entry) -> Result<(), Invalid> {
        if self.b[self.pos..].starts_with(word) {
            self.pos += word.len();
            self.tape.push(e);
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// A string at `pos` (on its opening quote): its contents' range, relative.
    fn string(&mut self) -> Result<(u32, u32), Invalid> {
        self.pos += 1;
        let start = self.pos;
        loop {
            let rest = &self.b[self.pos..];
            let n = memchr::memchr2(b'"', b'\\', rest).ok_or(Invalid)?;
            // Raw control characters are not allowed in JSON strings (a branch-free
            // pass; strings are short and rarely hold one).
            if rest[..n].iter().fold(false, |bad, &c| bad | (c < 0x20)) {
                return Err(Invalid);
            }
            self.pos += n;
            match self.b[self.pos] {
                b'"' => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok((self.rel(start)?, self.rel(end)?));
                }
                b'\\' => {
                    // Escapes are left to serde_json; only their extent is read here.
                    self.shape.slow = true;
                    match self.b.get(self.pos + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 2
                        }
                        Some(b'u') => {
                            let hex = self.b.get(self.pos + 2..self.pos + 6).ok_or(Invalid)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(Invalid);
                            }
                            self.pos += 6;
                        }
                        _ => return Err(Invalid),
                    }
                }
                _ => unreachable!("memchr2 stops at a quote or a backslash"),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.pos < self.b.len() && self.b[self.pos].is_ascii_digit() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), Invalid> {
        let start = self.pos;
        let negative = self.b[self.pos] == b'-';
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        let int_len = self.digits();
        if int_len == 0 || (int_len > 1 && self.b[int_start] == b'0') {
            return Err(Invalid);
        }
        let mut frac = None;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let f_start = self.pos;
            if self.digits() == 0 {
                return Err(Invalid);
            }
            frac = Some(f_start..self.pos);
        }
        let mut exponent = false;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(Invalid);
            }
            exponent = true;
        }
        let text = std::str::from_utf8(&self.b[start..self.pos]).map_err(|_| Invalid)?;
        let int = &self.b[int_start..int_start + int_len];
        let frac = frac.map(|r| &self.b[r]);
        let n = if exponent {
            None
        } else {
            canonical_number(text, negative, int, frac)
        };
        match n {
            Some(n) => self.tape.push(Entry::Num(n)),
            None => {
                self.shape.slow = true;
                self.tape.push(Entry::Null);
            }
        }
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<(), Invalid> {
        let at = self.tape.len();
        self.tape.push(Entry::Arr { len: 0, end: 0 });
        self.pos += 1;
        self.ws();
        let mut len = 0u32;
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                self.any(depth + 1)?;
                len += 1;
                self.ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.ws();
                    }
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(Invalid),
                }
            }
        }
        let end = u32::try_from(self.tape.len()).map_err(|_| Invalid)?;
        self.tape[at] = Entry::Arr { len, end };
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<(), Invalid> {
        let at = self.tape.len();
        self.tape.push(Entry::Obj { len: 0, end: 0 });
        self.pos += 1;
        self.ws();
        let keys_base = self.keys.len();
        let mut len = 0u32;
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                if self.peek() != Some(b'"') {
                    return Err(Invalid);
                }
                let (s, e) = self.string()?;
                if !self.shape.slow {
                    let key = &self.b[self.base + s as usize..self.base + e as usize];
                    let mine = &self.keys[keys_base..];
                    if mine.len() >= MAX_FAST_MEMBERS
                        || mine.iter().any(|&(ks, ke)| {
                            &self.b[self.base + ks as usize..self.base + ke as usize] == key
                        })
                    {
                        self.shape.slow = true;
                    }
                }
                self.keys.push((s, e));
                self.tape.push(Entry::Str { start: s, end: e });
                self.ws();
                if self.peek() != Some(b':') {
                    return Err(Invalid);
                }
                self.pos += 1;
                self.ws();
                self.any(depth + 1)?;
                len += 1;
                self.ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.ws();
                    }
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(Invalid),
                }
            }
        }
        self.keys.truncate(keys_base);
        let end = u32::try_from(self.tape.len()).map_err(|_| Invalid)?;
        self.tape[at] = Entry::Obj { len, end };
        Ok(())
    }
}

/// The number of a literal without exponent, when `serde_json` would read it as
/// exactly this number and print it back as exactly `text`; `None` otherwise.
///
/// Integers: no `-0`, within `u64` (non-negative) or 18 digits (negative). Decimals:
/// not zero, at most 15 significant digits (so the decimal is the shortest one that
/// reads back as its `f64`, which is what serde_json prints, and serde_json's own
/// reading of it is exact), no trailing zero in the fraction unless it is `.0`, and
/// at most four zeros right after `0.` (below that serde_json prints an exponent).
pub fn canonical_number(
    text: &str,
    negative: bool,
    int: &[u8],
    frac: Option<&[u8]>,
) -> Option<Number> {
    let Some(frac) = frac else {
        if negative {
            if int == b"0" || int.len() > 18 {
                return None;
            }
            return text.parse::<i64>().ok().map(Number::from);
        }
        return text.parse::<u64>().ok().map(Number::from);
    };
    let int_zero = int == b"0";
    if frac.len() > 1 && frac.last() == Some(&b'0') {
        return None;
    }
    if frac == b"0" && int_zero {
        return None;
    }
    let significant = if int_zero {
        let zeros = frac.iter().take_while(|&&c| c == b'0').count();
        if zeros > 4 {
            return None;
        }
        frac.len() - zeros
    } else {
        int.len() + if frac == b"0" { 0 } else { frac.len() }
    };
    if significant > 15 {
        return None;
    }
    text.parse::<f64>().ok().and_then(Number::from_f64)
}

/// The compact text of a value read with whitespace between tokens: the same bytes
/// without that whitespace (strings are copied as they are).
pub fn compact_into(text: &[u8], out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &c in text {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if !is_ws(c) {
            if c == b'"' {
                in_string = true;
            }
            out.push(c);
        }
    }
}

/// `jsonschema`'s view of a [`Doc`].
pub struct Tape;

/// One value of a [`Doc`].
#[derive(Clone, Copy)]
pub struct TapeNode<'a> {
    doc: &'a Doc<'a>,
    i: usize,
}

impl<'a> TapeNode<'a> {
    fn entry(&self) -> &'a Entry {
        &self.doc.entries[self.i]
    }

    fn str_at(&self, i: usize) -> &'a str {
        match &self.doc.entries[i] {
            Entry::Str { start, end } => &self.doc.src[*start as usize..*end as usize],
            _ => unreachable!("keys are strings"),
        }
    }

    /// The index just past this value's subtree.
    fn next(&self) -> usize {
        match self.entry() {
            Entry::Arr { end, .. } | Entry::Obj { end, .. } => *end as usize,
            _ => self.i + 1,
        }
    }

    /// The text of a string value.
    pub fn str(&self) -> Option<&'a str> {
        matches!(self.entry(), Entry::Str { .. }).then(|| self.str_at(self.i))
    }

    pub fn number(&self) -> Option<&'a Number> {
        match self.entry() {
            Entry::Num(n) => Some(n),
            _ => None,
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self.entry(), Entry::Obj { .. })
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<TapeNode<'a>> {
        let Entry::Obj { end, .. } = self.entry() else {
            return None;
        };
        let mut i = self.i + 1;
        while i < *end as usize {
            let value = TapeNode {
                doc: self.doc,
                i: i + 1,
            };
            if self.str_at(i) == key {
                return Some(value);
            }
            i = value.next();
        }
        None
    }

    /// A dotted path (`store.id`), as `pipewright_ingest_config::get_path` reads it.
    pub fn path(&self, dotted: &str) -> Option<TapeNode<'a>> {
        dotted.split('.').try_fold(*self, |n, k| n.get(k))
    }
}

impl Json for Tape {
    type Node<'a> = TapeNode<'a>;
    type PreparedKey = String;
    type StringBuffer = ();
    const ACYCLIC: bool = true;
    // A lookup scans the object's keys (events have few), like serde_json's small maps.
    const KEYS_PER_LOOKUP: usize = 2;

    fn prepare_key(key: &str) -> String {
        key.to_owned()
    }

    fn with_string_node<T>((): &mut (), string: &str, f: impl FnOnce(TapeNode<'_>) -> T) -> T {
        let entries = [Entry::Str {
            start: 0,
            end: u32::try_from(string.len()).unwrap_or(u32::MAX),
        }];
        let doc = Doc {
            src: string,
            entries: &entries,
        };
        f(TapeNode { doc: &doc, i: 0 })
    }
}

impl<'a> Node<'a, Tape> for TapeNode<'a> {
    type Object = TapeNode<'a>;
    type Array = TapeNode<'a>;
    type Number = &'a Number;

    fn as_object(&self) -> Option<TapeNode<'a>> {
        self.is_object().then_some(*self)
    }

    fn as_array(&self) -> Option<TapeNode<'a>> {
        matches!(self.entry(), Entry::Arr { .. }).then_some(*self)
    }

    fn as_string(&self) -> Option<Cow<'a, str>> {
        self.str().map(Cow::Borrowed)
    }

    fn as_number(&self) -> Option<&'a Number> {
        self.number()
    }

    fn as_boolean(&self) -> Option<bool> {
        match self.entry() {
            Entry::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self.entry(), Entry::Null)
    }

    fn json_type(&self) -> JsonType {
        match self.entry() {
            Entry::Null => JsonType::Null,
            Entry::Bool(_) => JsonType::Boolean,
            Entry::Num(_) => JsonType::Number,
            Entry::Str { .. } => JsonType::String,
            Entry::Arr { .. } => JsonType::Array,
            Entry::Obj { .. } => JsonType::Object,
        }
    }

    fn equals_value(&self, expected: &Value) -> bool {
        match (self.entry(), expected) {
            (Entry::Str { .. }, Value::String(e)) => self.str() == Some(e.as_str()),
            (Entry::Str { .. }, _) => false,
            (Entry::Null, e) => e.is_null(),
            (Entry::Bool(b), e) => e.as_bool() == Some(*b),
            _ => jsonschema::json::cmp::equal(&self.to_value(), expected),
        }
    }

    fn to_value(&self) -> Cow<'a, Value> {
        Cow::Owned(match self.entry() {
            Entry::Null => Value::Null,
            Entry::Bool(b) => Value::Bool(*b),
            Entry::Num(n) => Value::Number(n.clone()),
            Entry::Str { .. } => Value::String(self.str_at(self.i).to_owned()),
            Entry::Arr { .. } => {
                Value::Array(self.elements().map(|e| e.to_value().into_owned()).collect())
            }
            Entry::Obj { .. } => Value::Object(
                self.members()
                    .map(|(k, v)| (k.to_owned(), v.to_value().into_owned()))
                    .collect(),
            ),
        })
    }

    fn identity(&self) -> Option<NodeIdentity> {
        Some(NodeIdentity::new(std::ptr::from_ref(self.entry()) as usize))
    }
}

/// Members of an object node, in order.
pub struct Members<'a> {
    node: TapeNode<'a>,
    i: usize,
    end: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, TapeNode<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.end {
            return None;
        }
        let key = self.node.str_at(self.i);
        let value = TapeNode {
            doc: self.node.doc,
            i: self.i + 1,
        };
        self.i = value.next();
        Some((key, value))
    }
}

/// Elements of an array node, in order.
pub struct Elements<'a> {
    node: TapeNode<'a>,
    i: usize,
    end: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = TapeNode<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.end {
            return None;
        }
        let value = TapeNode {
            doc: self.node.doc,
            i: self.i,
        };
        self.i = value.next();
        Some(value)
    }
}

impl<'a> Object<'a, Tape> for TapeNode<'a> {
    type Node = TapeNode<'a>;
    type MemberName = &'a str;
    type MembersIter = Members<'a>;

    fn len(&self) -> usize {
        match self.entry() {
            Entry::Obj { len, .. } => *len as usize,
            _ => 0,
        }
    }

    fn get(&self, key: &String) -> Option<TapeNode<'a>> {
        TapeNode::get(self, key)
    }

    fn members(&self) -> Members<'a> {
        let end = match self.entry() {
            Entry::Obj { end, .. } => *end as usize,
            _ => self.i + 1,
        };
        Members {
            node: *self,
            i: self.i + 1,
            end,
        }
    }
}

impl<'a> Array<'a, Tape> for TapeNode<'a> {
    type Node = TapeNode<'a>;
    type ElementsIter = Elements<'a>;

    fn len(&self) -> usize {
        match self.entry() {
            Entry::Arr { len, .. } => *len as usize,
            _ => 0,
        }
    }

    fn elements(&self) -> Elements<'a> {
        let end = match self.entry() {
            Entry::Arr { end, .. } => *end as usize,
            _ => self.i + 1,
        };
        Elements {
            node: *self,
            i: self.i + 1,
            end,
        }
    }
}
