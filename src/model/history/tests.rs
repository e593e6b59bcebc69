//! Unit tests of the history (inline events).
use super::*;

