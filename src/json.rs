//! JSON in the wasm is the browser's: `JSON.parse` and `JSON.stringify`, with serde reading and writing
//! the JavaScript values instead of serde_json's parser and printer in the wasm. Same JSON as before:
//! maps as objects, `None` as `null`, numbers as numbers.
//!
//! Read by [`Value`], a serde deserializer over a JavaScript value, and written by [`Writer`], a serde
//! serializer making one; their error says only that the value could not be read or written. The
//! app never shows why (an answer it cannot read is `ApiError::Network`/`UnexpectedResponse`), and
//! serde's messages (what was found, what was expected) would bring number formatting, floats
//! included, and every type's description into the wasm: −8.9 KB brotli on the table page's first
//! load (see README, "First-load size").

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use js_sys::Array;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use wasm_bindgen::{JsCast, JsValue};

/// `value` as the JavaScript value `JSON.parse(serde_json::to_string(value))` would give.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Option<JsValue> {
    value.serialize(Writer).ok()
}

/// `value` as JSON text.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    js_sys::JSON::stringify(&to_js(value)?).ok()?.as_string()
}

/// A JavaScript value (a parsed JSON answer) read into `T`.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Option<T> {
    T::deserialize(Value(value)).ok()
}

/// JSON text read into `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Option<T> {
    from_js(js_sys::JSON::parse(text).ok()?)
}

/// A value that could not be read into the type asked for, or written; nothing more is said.
#[derive(Debug)]
pub struct Invalid;

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not the JSON expected")
    }
}

impl std::error::Error for Invalid {}

impl ser::Error for Invalid {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Invalid
    }
}

/// Every constructor, so that none formats a message (serde's defaults would).
impl de::Error for Invalid {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Invalid
    }
    fn invalid_type(_: de::Unexpected, _: &dyn de::Expected) -> Self {
        Invalid
    }
    fn invalid_value(_: de::Unexpected, _: &dyn de::Expected) -> Self {
        Invalid
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Invalid
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Invalid
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Invalid
    }
    fn missing_field(_: &'static str) -> Self {
        Invalid
    }
    fn duplicate_field(_: &'static str) -> Self {
        Invalid
    }
}

type Result<T> = std::result::Result<T, Invalid>;

/// The largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// An object read by key (`object[key]`): no exception to catch, unlike `Reflect.get`.
    type Object;
    #[wasm_bindgen(method, indexing_getter)]
    fn get(this: &Object, key: &JsValue) -> JsValue;
    #[wasm_bindgen(method, indexing_setter)]
    fn set(this: &Object, key: &JsValue, value: &JsValue);
}

thread_local! {
    /// Each struct's field names as JavaScript strings, made once (by the address of the `&'static`
    /// list serde's derived code passes): every row of a list reads the same ones.
    static KEYS: RefCell<Vec<(usize, Rc<[JsValue]>)>> = const { RefCell::new(Vec::new()) };
}

fn keys(fields: &'static [&'static str]) -> Rc<[JsValue]> {
    let id = fields.as_ptr() as usize;
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if let Some((_, names)) = keys.iter().find(|(known, _)| *known == id) {
            return names.clone();
        }
        let names: Rc<[JsValue]> = fields.iter().map(|name| JsValue::from_str(name)).collect();
        keys.push((id, names.clone()));
        names
    })
}

/// A JavaScript value to read: `null` and `undefined` are `None` and `()`, numbers are integers when
/// they are whole (and exact), objects are maps and structs, a string is an enum's unit variant and an
/// object with one key its other variants.
pub struct Value(pub JsValue);

impl Value {
    fn is_nullish(&self) -> bool {
        self.0.is_null_or_undefined()
    }

    /// A number as serde's visitors take it: an integer when it is one (and exact).
    fn visit_number<'de, V: Visitor<'de>>(n: f64, visitor: V) -> Result<V::Value> {
        if n.fract() != 0.0 || n.abs() > MAX_SAFE_INTEGER {
            visitor.visit_f64(n)
        } else if n < 0.0 {
            visitor.visit_i64(n as i64)
        } else {
            visitor.visit_u64(n as u64)
        }
    }

    fn is_object(&self) -> bool {
        self.0.is_object() && !Array::is_array(&self.0)
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = Invalid;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.is_nullish() {
            visitor.visit_unit()
        } else if let Some(b) = self.0.as_bool() {
            visitor.visit_bool(b)
        } else if let Some(n) = self.0.as_f64() {
            Self::visit_number(n, visitor)
        } else if let Some(s) = self.0.as_string() {
            visitor.visit_string(s)
        } else if Array::is_array(&self.0) {
            visitor.visit_seq(Elements { array: self.0.unchecked_into(), index: 0 })
        } else if self.0.is_object() {
            let entries = js_sys::Object::entries(self.0.unchecked_ref());
            visitor.visit_map(Entries { entries, index: 0, value: JsValue::UNDEFINED })
        } else {
            Err(Invalid)
        }
    }

