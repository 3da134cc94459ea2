//! Exact decimals in JSON: a figure is written as a JSON number with its exact decimal text
//! (`0.890`, `30.01`), never through a binary float, so the API and the JSON export print the
//! digits the pages print. Reading accepts a number or a string.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// `#[serde(with = "number")]` for a `Decimal`.
pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    RawValue::from_string(value.to_string())
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    <Decimal as Deserialize>::deserialize(deserializer)
}

/// A figure (or `None`) as a JSON value, e.g. for an audit entry's details: a number.
pub fn json<T: ToJsonNumber>(value: &T) -> serde_json::Value {
    value.to_json_number()
}

/// Figures that become JSON numbers.
pub trait ToJsonNumber {
    fn to_json_number(&self) -> serde_json::Value;
}

impl ToJsonNumber for Decimal {
    fn to_json_number(&self) -> serde_json::Value {
        serde_json::from_str(&self.to_string()).unwrap_or(serde_json::Value::Null)
    }
}

impl ToJsonNumber for Option<Decimal> {
    fn to_json_number(&self) -> serde_json::Value {
        self.as_ref()
            .map_or(serde_json::Value::Null, ToJsonNumber::to_json_number)
    }
}

/// `#[serde(with = "number::option")]` for an `Option<Decimal>` (`null` when `None`).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<Decimal>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Decimal>, D::Error> {
        Option::<Decimal>::deserialize(deserializer)
    }
}

/// `#[serde(with = "number::exact")]`: written as [`serialize`], read back exactly from JSON
/// (the number's own text, so `0.890` stays `0.890`). Reading needs serde_json; the report
/// cache (`services::report_cache`) reads what it wrote.
pub mod exact {
    pub use super::serialize;
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        parse(raw.get()).map_err(serde::de::Error::custom)
    }

    fn parse(text: &str) -> Result<Decimal, String> {
        let text = text.trim().trim_matches('"');
        text.parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(text))
            .map_err(|e| format!("{text}: {e}"))
    }

    /// The same for an `Option<Decimal>`.
    pub mod option {
        use super::*;
        pub use crate::domain::scoring::number::option::serialize;

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Decimal>, D::Error> {
            let raw = Option::<&'de RawValue>::deserialize(deserializer)?;
            match raw {
                None => Ok(None),
                Some(raw) if raw.get() == "null" => Ok(None),
                Some(raw) => parse(raw.get()).map(Some).map_err(serde::de::Error::custom),
            }
        }
    }
}

/// `#[serde(serialize_with = "number::options")]` for a `Vec<Option<Decimal>>`.
pub fn options<S: Serializer>(
    values: &[Option<Decimal>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(values.len()))?;
    for value in values {
        seq.serialize_element(&Shown(*value))?;
    }
    seq.end()
}

struct Shown(Option<Decimal>);

impl Serialize for Shown {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        option::serialize(&self.0, serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Row {
        #[serde(with = "super")]
        value: Decimal,
        #[serde(with = "option")]
        other: Option<Decimal>,
        #[serde(serialize_with = "options", skip_deserializing)]
        list: Vec<Option<Decimal>>,
    }

    #[test]
    fn figures_keep_their_exact_text_in_json() {
        let row = Row {
            value: "0.890".parse().unwrap(),
            other: None,
            list: vec![Some("-0.050".parse().unwrap()), None],
        };
        let text = serde_json::to_string(&row).unwrap();
        assert_eq!(text, r#"{"value":0.890,"other":null,"list":[-0.050,null]}"#);
        let back: Row = serde_json::from_str(r#"{"value":30.01,"other":"2.5"}"#).unwrap();
        assert_eq!(back.value.to_string(), "30.01");
        assert_eq!(back.other.map(|v| v.to_string()).as_deref(), Some("2.5"));
    }
}
