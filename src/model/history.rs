//! Per-table schema history: versions with positions and fingerprints, column
//! identity through renames. (Placeholder: filled in by the core issue.)
