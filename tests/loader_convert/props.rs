//! Property tests of the conversion: arbitrary JSON, envelopes and text never
//! panic, and a row converted as text (values copied where their text already
//! is the StarRocks form) equals the row converted value by value.

use super::*;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        "[A-Za-z0-9+/]{0,12}={0,2}".prop_map(Value::from),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,15}(Z|[+-][0-9]{2}:[0-9]{2})?".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn semantics() -> Vec<Semantic> {
    use Semantic as S;
    vec![
        S::Boolean,
        S::Int,
        S::Float,
        S::String,
        S::Bytes,
        S::Date,
        S::Time(TimeUnit::Milli),
        S::Time(TimeUnit::Nano),
        S::Timestamp(TimeUnit::Milli),
        S::Timestamp(TimeUnit::Micro),
        S::Timestamp(TimeUnit::Nano),
        S::ZonedTimestamp,
        S::Decimal { scale: 3 },
        S::Decimal { scale: -2 },
        S::VariableScaleDecimal,
        S::Json,
        S::Bits { length: Some(3) },
        S::Bits { length: Some(100) },
        S::Geometry,
        S::Array(Box::new(S::Date)),
        S::Struct(vec![Column::new("a", S::Date, true)]),
        S::Year,
        S::Any,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The same values, the same unavailable columns, the same failures.
    #[test]
    fn a_row_converted_as_text_equals_it_converted_value_by_value(
        cols in prop::collection::vec((0usize..23, cell_value()), 1..8),
    ) {
        let sems = semantics();
        let schema = Arc::new(RowSchema::new(
            cols.iter()
                .enumerate()
                .map(|(i, (s, _))| Column::new(format!("c{i}"), sems[s % sems.len()].clone(), true))
                .collect(),
        ));
        let row: Map<String, Value> = cols
            .iter()
            .enumerate()
            .map(|(i, (_, v))| (format!("c{i}"), v.clone()))
            .collect();
        let text = json!({"op": "c", "after": row, "source": {"db": "d", "table": "t"}}).to_string();
        let opts = TableOptions { description: Some(Arc::clone(&schema)), raw: false, ..TableOptions::default() };
        let rec = Record { topic: "t", partition: 0, offset: 0, key: None, value: Some(&text) };
        let got = Decoder::default().decode(&rec, &opts).map(|d| match d {
            Decoded::Event(e) => {
                let mut values = e.mirror[0].values();
                values.remove("__op");
                (values, e.mirror[0].unavailable.clone())
            }
            Decoded::Tombstone => panic!("not a tombstone"),
        });
        let want = per_value(&schema, &row);
        prop_assert_eq!(got.is_ok(), want.is_ok(), "{:?} vs {:?}", got, want);
        if let (Ok(got), Ok(want)) = (got, want) {
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn arbitrary_values_never_panic(v in arb_json(), idx in 0usize..23) {
        let sems = semantics();
        let _outcome = convert_value(&sems[idx % sems.len()], &v, &Config::default(), "f");
    }

    #[test]
    fn arbitrary_envelopes_never_panic(
        before in arb_json(), after in arb_json(), source in arb_json(),
        op in prop_oneof![Just("c"), Just("u"), Just("d"), Just("r"), Just("t"), Just("m")],
        wrap in any::<bool>(), key in arb_json(),
    ) {
        let schema = json!({"type": "struct", "fields": [
            {"type": "struct", "field": "after", "fields": semantics().iter().enumerate().map(|(i, _)| json!({
                "field": format!("c{i}"), "type": "int64", "name": "io.debezium.time.MicroTimestamp"})).collect::<Vec<_>>()}]});
        let payload = json!({"before": before, "after": after, "source": source, "op": op, "ts_ms": 1});
        let value = if wrap { json!({"schema": schema, "payload": payload}) } else { payload };
        let text = value.to_string();
        let key_text = key.to_string();
        let opts = TableOptions {
            description: Some(Arc::new(RowSchema::new(vec![Column::new("a", Semantic::Date, true)]))),
            ..TableOptions::default()
        };
        let rec = Record { topic: "t", partition: 0, offset: 0, key: Some(&key_text), value: Some(&text) };
        let _outcome = Decoder::default().decode(&rec, &opts);
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,64}") {
        let rec = Record { topic: "t", partition: 0, offset: 0, key: Some(&s), value: Some(&s) };
        let _outcome = Decoder::default().decode(&rec, &TableOptions::default());
    }
}

/// A value for a column of the row property: arbitrary JSON, and the texts
/// the copy path must tell apart (placeholder, integers beyond i64, escapes).
fn cell_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_json(),
        Just(json!(UNAVAILABLE_PLACEHOLDER)),
        any::<u64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "[a-z\"\\\\\n\u{e9}]{0,8}".prop_map(Value::from),
        Just(json!("AQI=")),
        Just(json!("{\"k\":1}")),
    ]
}

/// The row as one `convert_value` per member makes it, read back through
/// text as the decoder's output is (a float's shortest text may read back one
/// unit in the last place off).
fn per_value(
    schema: &RowSchema,
    row: &Map<String, Value>,
) -> Result<(Map<String, Value>, Vec<String>), String> {
    let mut values = Map::new();
    let mut unavailable = Vec::new();
    for (name, v) in row {
        let col = schema.columns().iter().find(|c| &c.name == name);
        let sem = col.map_or(&Semantic::Any, |c| &c.semantic);
        match convert_value(sem, v, &Config::default(), name).map_err(|e| e.to_string())? {
            Cell::Value(c) => {
                values.insert(name.clone(), c);
            }
            Cell::Unavailable => unavailable.push(name.clone()),
        }
    }
    let text = serde_json::to_string(&values).map_err(|e| e.to_string())?;
    let values = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok((values, unavailable))
}
