//! What the benches that need the local stack share: its env file (checked
//! by connecting to its Kafka) and the environment-variable knobs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// A numeric knob from the environment, or `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `KEY=value` lines of `target/stack/env` (or `$STACK_DIR/env`), when the
/// stack is up and its Kafka answers; otherwise why not.
pub fn stack_env() -> Result<HashMap<String, String>, String> {
    let path = match std::env::var_os("STACK_DIR") {
        Some(dir) => PathBuf::from(dir).join("env"),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/stack/env"),
    };
    let text = std::fs::read_to_string(&path).map_err(|_| format!("no {}", path.display()))?;
    let vars: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let kafka = vars
        .get("STACK_KAFKA")
        .ok_or_else(|| format!("STACK_KAFKA missing from {}", path.display()))?;
    let addr: std::net::SocketAddr = kafka
        .parse()
        .map_err(|e| format!("STACK_KAFKA={kafka}: {e}"))?;
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| format!("Kafka at {kafka} does not answer ({e})"))?;
    Ok(vars)
}
