//! Unit tests of the registry store: registration, ids, versions, compatibility.

use super::*;

fn avro(fields: &str) -> Submitted {
    Submitted {
        schema: format!(r#"{{"type":"record","name":"r","fields":[{fields}]}}"#),
        ..Default::default()
    }
}

#[test]
fn status_is_the_first_three_digits() {
    assert_eq!(Error::subject_not_found("x").status(), 404);
    assert_eq!(Error::incompatible("x", &[]).status(), 409);
    assert_eq!(Error::invalid_version("0").status(), 422);
}

#[test]
fn same_schema_same_id_across_subjects() {
    let mut s = Store::default();
    let a = s
        .register("a", &avro(r#"{"name":"x","type":"int"}"#))
        .unwrap();
    let b = s
        .register("b", &avro(r#"{"type":"int","name":"x"}"#))
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(s.versions("b", false).unwrap(), vec![1]);
}

#[test]
fn backward_refuses_a_new_required_field() {
    let mut s = Store::default();
    s.register("a", &avro(r#"{"name":"x","type":"int"}"#))
        .unwrap();
    let err = s
        .register(
            "a",
            &avro(r#"{"name":"x","type":"int"},{"name":"y","type":"string"}"#),
        )
        .unwrap_err();
    assert_eq!(err.code, 409);
    s.register(
        "a",
        &avro(r#"{"name":"x","type":"int"},{"name":"y","type":["null","string"],"default":null}"#),
    )
    .unwrap();
    assert_eq!(s.versions("a", false).unwrap(), vec![1, 2]);
}
