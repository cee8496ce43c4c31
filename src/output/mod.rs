//! Views of a finished session: the JSON document, text tables, the allowlist.

pub mod annotate;
pub mod json;
pub mod literal_keys;
pub mod progress;
pub mod text;
pub mod time;
