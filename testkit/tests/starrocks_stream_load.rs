//! Stream Load (fact sheet §5.1): 307 redirect FE → BE, Basic auth, response JSON, labels,
//! filtering with max_filter_ratio and ErrorURL, `__op` deletes, partial updates, jsonpaths.

mod starrocks_support;

use std::io::Write;

use reqwest::redirect::Policy;
use serde_json::Value;
use starrocks_support::*;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// PUT to the FE, follow the 307 by hand (re-sending body and auth), return the BE reply.
async fn load(sr: &Sr, table: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Value {
    let url = format!("{}/api/d/{table}/_stream_load", sr.fe_url());
    let build = |u: &str| {
        let mut r = client()
            .put(u)
            .basic_auth("root", Some(""))
            .body(body.clone());
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r
    };
    let fe = build(&url).send().await.expect("FE answers");
    assert_eq!(fe.status().as_u16(), 307);
    let loc = fe.headers()["location"].to_str().unwrap().to_string();
    let be = build(&loc).send().await.expect("BE answers");
    assert_eq!(be.status().as_u16(), 200);
    let text = be.text().await.expect("reply body");
    serde_json::from_str(&text).expect("json reply")
}

async fn setup(sr: &Sr) -> mysql_async::Conn {
    let mut c = sr.conn().await;
    exec(&mut c, "CREATE DATABASE d").await;
    exec(&mut c, "USE d").await;
    exec(
        &mut c,
        "CREATE TABLE pk (id INT NOT NULL, name VARCHAR(5), score INT NOT NULL DEFAULT '0', doc JSON) \
         PRIMARY KEY(id) DISTRIBUTED BY HASH(id)",
    )
    .await;
    c
}

const JSON: (&str, &str) = ("format", "json");
const STRIP: (&str, &str) = ("strip_outer_array", "true");

#[tokio::test]
async fn fe_redirects_with_307_to_the_be_keeping_path_and_query() {
    let sr = start().await;
    let _c = setup(&sr).await;
    let r = client()
        .put(format!("{}/api/d/pk/_stream_load?x=1", sr.fe_url()))
        .basic_auth("root", Some(""))
        .header("Expect", "100-continue")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 307);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!(
            "http://{}/api/d/pk/_stream_load?x=1",
            sr.handle.be_http_addr()
        )
    );
    let r = client()
        .put(format!("{}/api/d/pk/_stream_load", sr.fe_url()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = client()
        .put(format!(
            "http://{}/api/d/pk/_stream_load",
            sr.handle.be_http_addr()
        ))
        .basic_auth("root", Some("bad"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn successful_load_and_label_already_exists() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    let body = br#"[{"id":1,"name":"a","score":3,"doc":{"k":[1,2]}},{"id":2,"name":"b","unknown":"ignored"}]"#.to_vec();
    let r = load(&sr, "pk", &[("label", "l1"), JSON, STRIP], body.clone()).await;
    assert_eq!(r["Status"], "Success", "{r}");
    assert_eq!(r["Label"], "l1");
    assert_eq!(r["Message"], "OK");
    assert_eq!(r["NumberTotalRows"], 2);
    assert_eq!(r["NumberLoadedRows"], 2);
    assert_eq!(r["NumberFilteredRows"], 0);
    assert_eq!(r["NumberUnselectedRows"], 0);
    assert!(r["TxnId"].as_i64().unwrap() > 0);
    for k in [
        "LoadBytes",
        "LoadTimeMs",
        "BeginTxnTimeMs",
        "StreamLoadPlanTimeMs",
        "ReadDataTimeMs",
        "WriteDataTimeMs",
        "CommitAndPublishTimeMs",
    ] {
        assert!(r.get(k).is_some(), "missing {k}");
    }
    assert!(r.get("ErrorURL").is_none());
    let again = load(&sr, "pk", &[("label", "l1"), JSON, STRIP], body).await;
    assert_eq!(again["Status"], "Label Already Exists");
    assert_eq!(again["ExistingJobStatus"], "FINISHED");
    assert_eq!(again["TxnId"], -1);
    assert_eq!(again["Message"], "Label [l1] has already been used.");
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM pk").await.as_deref(),
        Some("2")
    );
    assert_eq!(
        scalar(&mut c, "SELECT score FROM pk WHERE id = 2")
            .await
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        scalar(
            &mut c,
            "SELECT get_json_string(doc, '$.k[1]') FROM pk WHERE id = 1"
        )
        .await
        .as_deref(),
        Some("2")
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn filtered_rows_over_the_ratio_fail_the_whole_load() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    // too long (bytes), wrong type, NULL into NOT NULL
    let body =
        br#"[{"id":1,"name":"ok"},{"id":2,"name":"toolong"},{"id":"x"},{"id":4,"score":null}]"#
            .to_vec();
    let r = load(&sr, "pk", &[("label", "f1"), JSON, STRIP], body.clone()).await;
    assert_eq!(r["Status"], "Fail", "{r}");
    assert_eq!(r["Message"], "too many filtered rows");
    assert_eq!(r["NumberTotalRows"], 4);
    assert_eq!(r["NumberFilteredRows"], 3);
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM pk").await.as_deref(),
        Some("0")
    );
    let url = r["ErrorURL"].as_str().expect("ErrorURL").to_string();
    let log = reqwest::get(url).await.unwrap().text().await.unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert!(log.contains("toolong"), "{log}");
    // a failed label can be reused; with a high enough ratio the good row loads
    let r = load(
        &sr,
        "pk",
        &[("label", "f1"), JSON, STRIP, ("max_filter_ratio", "0.8")],
        body,
    )
    .await;
    assert_eq!(r["Status"], "Success", "{r}");
    assert_eq!(r["NumberLoadedRows"], 1);
    assert_eq!(r["NumberFilteredRows"], 3);
    assert!(r["ErrorURL"].is_string());
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM pk").await.as_deref(),
        Some("1")
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn op_upsert_delete_and_partial_update() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    let body = br#"[{"id":1,"name":"a","score":1},{"id":2,"name":"b","score":2}]"#.to_vec();
    assert_eq!(
        load(&sr, "pk", &[JSON, STRIP], body).await["Status"],
        "Success"
    );
    let body = br#"[{"id":1,"__op":1},{"id":2,"name":"b2","score":5,"__op":0}]"#.to_vec();
    let r = load(
        &sr,
        "pk",
        &[JSON, STRIP, ("columns", "id, name, score, __op")],
        body,
    )
    .await;
    assert_eq!(r["Status"], "Success", "{r}");
    assert_eq!(
        rows(&mut c, "SELECT id, name, score FROM pk").await,
        vec![vec![Some("2".into()), Some("b2".into()), Some("5".into())]]
    );
    // partial update keeps unspecified columns
    let body = br#"{"id":2,"score":9}"#.to_vec();
    let r = load(
        &sr,
        "pk",
        &[JSON, ("partial_update", "true"), ("columns", "id, score")],
        body,
    )
    .await;
    assert_eq!(r["Status"], "Success", "{r}");
    assert_eq!(
        rows(&mut c, "SELECT name, score FROM pk").await,
        vec![vec![Some("b2".into()), Some("9".into())]]
    );
    // __op mapped from another field through jsonpaths + columns
    let body = br#"[{"k":2,"op":"d"}]"#.to_vec();
    let r = load(
        &sr,
        "pk",
        &[
            JSON,
            STRIP,
            ("jsonpaths", r#"["$.k","$.flag"]"#),
            ("columns", "id, temp, __op = 'delete'"),
        ],
        body,
    )
    .await;
    assert_eq!(r["Status"], "Success", "{r}");
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM pk").await.as_deref(),
        Some("0")
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn gzip_csv_and_faults() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"[{"id":7,"name":"g"}]"#).unwrap();
    let r = load(
        &sr,
        "pk",
        &[JSON, STRIP, ("compression", "gzip")],
        gz.finish().unwrap(),
    )
    .await;
    assert_eq!(r["Status"], "Success", "{r}");
    let r = load(
        &sr,
        "pk",
        &[("column_separator", ","), ("columns", "id,name,score")],
        b"8,c,1\n9,\\N,2\n".to_vec(),
    )
    .await;
    assert_eq!(r["Status"], "Success", "{r}");
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM pk").await.as_deref(),
        Some("3")
    );
    sr.faults(r#"{"fail_stream_loads": 1}"#).await;
    let r = load(
        &sr,
        "pk",
        &[("label", "x1"), JSON],
        br#"{"id":10}"#.to_vec(),
    )
    .await;
    assert_eq!(r["Status"], "Fail");
    let r = load(
        &sr,
        "pk",
        &[("label", "x1"), JSON],
        br#"{"id":10}"#.to_vec(),
    )
    .await;
    assert_eq!(r["Status"], "Success");
    sr.faults(r#"{"publish_timeout_stream_loads": 1}"#).await;
    let r = load(
        &sr,
        "pk",
        &[("label", "x2"), JSON],
        br#"{"id":11}"#.to_vec(),
    )
    .await;
    assert_eq!(r["Status"], "Publish Timeout");
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM pk WHERE id = 11")
            .await
            .as_deref(),
        Some("1")
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn json_array_without_strip_outer_array_fails() {
    let sr = start().await;
    let _c = setup(&sr).await;
    let r = load(&sr, "pk", &[JSON], br#"[{"id":1}]"#.to_vec()).await;
    assert_eq!(r["Status"], "Fail");
    let r = load(&sr, "nope", &[JSON], br#"{"id":1}"#.to_vec()).await;
    assert_eq!(r["Status"], "Fail");
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn loading_directly_on_the_be_works() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    let r = client()
        .put(format!(
            "http://{}/api/d/pk/_stream_load",
            sr.handle.be_http_addr()
        ))
        .basic_auth("root", Some(""))
        .header("format", "json")
        .header("label", "direct1")
        .body(r#"{"id":42,"name":"be"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["Status"], "Success", "{v}");
    assert_eq!(
        scalar(&mut c, "SELECT name FROM pk WHERE id = 42")
            .await
            .as_deref(),
        Some("be")
    );
    sr.handle.shutdown().await;
}

#[tokio::test]
async fn same_label_while_the_first_load_runs_reports_running() {
    let sr = start().await;
    let mut c = setup(&sr).await;
    sr.faults(r#"{"delay_stream_load_ms": 4000}"#).await;
    let be = format!("http://{}/api/d/pk/_stream_load", sr.handle.be_http_addr());
    let first = {
        let be = be.clone();
        tokio::spawn(async move {
            client()
                .put(be)
                .basic_auth("root", Some(""))
                .header("format", "json")
                .header("label", "slow1")
                .body(r#"{"id":1}"#)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let second = client()
        .put(be)
        .basic_auth("root", Some(""))
        .header("format", "json")
        .header("label", "slow1")
        .body(r#"{"id":1}"#)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let second: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(second["Status"], "Label Already Exists");
    assert_eq!(second["ExistingJobStatus"], "RUNNING");
    let first: Value = serde_json::from_str(&first.await.unwrap()).unwrap();
    assert_eq!(first["Status"], "Success", "{first}");
    assert_eq!(
        scalar(&mut c, "SELECT COUNT(*) FROM pk").await.as_deref(),
        Some("1")
    );
    sr.handle.shutdown().await;
}
