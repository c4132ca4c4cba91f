//! An endpoint probe of a context: `[[contexts.NAME.endpoints]]`.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub name: String,
    /// tcp://host:port or http(s)://...
    pub url: String,
    pub expect_status: Option<u16>,
    pub expect_body: Option<String>,
    pub timeout: Option<String>,
}
