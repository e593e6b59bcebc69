//! Byte-valued Debezium types: base64 decoding, hex rendering, Connect
//! `Decimal` (big-endian two's-complement unscaled value plus a scale) into an
//! exact decimal string, and `io.debezium.data.Bits` into an integer or a bit
//! string (pure).

use base64::Engine as _;

use super::Error;

/// Decodes standard base64 (Kafka Connect's JsonConverter encoding of bytes).
pub(crate) fn decode_base64(text: &str, field: &str) -> Result<Vec<u8>, Error> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| Error::invalid(field, format!("invalid base64: {e}")))
}

/// Encodes standard base64.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// The exact decimal text of a big-endian two's-complement unscaled value
/// with `scale` digits after the point (negative scale appends zeros).
/// Trailing zeros are kept: `-1` with scale 2 is `-0.01`, `-100` is `-1.00`.
pub(crate) fn decimal_text(bytes: &[u8], scale: i32, field: &str) -> Result<String, Error> {
    if scale.unsigned_abs() > 1000 {
        return Err(Error::invalid(
            field,
            format!("decimal scale {scale} out of range"),
        ));
    }
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude: String = if bytes.len() <= 16 {
        let mut buf = [if negative { 0xff } else { 0 }; 16];
        buf[16 - bytes.len()..].copy_from_slice(bytes);
        i128::from_be_bytes(buf).unsigned_abs().to_string()
    } else {
        big_magnitude(bytes, negative)
    };
    let zero = magnitude.bytes().all(|b| b == b'0');
    let mut out = String::with_capacity(magnitude.len() + 3);
    if negative && !zero {
        out.push('-');
    }
    if scale > 0 {
        let scale = scale as usize;
        if magnitude.len() <= scale {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', scale - magnitude.len()));
            out.push_str(&magnitude);
        } else {
            let (int, frac) = magnitude.split_at(magnitude.len() - scale);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    } else {
        out.push_str(&magnitude);
        if !zero {
            out.extend(std::iter::repeat_n('0', scale.unsigned_abs() as usize));
        }
    }
    Ok(out)
}

/// Decimal digits of the magnitude of a long two's-complement value.
fn big_magnitude(bytes: &[u8], negative: bool) -> String {
    let mut mag: Vec<u8> = bytes.to_vec();
    if negative {
        for b in mag.iter_mut() {
            *b = !*b;
        }
        for b in mag.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }
    let mut chunks: Vec<u32> = Vec::new();
    let mut start = 0;
    while start < mag.len() {
        if mag[start] == 0 {
            start += 1;
            continue;
        }
        let mut rem: u64 = 0;
        for b in mag[start..].iter_mut() {
            let cur = (rem << 8) | u64::from(*b);
            *b = (cur / 1_000_000_000) as u8;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
    }
    let mut s = String::new();
    match chunks.split_last() {
        None => s.push('0'),
        Some((top, rest)) => {
            s.push_str(&top.to_string());
            for c in rest.iter().rev() {
                s.push_str(&format!("{c:09}"));
            }
        }
    }
    s
}

/// `io.debezium.data.Bits`: Debezium sends the bits little-endian (byte 0 holds
/// bits 0-7). Up to 64 bits the value becomes an unsigned integer (what a
/// BIGINT/LARGEINT target holds); longer strings become text of `length`
/// `0`/`1` digits, most significant first.
pub(crate) fn bits_value(bytes: &[u8], length: Option<u32>) -> serde_json::Value {
    let length = length.unwrap_or((bytes.len() * 8) as u32);
    if length <= 64 && bytes.len() <= 8 {
        let mut v: u64 = 0;
        for (i, b) in bytes.iter().enumerate() {
            v |= u64::from(*b) << (8 * i);
        }
        return serde_json::Value::from(v);
    }
    let mut s = String::with_capacity(length as usize);
    for i in (0..length as usize).rev() {
        let bit = bytes.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1);
        s.push(if bit { '1' } else { '0' });
    }
    serde_json::Value::String(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(b64: &str, scale: i32) -> String {
        decimal_text(&decode_base64(b64, "f").unwrap(), scale, "f").unwrap()
    }

    #[test]
    fn captured_decimals() {
        assert_eq!(dec("/xcrWvAB", 4), "-99999999.9999");
        assert_eq!(dec("B1vNFQ==", 4), "12345.6789");
        assert_eq!(dec("/w==", 4), "-0.0001");
        assert_eq!(dec("nA==", 2), "-1.00");
        assert_eq!(dec("EHI=", 2), "42.10");
        assert_eq!(dec("AA==", 0), "0");
        assert_eq!(dec("", 2), "0.00");
        assert_eq!(decimal_text(&[5], -2, "f").unwrap(), "500");
    }

    #[test]
    fn long_decimals_match_the_short_path() {
        for v in [
            0i128,
            1,
            -1,
            255,
            -256,
            i128::MAX,
            i128::MIN,
            10i128.pow(30) + 7,
        ] {
            let short = decimal_text(&v.to_be_bytes(), 3, "f").unwrap();
            let mut long = vec![if v < 0 { 0xff } else { 0 }; 4];
            long.extend_from_slice(&v.to_be_bytes());
            assert_eq!(decimal_text(&long, 3, "f").unwrap(), short, "{v}");
        }
        // 2^128 needs the long path only.
        let mut b = vec![1u8];
        b.extend_from_slice(&[0u8; 16]);
        assert_eq!(
            decimal_text(&b, 0, "f").unwrap(),
            "340282366920938463463374607431768211456"
        );
    }

    #[test]
    fn bits_and_hex() {
        assert_eq!(bits_value(&[5], Some(3)), serde_json::json!(5));
        assert_eq!(bits_value(&[0x01, 0x02], Some(16)), serde_json::json!(513));
        assert_eq!(
            bits_value(&[0xff; 9], Some(70)).as_str().map(str::len),
            Some(70)
        );
        assert_eq!(
            bits_value(&[1, 0, 0, 0, 0, 0, 0, 0, 0x80], Some(72))
                .as_str()
                .map(|s| s.starts_with("1")),
            Some(true)
        );
        assert_eq!(hex(&[0xde, 0xad, 0xbe, 0xef]), "deadbeef");
        assert_eq!(
            encode_base64(b"__debezium_unavailable_value"),
            "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="
        );
    }
}