    // What the type asks for, tried first: one call into JavaScript for a value of that kind.
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.as_string() {
            Some(s) => visitor.visit_string(s),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_string(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.as_bool() {
            Some(b) => visitor.visit_bool(b),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0.as_f64() {
            Some(n) => Self::visit_number(n, visitor),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.is_nullish() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    /// The fields serde knows, each read by its name; one that is absent (`undefined`) is missing.
    fn deserialize_struct<V: Visitor<'de>>(self, _: &'static str, fields: &'static [&'static str], visitor: V) -> Result<V::Value> {
        if !self.is_object() {
            return Err(Invalid);
        }
        visitor.visit_map(Fields { object: self.0.unchecked_into(), fields, keys: keys(fields), index: 0, value: JsValue::UNDEFINED })
    }

    fn deserialize_enum<V: Visitor<'de>>(self, _: &'static str, _: &'static [&'static str], visitor: V) -> Result<V::Value> {
        if self.0.is_string() {
            return visitor.visit_enum(Variant { name: self.0, value: JsValue::UNDEFINED });
        }
        if !self.is_object() {
            return Err(Invalid);
        }
        let entries = js_sys::Object::entries(self.0.unchecked_ref());
        if entries.length() != 1 {
            return Err(Invalid);
        }
        let entry: Array = entries.get(0).unchecked_into();
        visitor.visit_enum(Variant { name: entry.get(0), value: entry.get(1) })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u128 f32 f64 char
        bytes byte_buf unit unit_struct seq tuple tuple_struct map
    }
}

impl<'de> IntoDeserializer<'de, Invalid> for Value {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// An array's elements.
struct Elements {
    array: Array,
    index: u32,
}

impl<'de> de::SeqAccess<'de> for Elements {
    type Error = Invalid;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.index >= self.array.length() {
            return Ok(None);
        }
        self.index += 1;
        seed.deserialize(Value(self.array.get(self.index - 1))).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.array.length() - self.index) as usize)
    }
}

