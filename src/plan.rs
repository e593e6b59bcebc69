//! Placeholder: filled in by the core issue.
