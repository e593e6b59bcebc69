//! Unit tests of the line and file decoders (inline JSON).

use super::*;

#[test]
fn blank_and_tombstone_lines_are_none() {
    assert_eq!(decode_line("   ", 1), Ok(None));
    let kcat = r#"{"topic":"t.db.x","partition":0,"offset":7,"key":"{\"id\":1}","payload":null}"#;
    assert_eq!(decode_line(kcat, 2), Ok(None));
}