/// An object's own entries, as a map.
struct Entries {
    entries: Array,
    index: u32,
    value: JsValue,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Invalid;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.index >= self.entries.length() {
            return Ok(None);
        }
        let entry: Array = self.entries.get(self.index).unchecked_into();
        self.index += 1;
        self.value = entry.get(1);
        seed.deserialize(Value(entry.get(0))).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value> {
        seed.deserialize(Value(std::mem::replace(&mut self.value, JsValue::UNDEFINED)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some((self.entries.length() - self.index) as usize)
    }
}

/// A struct's fields, read from an object by name.
struct Fields {
    object: Object,
    fields: &'static [&'static str],
    keys: Rc<[JsValue]>,
    index: usize,
    value: JsValue,
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = Invalid;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        while let (Some(&name), Some(key)) = (self.fields.get(self.index), self.keys.get(self.index)) {
            self.index += 1;
            let value = self.object.get(key);
            if !value.is_undefined() {
                self.value = value;
                return seed.deserialize(name.into_deserializer()).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value> {
        seed.deserialize(Value(std::mem::replace(&mut self.value, JsValue::UNDEFINED)))
    }
}

/// An enum's variant: its name, and for a variant with data, the value under it.
struct Variant {
    name: JsValue,
    value: JsValue,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = Invalid;
    type Variant = Value;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Value)> {
        Ok((seed.deserialize(Value(self.name))?, Value(self.value)))
    }
}

impl<'de> de::VariantAccess<'de> for Value {
    type Error = Invalid;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_any(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

/// Writes a value as the JavaScript value `JSON.parse` would make of serde_json's text: structs and
/// maps as objects (their fields in order), `None` and `()` as `null`, a unit variant as its name,
/// another variant as an object with its name as the one key.
pub struct Writer;

fn number(n: f64) -> Result<JsValue> {
    Ok(JsValue::from_f64(n))
}

impl ser::Serializer for Writer {
    type Ok = JsValue;
    type Error = Invalid;
    type SerializeSeq = ArrayWriter;
    type SerializeTuple = ArrayWriter;
    type SerializeTupleStruct = ArrayWriter;
    type SerializeTupleVariant = VariantWriter<ArrayWriter>;
    type SerializeMap = ObjectWriter;
    type SerializeStruct = ObjectWriter;
    type SerializeStructVariant = VariantWriter<ObjectWriter>;

    fn serialize_bool(self, v: bool) -> Result<JsValue> {
        Ok(JsValue::from_bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<JsValue> {
        number(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<JsValue> {
        number(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<JsValue> {
        number(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<JsValue> {
        number(v as f64)
    }
    fn serialize_u8(self, v: u8) -> Result<JsValue> {
        number(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<JsValue> {
        number(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<JsValue> {
        number(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<JsValue> {
        number(v as f64)
    }
    fn serialize_f32(self, v: f32) -> Result<JsValue> {
        number(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<JsValue> {
        number(v)
    }
    fn serialize_char(self, v: char) -> Result<JsValue> {
        Ok(JsValue::from_str(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<JsValue> {
        Ok(JsValue::from_str(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<JsValue> {
        Ok(v.iter().map(|&b| JsValue::from_f64(b.into())).collect::<Array>().into())
    }
    fn serialize_none(self) -> Result<JsValue> {
        Ok(JsValue::NULL)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<JsValue> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<JsValue> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<JsValue> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<JsValue> {
        Ok(JsValue::from_str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<JsValue> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _: &'static str, _: u32, variant: &'static str, value: &T) -> Result<JsValue> {
        let object = ObjectWriter::new();
        object.object.set(&JsValue::from_str(variant), &value.serialize(self)?);
        Ok(object.object.into())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<ArrayWriter> {
        Ok(ArrayWriter(Array::new()))
    }
    fn serialize_tuple(self, _: usize) -> Result<ArrayWriter> {
        Ok(ArrayWriter(Array::new()))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<ArrayWriter> {
        Ok(ArrayWriter(Array::new()))
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<VariantWriter<ArrayWriter>> {
        Ok(VariantWriter { variant, inner: ArrayWriter(Array::new()) })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<ObjectWriter> {
        Ok(ObjectWriter::new())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<ObjectWriter> {
        Ok(ObjectWriter::new())
    }
    fn serialize_struct_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<VariantWriter<ObjectWriter>> {
        Ok(VariantWriter { variant, inner: ObjectWriter::new() })
    }
}

/// An array being written.
pub struct ArrayWriter(Array);

impl ArrayWriter {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.0.push(&value.serialize(Writer)?);
        Ok(())
    }
}

impl ser::SerializeSeq for ArrayWriter {
    type Ok = JsValue;
    type Error = Invalid;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<JsValue> {
        Ok(self.0.into())
    }
}

impl ser::SerializeTuple for ArrayWriter {
    type Ok = JsValue;
    type Error = Invalid;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<JsValue> {
        Ok(self.0.into())
    }
}

impl ser::SerializeTupleStruct for ArrayWriter {
    type Ok = JsValue;
    type Error = Invalid;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<JsValue> {
        Ok(self.0.into())
    }
}

/// An object being written, its fields in the order given.
pub struct ObjectWriter {
    object: Object,
    key: JsValue,
}

impl ObjectWriter {
    fn new() -> Self {
        ObjectWriter { object: js_sys::Object::new().unchecked_into(), key: JsValue::UNDEFINED }
    }
}

impl ser::SerializeMap for ObjectWriter {
    type Ok = JsValue;
    type Error = Invalid;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = key.serialize(Writer)?;
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.object.set(&self.key, &value.serialize(Writer)?);
        Ok(())
    }
    fn end(self) -> Result<JsValue> {
        Ok(self.object.into())
    }
}

impl ser::SerializeStruct for ObjectWriter {
    type Ok = JsValue;
    type Error = Invalid;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<()> {
        self.object.set(&JsValue::from_str(name), &value.serialize(Writer)?);
        Ok(())
    }
    fn end(self) -> Result<JsValue> {
        Ok(self.object.into())
    }
}

/// A tuple or struct variant being written: its data under its name.
pub struct VariantWriter<W> {
    variant: &'static str,
    inner: W,
}

impl<W> VariantWriter<W> {
    fn wrap(variant: &'static str, data: JsValue) -> Result<JsValue> {
        let object = ObjectWriter::new();
        object.object.set(&JsValue::from_str(variant), &data);
        Ok(object.object.into())
    }
}

impl ser::SerializeTupleVariant for VariantWriter<ArrayWriter> {
    type Ok = JsValue;
    type Error = Invalid;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.inner.push(value)
    }
    fn end(self) -> Result<JsValue> {
        Self::wrap(self.variant, self.inner.0.into())
    }
}

impl ser::SerializeStructVariant for VariantWriter<ObjectWriter> {
    type Ok = JsValue;
    type Error = Invalid;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<()> {
        ser::SerializeStruct::serialize_field(&mut self.inner, name, value)
    }
    fn end(self) -> Result<JsValue> {
        Self::wrap(self.variant, self.inner.object.into())
    }
}
