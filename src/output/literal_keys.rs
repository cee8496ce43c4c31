//! Compact JSON, byte for byte as `serde_json::to_writer` writes it, with one difference in how:
//! the field names of structs are put out as they are. serde_json escapes every key again for
//! every record, and a report of 200,000 flows writes ~65 field names per flow; scalars, strings
//! and map keys still go through serde_json, so their text is serde_json's.
//!
//! Hand-written (the design card asks for a same-run benchmark of ≥ 15%): `cargo bench --bench
//! json` writes the same flow records with both; docs/performance.md has the figures.

use serde::ser::{self, Serialize};
use serde_json::Error;

/// Appends `v` to `out` as `serde_json::to_writer(out, v)` would.
pub fn write(out: &mut Vec<u8>, v: &(impl Serialize + ?Sized)) -> Result<(), Error> {
    v.serialize(Literal(out))
}

/// Field names and variant names come from `#[derive(Serialize)]`: Rust identifiers or
/// `rename`s, none of which needs escaping (checked in debug builds and by the tests that
/// compare the two writers).
fn name(out: &mut Vec<u8>, name: &'static str) {
    debug_assert!(!name.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'), "{name}");
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
}

/// Whether serde_json writes `s` as it is between quotes: no control character, no quote, no
/// backslash (it leaves everything else, DEL and UTF-8 included). Eight bytes at a time: the
/// names, addresses and times of a record are plain, and serde_json looks each byte up in a
/// table on its own.
fn needs_no_escape(s: &str) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // A byte below n (n <= 128) in x; exact as a yes/no (Bit Twiddling Hacks, "hasless").
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * n as u64) & !x & HIGHS;
    let chunks = s.as_bytes().chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        let x = u64::from_ne_bytes(c.try_into().unwrap_or_default());
        if below(x, 0x20) | below(x ^ (ONES * b'"' as u64), 1) | below(x ^ (ONES * b'\\' as u64), 1) != 0 {
            return false;
        }
    }
    rest.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

struct Literal<'a>(&'a mut Vec<u8>);

/// An array or object being written: whether a separator goes before the next element.
struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// What closes it: `]`, `}`, or `]}` / `}}` for a variant wrapped in an object.
    close: &'static [u8],
}

impl<'a> Compound<'a> {
    fn open(out: &'a mut Vec<u8>, open: &[u8], close: &'static [u8]) -> Compound<'a> {
        out.extend_from_slice(open);
        Compound { out, first: true, close }
    }

    /// An object of one member, named `variant`, whose value `open` begins.
    fn variant(out: &'a mut Vec<u8>, variant: &'static str, open: &[u8], close: &'static [u8]) -> Compound<'a> {
        out.push(b'{');
        name(out, variant);
        Compound::open(out, open, close)
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.comma();
        v.serialize(Literal(self.out))
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<(), Error> {
        self.comma();
        name(self.out, key);
        self.out.push(b':');
        v.serialize(Literal(self.out))
    }

    fn end(self) -> Result<(), Error> {
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

macro_rules! through_serde_json {
    ($($method:ident: $t:ty),* $(,)?) => {
        $(fn $method(self, v: $t) -> Result<(), Error> {
            serde_json::to_writer(self.0, &v)
        })*
    };
}

impl<'a> ser::Serializer for Literal<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    through_serde_json! {
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char,
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if needs_no_escape(v) {
            self.0.reserve(v.len() + 2);
            self.0.push(b'"');
            self.0.extend_from_slice(v.as_bytes());
            self.0.push(b'"');
            Ok(())
        } else {
            serde_json::to_writer(self.0, v)
        }
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        serde_json::to_writer(self.0, v)
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.0.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        name(self.0, variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        let mut o = Compound::open(self.0, b"{", b"}");
        o.field(variant, v)?;
        o.end()
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self.0, b"[", b"]"))
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(self, _: &str, _: u32, variant: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::variant(self.0, variant, b":[", b"]}"))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self.0, b"{", b"}"))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self.0, b"{", b"}"))
    }

    fn serialize_struct_variant(self, _: &str, _: u32, variant: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::variant(self.0, variant, b":{", b"}}"))
    }
}

