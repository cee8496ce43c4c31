//! What a name or an address stands for: host-name rules (provider, role, registry), address
//! scope, and Azure service tags.

pub mod rules;
pub mod scope;
pub mod service_tags;

pub use rules::{Classification, Role, Rules, RulesError};
pub use scope::{scope, well_known, Scope};
pub use service_tags::{ServiceTags, TagMatch, TagsError};
