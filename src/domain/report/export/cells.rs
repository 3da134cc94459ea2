//! A row's cells straight from its serde form: a serializer that keeps each field as a
//! [`Cell`] instead of writing JSON text and parsing it back. The XLSX and CSV exports call
//! [`super::cells`] for every one of their 300,000 rows at the stress scale; going through JSON
//! text (write, parse into a map, parse each value again) was a quarter of an XLSX export's CPU.
//!
//! What it accepts is what [`super::ExportRow`]'s fields are: text, booleans, integers,
//! options, and exact decimals, which `scoring::number` writes as serde_json's raw value (a
//! struct of one field holding the number's text). Anything else is an error naming the field,
//! never a guess.

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeStruct, Serializer};

use super::{Cell, CellError};
use crate::domain::scoring::Decimal;

/// The row's fields, by name, in the order the row serializes them.
pub(super) fn fields<T: Serialize>(row: &T) -> Result<Vec<(&'static str, Cell)>, CellError> {
    row.serialize(RowSerializer)
}

impl ser::Error for CellError {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        CellError("row")
    }
}

/// Accepts one struct: the row.
struct RowSerializer;

/// Collects the row's fields as cells.
struct RowFields(Vec<(&'static str, Cell)>);

impl SerializeStruct for RowFields {
    type Ok = Vec<(&'static str, Cell)>;
    type Error = CellError;

    fn serialize_field<V: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &V,
    ) -> Result<(), CellError> {
        let cell = value
            .serialize(CellSerializer)
            .map_err(|_| CellError(key))?;
        self.0.push((key, cell));
        Ok(())
    }

    fn end(self) -> Result<Self::Ok, CellError> {
        Ok(self.0)
    }
}

/// One field as a cell.
struct CellSerializer;

/// serde_json's raw value, as `number::serialize` writes an exact decimal: one field, the
/// number's own text.
struct RawNumber(Option<Cell>);

impl SerializeStruct for RawNumber {
    type Ok = Cell;
    type Error = CellError;

    fn serialize_field<V: ?Sized + Serialize>(
        &mut self,
        _: &'static str,
        value: &V,
    ) -> Result<(), CellError> {
        let Cell::Text(text) = value.serialize(CellSerializer)? else {
            return Err(CellError("row"));
        };
        let number: Decimal = text.parse().map_err(|_| CellError("row"))?;
        self.0 = Some(Cell::Number(number));
        Ok(())
    }

    fn end(self) -> Result<Cell, CellError> {
        self.0.ok_or(CellError("row"))
    }
}

/// Refuses what a row never holds.
fn refused<T>() -> Result<T, CellError> {
    Err(CellError("row"))
}

impl Serializer for RowSerializer {
    type Ok = Vec<(&'static str, Cell)>;
    type Error = CellError;
    type SerializeSeq = Impossible<Self::Ok, CellError>;
    type SerializeTuple = Impossible<Self::Ok, CellError>;
    type SerializeTupleStruct = Impossible<Self::Ok, CellError>;
    type SerializeTupleVariant = Impossible<Self::Ok, CellError>;
    type SerializeMap = Impossible<Self::Ok, CellError>;
    type SerializeStruct = RowFields;
    type SerializeStructVariant = Impossible<Self::Ok, CellError>;

    fn serialize_struct(self, _: &'static str, len: usize) -> Result<RowFields, CellError> {
        Ok(RowFields(Vec::with_capacity(len)))
    }

    fn serialize_bool(self, _: bool) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_i8(self, _: i8) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_i16(self, _: i16) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_i32(self, _: i32) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_i64(self, _: i64) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_u8(self, _: u8) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_u16(self, _: u16) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_u32(self, _: u32) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_u64(self, _: u64) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_f32(self, _: f32) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_f64(self, _: f64) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_char(self, _: char) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_str(self, _: &str) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_none(self) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_some<V: ?Sized + Serialize>(self, _: &V) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_unit(self) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_newtype_struct<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &V,
    ) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_newtype_variant<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<Self::Ok, CellError> {
        refused()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, CellError> {
        refused()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CellError> {
        refused()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, CellError> {
        refused()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CellError> {
        refused()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CellError> {
        refused()
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CellError> {
        refused()
    }
}

impl Serializer for CellSerializer {
    type Ok = Cell;
    type Error = CellError;
    type SerializeSeq = Impossible<Cell, CellError>;
    type SerializeTuple = Impossible<Cell, CellError>;
    type SerializeTupleStruct = Impossible<Cell, CellError>;
    type SerializeTupleVariant = Impossible<Cell, CellError>;
    type SerializeMap = Impossible<Cell, CellError>;
    type SerializeStruct = RawNumber;
    type SerializeStructVariant = Impossible<Cell, CellError>;

    fn serialize_bool(self, value: bool) -> Result<Cell, CellError> {
        Ok(Cell::Bool(value))
    }
    fn serialize_i8(self, value: i8) -> Result<Cell, CellError> {
        Ok(Cell::Number(value.into()))
    }
    fn serialize_i16(self, value: i16) -> Result<Cell, CellError> {
        Ok(Cell::Number(value.into()))
    }
    fn serialize_i32(self, value: i32) -> Result<Cell, CellError> {
        Ok(Cell::Number(value.into()))
    }
    fn serialize_i64(self, value: i64) -> Result<Cell, CellError> {
        Ok(Cell::Number(value.into()))
    }
    fn serialize_u8(self, value: u8) -> Result<Cell, CellError> {
        Ok(Cell::Number(value.into()))
    }
    fn serialize_u16(self, value: u16) -> Result<Cell, CellError> {
        Ok(Cell::Number(value.into()))
    }
    fn serialize_u32(self, value: u32) -> Result<Cell, CellError> {
        Ok(Cell::Number(value.into()))
    }
    fn serialize_u64(self, value: u64) -> Result<Cell, CellError> {
        Ok(Cell::Number(value.into()))
    }
    // A binary fraction has no exact decimal text: the row's figures are decimals.
    fn serialize_f32(self, _: f32) -> Result<Cell, CellError> {
        refused()
    }
    fn serialize_f64(self, _: f64) -> Result<Cell, CellError> {
        refused()
    }
    fn serialize_char(self, value: char) -> Result<Cell, CellError> {
        Ok(Cell::Text(value.to_string()))
    }
    fn serialize_str(self, value: &str) -> Result<Cell, CellError> {
        Ok(Cell::Text(value.to_owned()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Cell, CellError> {
        refused()
    }
    fn serialize_none(self) -> Result<Cell, CellError> {
        Ok(Cell::Empty)
    }
    fn serialize_some<V: ?Sized + Serialize>(self, value: &V) -> Result<Cell, CellError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Cell, CellError> {
        Ok(Cell::Empty)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Cell, CellError> {
        Ok(Cell::Empty)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Cell, CellError> {
        Ok(Cell::Text(variant.to_owned()))
    }
    fn serialize_newtype_struct<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &V,
    ) -> Result<Cell, CellError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<V: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<Cell, CellError> {
        refused()
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, CellError> {
        refused()
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CellError> {
        refused()
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, CellError> {
        refused()
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CellError> {
        refused()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CellError> {
        refused()
    }
    /// Only a struct of one field holding a number's text: serde_json's raw value.
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<RawNumber, CellError> {
        if len == 1 {
            Ok(RawNumber(None))
        } else {
            refused()
        }
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CellError> {
        refused()
    }
}
