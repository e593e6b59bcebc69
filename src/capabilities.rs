//! Placeholder: StarRocks version capabilities (filled in by the core issue).
