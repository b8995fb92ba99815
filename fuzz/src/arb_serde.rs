//! Structure-aware inputs for any `serde::Deserialize` type: a deserializer that draws every
//! field from an [`arbitrary::Unstructured`]. The wire types of softgpu (protocol commands,
//! shader IR, jit-host messages) are all serde types, so one generator covers them without an
//! `Arbitrary` impl in the production crates.
//!
//! Sequences are short (the fuzzer's bytes run out, and deep IR nesting is bounded by
//! [`MAX_DEPTH`]), so generated values stay small and fast to process.

use std::fmt;

use arbitrary::Unstructured;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

/// Nesting beyond which every sequence is empty (recursive types such as IR statements).
pub const MAX_DEPTH: u32 = 6;
/// Longest sequence generated at depth 0; deeper levels get shorter ones.
pub const MAX_SEQ: u32 = 24;

#[derive(Debug)]
pub struct ArbError(String);

impl fmt::Display for ArbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArbError {}

impl de::Error for ArbError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ArbError(msg.to_string())
    }
}

impl From<arbitrary::Error> for ArbError {
    fn from(e: arbitrary::Error) -> Self {
        ArbError(e.to_string())
    }
}

type Result<T> = std::result::Result<T, ArbError>;

/// Draws a `T` from `u`. Fails only if `T` needs a self-describing format
/// (`deserialize_any`), which none of our wire types do.
pub fn arbitrary_value<T: DeserializeOwned>(u: &mut Unstructured<'_>) -> Result<T> {
    T::deserialize(&mut ArbDeserializer { u, depth: 0 })
}

pub struct ArbDeserializer<'a, 'b> {
    u: &'b mut Unstructured<'a>,
    depth: u32,
}

impl ArbDeserializer<'_, '_> {
    fn seq_len(&mut self) -> Result<u32> {
        if self.depth >= MAX_DEPTH || self.u.is_empty() {
            return Ok(0);
        }
        let max = (MAX_SEQ >> self.depth).max(2);
        Ok(self.u.int_in_range(0..=max)?)
    }
}

macro_rules! primitive {
    ($($method:ident => $visit:ident($ty:ty)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let v: $ty = self.u.arbitrary()?;
            visitor.$visit(v)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut ArbDeserializer<'_, '_> {
    type Error = ArbError;

    primitive! {
        deserialize_bool => visit_bool(bool),
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
        deserialize_f32 => visit_f32(f32),
        deserialize_f64 => visit_f64(f64),
        deserialize_char => visit_char(char),
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(ArbError("self-describing types are not supported".into()))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.seq_len()? as usize;
        let s: String = (0..len)
            .map(|_| self.u.arbitrary::<char>())
            .collect::<arbitrary::Result<_>>()?;
        visitor.visit_string(s)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let len = self.seq_len()? as usize;
        let b = self.u.bytes(len.min(self.u.len()))?.to_vec();
        visitor.visit_byte_buf(b)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.u.arbitrary::<bool>()? {
            visitor.visit_some(self)
        } else {
            visitor.visit_none()
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let left = self.seq_len()?;
        self.depth += 1;
        let r = visitor.visit_seq(Elements { de: self, left });
        self.depth -= 1;
        r
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        let left = u32::try_from(len).map_err(|_| ArbError("tuple too long".into()))?;
        visitor.visit_seq(Elements { de: self, left })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let left = self.seq_len()?;
        self.depth += 1;
        let r = visitor.visit_map(Elements { de: self, left });
        self.depth -= 1;
        r
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_tuple(fields.len(), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let last = u32::try_from(variants.len().saturating_sub(1))
            .map_err(|_| ArbError("too many variants".into()))?;
        let index = self.u.int_in_range(0..=last)?;
        self.depth += 1;
        let r = visitor.visit_enum(Variant { de: self, index });
        self.depth -= 1;
        r
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u32(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

struct Elements<'r, 'a, 'b> {
    de: &'r mut ArbDeserializer<'a, 'b>,
    left: u32,
}

impl<'de> SeqAccess<'de> for Elements<'_, '_, '_> {
    type Error = ArbError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left as usize)
    }
}

impl<'de> MapAccess<'de> for Elements<'_, '_, '_> {
    type Error = ArbError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.de)
    }
}

struct Variant<'r, 'a, 'b> {
    de: &'r mut ArbDeserializer<'a, 'b>,
    index: u32,
}

impl<'de, 'r, 'a, 'b> EnumAccess<'de> for Variant<'r, 'a, 'b> {
    type Error = ArbError;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self)> {
        let d: de::value::U32Deserializer<ArbError> = self.index.into_deserializer();
        let v = seed.deserialize(d)?;
        Ok((v, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_, '_, '_> {
    type Error = ArbError;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(&mut *self.de)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_tuple(&mut *self.de, len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_tuple(&mut *self.de, fields.len(), visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    enum Tree {
        Leaf(u32),
        Node { children: Vec<Tree>, name: String },
    }

    #[test]
    fn recursive_types_stop_at_max_depth() {
        // All-ones bytes pick `Node` and long sequences everywhere: only the depth bound ends it.
        let bytes = vec![0xff; 1 << 16];
        let mut u = Unstructured::new(&bytes);
        let t: Tree = arbitrary_value(&mut u).unwrap_or(Tree::Leaf(0));
        fn depth(t: &Tree) -> u32 {
            match t {
                Tree::Leaf(_) => 0,
                Tree::Node { children, .. } => 1 + children.iter().map(depth).max().unwrap_or(0),
            }
        }
        assert!(depth(&t) <= MAX_DEPTH, "depth {}", depth(&t));
    }

    #[test]
    fn different_bytes_give_different_values() {
        let a: (u32, Vec<u8>) =
            arbitrary_value(&mut Unstructured::new(&[1, 0, 0, 0, 2, 7, 8])).unwrap_or_default();
        let b: (u32, Vec<u8>) =
            arbitrary_value(&mut Unstructured::new(&[9, 0, 0, 0, 1, 5])).unwrap_or_default();
        assert_ne!(a, b);
    }
}
