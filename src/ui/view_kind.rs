//! What the timeline lists: the command line names it (`--view`), the UI toggles it.

/// One row per flow, or one per endpoint host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    /// One row per flow.
    Flows,
    /// One row per endpoint host.
    Endpoints,
}