/// The compound traits but the map's: each writes its elements or named fields, then closes.
macro_rules! compounds {
    ($($trait:ident { $($write:tt)* })*) => {
        $(impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            $($write)*
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        })*
    };
}

type Done = Result<(), Error>;

compounds! {
    SerializeSeq { fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Done { self.element(v) } }
    SerializeTuple { fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Done { self.element(v) } }
    SerializeTupleStruct { fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Done { self.element(v) } }
    SerializeTupleVariant { fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Done { self.element(v) } }
    SerializeStruct {
        fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Done { self.field(key, v) }
    }
    SerializeStructVariant {
        fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Done { self.field(key, v) }
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;

    /// A key as serde_json writes one: a string as it is, a number or bool in quotes.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        let start = self.out.len();
        serde_json::to_writer(&mut *self.out, key)?;
        match self.out.get(start) {
            Some(b'"') => {}
            Some(b'{' | b'[' | b'n') | None => return Err(ser::Error::custom("key must be a string")),
            Some(_) => {
                self.out.insert(start, b'"');
                self.out.push(b'"');
            }
        }
        self.out.push(b':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        v.serialize(Literal(self.out))
    }

    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    enum Shape {
        Dot,
        Wrapped(u8),
        Pair(u8, i64),
        Named { r#type: &'static str, ratio: f64 },
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Inner<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        list: Vec<Option<f64>>,
    }

    #[derive(Serialize)]
    struct Outer<'a> {
        text: &'a str,
        inner: Inner<'a>,
        #[serde(flatten)]
        flat: Inner<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        shapes: Vec<Shape>,
        by_number: BTreeMap<u16, bool>,
        by_name: BTreeMap<&'a str, Unit>,
        tuple: (char, i128, u128, f32),
        addr: std::net::IpAddr,
        bytes: &'a [u8],
    }

    fn both(v: &impl Serialize) -> (String, String) {
        let mut ours = Vec::new();
        write(&mut ours, v).unwrap();
        (String::from_utf8(ours).unwrap(), serde_json::to_string(v).unwrap())
    }

    #[test]
    fn every_shape_of_the_data_model_is_written_as_serde_json_writes_it() {
        let v = Outer {
            text: "quote \" back \\ tab \t nul \0 é ✓",
            inner: Inner { kind: "a\u{1f}b", list: vec![Some(1.0), None, Some(f64::NAN), Some(-0.5e-300)] },
            flat: Inner { kind: "", list: vec![] },
            skipped: None,
            shapes: vec![Shape::Dot, Shape::Wrapped(7), Shape::Pair(1, -2), Shape::Named { r#type: "x", ratio: 1e21 }],
            by_number: [(1, true), (65535, false)].into(),
            by_name: [("a\"b", Unit)].into(),
            tuple: ('"', i128::MIN, u128::MAX, 0.1),
            addr: "2001:db8::1".parse().unwrap(),
            bytes: &[0, 255],
        };
        let (ours, theirs) = both(&v);
        assert_eq!(ours, theirs);
        let (ours, theirs) = both(&Vec::<Outer>::new());
        assert_eq!(ours, theirs);
    }

    #[test]
    fn a_string_is_written_as_is_only_when_serde_json_would() {
        for b in 0..=255u8 {
            for at in 0..17 {
                let mut bytes = vec![b'a'; 17];
                bytes[at] = b;
                let s = String::from_utf8_lossy(&bytes);
                let escaped = serde_json::to_string(&s).unwrap();
                assert_eq!(needs_no_escape(&s), escaped == format!("\"{s}\""), "byte {b} at {at}");
                let mut ours = Vec::new();
                write(&mut ours, &s).unwrap();
                assert_eq!(String::from_utf8(ours).unwrap(), escaped);
            }
        }
    }

    #[test]
    fn a_key_that_is_no_string_fails_as_serde_json_fails() {
        let v: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(serde_json::to_string(&v).is_err());
        assert!(write(&mut Vec::new(), &v).is_err());
    }
}
