//! Every key the config file accepts, read from the config types themselves: a probe
//! deserializer walks `ConfigFile` the way serde would read a file that sets every field,
//! and records each key's path. The README's config reference is tested against this list,
//! so a field added to any entry type without documentation fails the suite.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use serde::Deserialize;
use serde::de::value::{Error, StrDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::model::ConfigFile;

/// Every key path `ConfigFile` accepts, e.g. `contexts.*.kafka.brokers`: `*` stands for a
/// name chosen by the person (a context, a built-in rule, a map's key); arrays of tables
/// are written like tables.
pub fn accepted_keys() -> Result<BTreeSet<String>, String> {
    let out = Rc::new(RefCell::new(BTreeSet::new()));
    let probe = Probe {
        path: String::new(),
        out: out.clone(),
    };
    ConfigFile::deserialize(probe).map_err(|e| e.to_string())?;
    let keys = out.borrow().clone();
    Ok(keys)
}

struct Probe {
    path: String,
    out: Rc<RefCell<BTreeSet<String>>>,
}

impl Probe {
    fn child(&self, key: &str) -> Probe {
        let path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        self.out.borrow_mut().insert(path.clone());
        Probe {
            path,
            out: self.out.clone(),
        }
    }
}

impl<'de> de::Deserializer<'de> for Probe {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _v: V) -> Result<V::Value, Error> {
        Err(de::Error::custom(format!(
            "{}: the probe cannot tell this type's shape; teach config/schema.rs",
            self.path
        )))
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_bool(false)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_i8(0)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_i16(0)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_i32(0)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_i64(0)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_u8(0)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_u16(0)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_u32(0)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_u64(0)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_f32(0.0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_f64(0.0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_string(String::new())
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_seq(One(Some(self)))
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let value = self.child("*");
        v.visit_map(Fields {
            keys: &["*"],
            next: 0,
            parent: value,
            map: true,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_map(Fields {
            keys: fields,
            next: 0,
            parent: self,
            map: false,
        })
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char bytes byte_buf unit unit_struct tuple tuple_struct enum identifier
    }
}

/// One element of a sequence.
struct One(Option<Probe>);

impl<'de> SeqAccess<'de> for One {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0.take().map(|p| seed.deserialize(p)).transpose()
    }
}

/// A struct's fields (or a map's one `*` entry), each with a probe for its value.
struct Fields {
    keys: &'static [&'static str],
    next: usize,
    parent: Probe,
    /// A map: `parent` already is the entry's probe.
    map: bool,
}

impl<'de> MapAccess<'de> for Fields {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.keys.get(self.next) {
            Some(k) => {
                let d: StrDeserializer<Error> = k.into_deserializer();
                seed.deserialize(d).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        let key = self.keys.get(self.next).copied().unwrap_or("*");
        self.next += 1;
        let probe = if self.map {
            Probe {
                path: self.parent.path.clone(),
                out: self.parent.out.clone(),
            }
        } else {
            self.parent.child(key)
        };
        seed.deserialize(probe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_nested_keys_with_wildcards() {
        let keys = accepted_keys().unwrap();
        for k in [
            "refresh",
            "keys",
            "keys.*",
            "contexts.*.color",
            "contexts.*.host",
            "contexts.*.kafka.brokers",
            "contexts.*.postgres.pgbouncer",
            "contexts.*.redis.tls_ca_file",
            "contexts.*.backups.stanza",
            "contexts.*.endpoints.expect_body",
            "alerts.builtin.*.for",
            "alerts.rules.enabled",
        ] {
            assert!(keys.contains(k), "{k} not in {keys:#?}");
        }
    }
}
