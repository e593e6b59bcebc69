//! The Schema Registry emulator through real HTTP: the calls Confluent's
//! AvroConverter and `schema_registry_converter` make, Confluent's error codes
//! and content type, compatibility levels, deletes and persistence.

use serde_json::{json, Value};
use testkit::registry::{Config, Handle, Server, CONTENT_TYPE};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(h: &Handle) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: h.url(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value)> {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(b) = body {
            req = req.header("Content-Type", CONTENT_TYPE).body(b.to_string());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        assert_eq!(ct, CONTENT_TYPE, "content type of {path}");
        let text = resp.text().await?;
        Ok((status, serde_json::from_str(&text)?))
    }

    async fn get(&self, path: &str) -> Result<(u16, Value)> {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<(u16, Value)> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> Result<(u16, Value)> {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    async fn delete(&self, path: &str) -> Result<(u16, Value)> {
        self.send(reqwest::Method::DELETE, path, None).await
    }
}

fn record(fields: Value) -> Value {
    json!({ "schema": json!({ "type": "record", "name": "Value", "namespace": "t", "fields": fields }).to_string() })
}

fn v1() -> Value {
    record(json!([{ "name": "id", "type": "int" }]))
}

fn v2_optional() -> Value {
    record(
        json!([{ "name": "id", "type": "int" }, { "name": "email", "type": ["null", "string"], "default": null }]),
    )
}

fn v2_required() -> Value {
    record(json!([{ "name": "id", "type": "int" }, { "name": "email", "type": "string" }]))
}

async fn start() -> Result<(Handle, Client)> {
    let h = Server::start(Config::default()).await?;
    let c = Client::new(&h);
    Ok((h, c))
}

#[tokio::test]
async fn register_is_idempotent_and_versions_are_listed() -> Result {
    let (_h, c) = start().await?;
    assert_eq!(c.get("/subjects").await?, (200, json!([])));
    let (s, body) = c
        .post("/subjects/t-value/versions?normalize=false", v1())
        .await?;
    assert_eq!((s, &body), (200, &json!({ "id": 1 })));
    assert_eq!(
        c.post("/subjects/t-value/versions", v1()).await?.1,
        json!({ "id": 1 })
    );
    assert_eq!(
        c.post("/subjects/t-value/versions?normalize=true", v2_optional())
            .await?
            .1,
        json!({ "id": 2 })
    );
    // The same schema under another subject gets the same global id.
    assert_eq!(
        c.post("/subjects/other-value/versions", v1()).await?.1,
        json!({ "id": 1 })
    );
    assert_eq!(
        c.get("/subjects").await?.1,
        json!(["other-value", "t-value"])
    );
    assert_eq!(c.get("/subjects/t-value/versions").await?.1, json!([1, 2]));
    let (_, latest) = c.get("/subjects/t-value/versions/latest").await?;
    assert_eq!(latest["version"], 2);
    assert_eq!(latest["id"], 2);
    assert_eq!(latest["subject"], "t-value");
    assert!(
        latest.get("schemaType").is_none(),
        "AVRO is not spelled out"
    );
    assert_eq!(c.get("/subjects/t-value/versions/-1").await?.1, latest);
    let (_, first) = c.get("/subjects/t-value/versions/1").await?;
    assert_eq!(first["schema"], v1()["schema"]);
    let (_, raw) = c.get("/subjects/t-value/versions/1/schema").await?;
    assert_eq!(raw["name"], "Value");
    Ok(())
}

#[tokio::test]
async fn schemas_by_id_and_lookup() -> Result {
    let (_h, c) = start().await?;
    c.post("/subjects/a-value/versions", v1()).await?;
    c.post("/subjects/b-value/versions", v1()).await?;
    let (s, body) = c.get("/schemas/ids/1?deleted=true").await?;
    assert_eq!(s, 200);
    assert_eq!(body, json!({ "schema": v1()["schema"] }));
    assert_eq!(c.get("/schemas/ids/1/schema").await?.1["type"], "record");
    assert_eq!(
        c.get("/schemas/ids/1/versions").await?.1,
        json!([{ "subject": "a-value", "version": 1 }, { "subject": "b-value", "version": 1 }])
    );
    assert_eq!(
        c.get("/schemas/ids/1/subjects").await?.1,
        json!(["a-value", "b-value"])
    );
    assert_eq!(
        c.get("/schemas/ids/9").await?,
        (
            404,
            json!({ "error_code": 40403, "message": "Schema 9 not found" })
        )
    );
    let (s, found) = c.post("/subjects/a-value?deleted=false", v1()).await?;
    assert_eq!(s, 200);
    assert_eq!(
        (found["id"].clone(), found["version"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(
        c.post("/subjects/a-value", v2_optional()).await?.1["error_code"],
        40403
    );
    assert_eq!(
        c.post("/subjects/nope", v1()).await?,
        (
            404,
            json!({ "error_code": 40401, "message": "Subject 'nope' not found." })
        )
    );
    Ok(())
}

#[tokio::test]
async fn confluent_error_codes() -> Result {
    let (_h, c) = start().await?;
    assert_eq!(
        c.get("/subjects/x/versions").await?,
        (
            404,
            json!({ "error_code": 40401, "message": "Subject 'x' not found." })
        )
    );
    c.post("/subjects/x/versions", v1()).await?;
    assert_eq!(
        c.get("/subjects/x/versions/7").await?,
        (
            404,
            json!({ "error_code": 40402, "message": "Version 7 not found." })
        )
    );
    let (s, body) = c.get("/subjects/x/versions/zero").await?;
    assert_eq!((s, body["error_code"].clone()), (422, json!(42202)));
    let (s, body) = c
        .post(
            "/subjects/x/versions",
            json!({ "schema": "{\"type\":\"recordd\"}" }),
        )
        .await?;
    assert_eq!((s, body["error_code"].clone()), (422, json!(42201)));
    let (s, body) = c
        .post("/subjects/x/versions", json!({ "schema": "not json" }))
        .await?;
    assert_eq!((s, body["error_code"].clone()), (422, json!(42201)));
    let (s, body) = c.get("/no/such/path").await?;
    assert_eq!((s, body["error_code"].clone()), (404, json!(404)));
    Ok(())
}

#[tokio::test]
async fn backward_is_the_default_and_refuses_incompatible_schemas() -> Result {
    let (_h, c) = start().await?;
    assert_eq!(
        c.get("/config").await?.1,
        json!({ "compatibilityLevel": "BACKWARD" })
    );
    c.post("/subjects/t-value/versions", v1()).await?;
    let (s, body) = c.post("/subjects/t-value/versions", v2_required()).await?;
    assert_eq!((s, body["error_code"].clone()), (409, json!(409)));
    assert!(
        body["message"].as_str().unwrap().contains("incompatible"),
        "{body}"
    );
    assert_eq!(c.get("/subjects/t-value/versions").await?.1, json!([1]));

    let check = "/compatibility/subjects/t-value/versions/latest";
    assert_eq!(
        c.post(check, v2_required()).await?.1,
        json!({ "is_compatible": false })
    );
    assert_eq!(
        c.post(check, v2_optional()).await?.1,
        json!({ "is_compatible": true })
    );
    let (_, verbose) = c
        .post(&format!("{check}?verbose=true"), v2_required())
        .await?;
    assert_eq!(verbose["is_compatible"], false);
    assert!(!verbose["messages"].as_array().unwrap().is_empty());
    assert_eq!(
        c.post("/compatibility/subjects/t-value/versions", v2_optional())
            .await?
            .1["is_compatible"],
        true
    );
    assert_eq!(
        c.post(
            "/compatibility/subjects/new-subject/versions",
            v2_required()
        )
        .await?
        .1["is_compatible"],
        true
    );
    assert_eq!(
        c.post("/compatibility/subjects/t-value/versions/3", v1())
            .await?
            .1["error_code"],
        40402
    );
    assert_eq!(
        c.post("/compatibility/subjects/none/versions/latest", v1())
            .await?
            .1["error_code"],
        40401
    );
    Ok(())
}

#[tokio::test]
async fn levels_forward_full_and_transitive() -> Result {
    let (_h, c) = start().await?;
    let int_field = record(json!([{ "name": "n", "type": "int" }]));
    let long_field = record(json!([{ "name": "n", "type": "long" }]));
    // int -> long: backward (long reads int) but not forward (int cannot read long).
    c.post("/subjects/w/versions", int_field.clone()).await?;
    assert_eq!(
        c.put("/config/w", json!({ "compatibility": "FORWARD" }))
            .await?
            .1,
        json!({ "compatibility": "FORWARD" })
    );
    assert_eq!(
        c.get("/config/w").await?.1,
        json!({ "compatibilityLevel": "FORWARD" })
    );
    assert_eq!(
        c.post("/subjects/w/versions", long_field.clone()).await?.0,
        409
    );
    c.put("/config/w", json!({ "compatibility": "FULL" }))
        .await?;
    assert_eq!(
        c.post("/subjects/w/versions", long_field.clone()).await?.0,
        409
    );
    c.put("/config/w", json!({ "compatibility": "BACKWARD" }))
        .await?;
    assert_eq!(
        c.post("/subjects/w/versions", long_field.clone()).await?,
        (200, json!({ "id": 2 }))
    );

    // Transitive: v1 {a}, v2 {} (drop a: backward ok), v3 {a: string} (backward vs v2 ok, vs v1 not).
    let a_int = record(json!([{ "name": "a", "type": "int" }]));
    let empty = record(json!([]));
    let a_str = record(json!([{ "name": "a", "type": "string", "default": "" }]));
    c.put(
        "/config/tr",
        json!({ "compatibility": "BACKWARD_TRANSITIVE" }),
    )
    .await?;
    c.post("/subjects/tr/versions", a_int).await?;
    assert_eq!(c.post("/subjects/tr/versions", empty).await?.0, 200);
    assert_eq!(c.post("/subjects/tr/versions", a_str.clone()).await?.0, 409);
    c.put("/config/tr", json!({ "compatibility": "BACKWARD" }))
        .await?;
    assert_eq!(c.post("/subjects/tr/versions", a_str).await?.0, 200);

    // NONE accepts anything; FULL_TRANSITIVE and FORWARD_TRANSITIVE are accepted names.
    assert_eq!(
        c.put("/config", json!({ "compatibility": "NONE" }))
            .await?
            .1,
        json!({ "compatibility": "NONE" })
    );
    c.post("/subjects/n/versions", v1()).await?;
    assert_eq!(
        c.post(
            "/subjects/n/versions",
            record(json!([{ "name": "id", "type": "string" }]))
        )
        .await?
        .0,
        200
    );
    for l in [
        "FULL_TRANSITIVE",
        "FORWARD_TRANSITIVE",
        "BACKWARD_TRANSITIVE",
        "FULL",
        "FORWARD",
        "BACKWARD",
        "NONE",
    ] {
        assert_eq!(
            c.put("/config/n", json!({ "compatibility": l })).await?.0,
            200,
            "{l}"
        );
    }
    let (s, body) = c
        .put("/config", json!({ "compatibility": "SIDEWAYS" }))
        .await?;
    assert_eq!((s, body["error_code"].clone()), (422, json!(42203)));

    // Subject config: 40408 without defaultToGlobal; delete returns the old level.
    assert_eq!(c.get("/config/unset").await?.1["error_code"], 40408);
    assert_eq!(
        c.get("/config/unset?defaultToGlobal=true").await?.1,
        json!({ "compatibilityLevel": "NONE" })
    );
    assert_eq!(
        c.delete("/config/n").await?.1,
        json!({ "compatibilityLevel": "NONE" })
    );
    Ok(())
}

#[tokio::test]
async fn soft_and_permanent_deletes() -> Result {
    let (_h, c) = start().await?;
    c.post("/subjects/d/versions", v1()).await?;
    c.post("/subjects/d/versions", v2_optional()).await?;
    assert_eq!(c.delete("/subjects/d/versions/1").await?, (200, json!(1)));
    assert_eq!(c.get("/subjects/d/versions").await?.1, json!([2]));
    assert_eq!(
        c.get("/subjects/d/versions?deleted=true").await?.1,
        json!([1, 2])
    );
    assert_eq!(
        c.get("/subjects/d/versions/1").await?.1["error_code"],
        40402
    );
    assert_eq!(
        c.delete("/subjects/d/versions/2?permanent=true").await?.1["error_code"],
        40407
    );
    assert_eq!(
        c.delete("/subjects/d/versions/1?permanent=true").await?,
        (200, json!(1))
    );
    assert_eq!(
        c.delete("/subjects/d?permanent=true").await?.1["error_code"],
        40405
    );
    assert_eq!(c.delete("/subjects/d").await?, (200, json!([2])));
    assert_eq!(c.get("/subjects").await?.1, json!([]));
    assert_eq!(c.get("/subjects?deleted=true").await?.1, json!(["d"]));
    assert_eq!(c.delete("/subjects/d").await?.1["error_code"], 40404);
    assert_eq!(
        c.delete("/subjects/d?permanent=true").await?,
        (200, json!([2]))
    );
    assert_eq!(c.delete("/subjects/d").await?.1["error_code"], 40401);
    // Ids survive: the schema is still readable by id, and re-registering reuses it.
    assert_eq!(c.get("/schemas/ids/2").await?.0, 200);
    assert_eq!(
        c.post("/subjects/d/versions", v2_optional()).await?.1,
        json!({ "id": 2 })
    );
    Ok(())
}

#[tokio::test]
async fn a_debezium_envelope_registers() -> Result {
    // Shaped like what Confluent's AvroConverter sends for a Debezium value schema.
    let schema = json!({
        "type": "record", "name": "Envelope", "namespace": "avro_pg.public.customers",
        "fields": [
            { "name": "before", "type": ["null", { "type": "record", "name": "Value", "fields": [
                { "name": "id", "type": "int" },
                { "name": "email", "type": ["null", "string"], "default": null },
                { "name": "created", "type": ["null", { "type": "string", "connect.version": 1,
                    "connect.name": "io.debezium.time.ZonedTimestamp" }], "default": null }
            ], "connect.name": "avro_pg.public.customers.Value" }], "default": null },
            { "name": "after", "type": ["null", "Value"], "default": null },
            { "name": "op", "type": "string" },
            { "name": "ts_ms", "type": ["null", "long"], "default": null }
        ],
        "connect.version": 2, "connect.name": "avro_pg.public.customers.Envelope"
    });
    let (_h, c) = start().await?;
    let (s, body) = c
        .post(
            "/subjects/avro_pg.public.customers-value/versions",
            json!({ "schema": schema.to_string() }),
        )
        .await?;
    assert_eq!((s, body), (200, json!({ "id": 1 })));
    Ok(())
}

#[tokio::test]
async fn persists_to_the_data_file() -> Result {
    let dir = std::env::temp_dir().join(format!("testkit-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("registry.json");
    std::fs::remove_file(&file).ok();
    let cfg = Config {
        data: Some(file.clone()),
        ..Config::default()
    };
    let h = Server::start(cfg.clone()).await?;
    let c = Client::new(&h);
    c.post("/subjects/p/versions", v1()).await?;
    c.put("/config", json!({ "compatibility": "FULL" })).await?;
    h.shutdown().await?;
    assert!(file.exists());

    let h = Server::start(cfg).await?;
    let c = Client::new(&h);
    assert_eq!(c.get("/subjects").await?.1, json!(["p"]));
    assert_eq!(
        c.get("/config").await?.1,
        json!({ "compatibilityLevel": "FULL" })
    );
    assert_eq!(
        c.post("/subjects/q/versions", v2_optional()).await?.1,
        json!({ "id": 2 })
    );
    h.shutdown().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
