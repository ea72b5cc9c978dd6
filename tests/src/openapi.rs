//! A small checker for the hub's OpenAPI document: resolves `$ref`s and checks a JSON
//! value against a schema's `type`, `required`, `properties` and `items`, which is all
//! the document uses. Enough to keep the document true, not a general validator.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

/// Follows `{"$ref": "#/a/b"}` inside `document` until a non-reference is reached.
pub fn resolve<'a>(document: &'a Value, mut node: &'a Value) -> Result<&'a Value> {
    for _ in 0..16 {
        let Some(reference) = node.get("$ref").and_then(Value::as_str) else {
            return Ok(node);
        };
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| anyhow!("only local references: {reference}"))?;
        node = document
            .pointer(pointer)
            .ok_or_else(|| anyhow!("dangling reference {reference}"))?;
    }
    bail!("reference loop")
}

/// Checks `value` against `schema`; the error names the path to the first mismatch.
pub fn check(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<()> {
    let schema = resolve(document, schema)?;
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            other => bail!("bad type {other} in the schema at {at}"),
        };
        if !allowed.iter().any(|t| has_type(value, t)) {
            bail!("{at}: expected {allowed:?}, got {value}");
        }
    }
    if let (Some(required), Some(object)) = (schema.get("required"), value.as_object()) {
        for name in required
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                bail!("{at}: required field {name} is missing in {value}");
            }
        }
    }
    if let (Some(properties), Some(object)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (name, property) in properties {
            if let Some(field) = object.get(name) {
                check(document, property, field, &format!("{at}.{name}"))?;
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            check(document, items, item, &format!("{at}[{index}]"))?;
        }
    }
    Ok(())
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_types_required_fields_and_references() {
        let document = json!({"components": {"schemas": {"Item": {
            "type": "object", "required": ["id"],
            "properties": {"id": {"type": "string"}, "n": {"type": ["integer", "null"]}}
        }}}});
        let list = json!({"type": "array", "items": {"$ref": "#/components/schemas/Item"}});
        assert!(check(&document, &list, &json!([{"id": "a", "n": null}]), "$").is_ok());
        assert!(check(&document, &list, &json!([{"id": "a", "n": 2}]), "$").is_ok());
        let missing = check(&document, &list, &json!([{"n": 1}]), "$").unwrap_err();
        assert!(
            missing.to_string().contains("$[0]: required field id"),
            "{missing}"
        );
        assert!(check(&document, &list, &json!([{"id": 5}]), "$").is_err());
        assert!(check(&document, &list, &json!([{"id": "a", "n": 1.5}]), "$").is_err());
        assert!(check(&document, &json!({"$ref": "#/nowhere"}), &json!(1), "$").is_err());
    }
}
