//! A small checker for the hub's OpenAPI document: resolves `$ref`s and checks a JSON
//! value against a schema's `type`, `enum`, `const`, `required`, `properties`,
//! `additionalProperties` and `items`. Enough to keep the document true, not a general
//! validator (`oneOf` and `pattern`, used only for requests, are not checked).

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
    if let Some(allowed) = schema.get("enum") {
        let allowed = allowed
            .as_array()
            .ok_or_else(|| anyhow!("bad enum {allowed} in the schema at {at}"))?;
        if !allowed.contains(value) {
            bail!("{at}: {value} is not one of {allowed:?}");
        }
    }
    if let Some(constant) = schema.get("const") {
        if constant != value {
            bail!("{at}: expected {constant}, got {value}");
        }
    }
    if let (Some(additional), Some(object)) =
        (schema.get("additionalProperties"), value.as_object())
    {
        let declared = schema.get("properties").and_then(Value::as_object);
        let extra = object
            .iter()
            .filter(|(name, _)| !declared.is_some_and(|d| d.contains_key(name.as_str())));
        for (name, field) in extra {
            match additional {
                Value::Bool(true) => {}
                Value::Bool(false) => bail!("{at}: field {name} is not in the schema"),
                extra_schema => check(document, extra_schema, field, &format!("{at}.{name}"))?,
            }
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

    #[test]
    fn checks_enums_constants_and_additional_properties() {
        let document = json!({});
        let state = json!({"type": ["string", "null"], "enum": ["queued", "printed", null]});
        assert!(check(&document, &state, &json!("queued"), "$").is_ok());
        assert!(check(&document, &state, &json!(null), "$").is_ok());
        let wrong = check(&document, &state, &json!("lost"), "$").unwrap_err();
        assert!(
            wrong.to_string().contains("$: \"lost\" is not one of"),
            "{wrong}"
        );
        assert!(check(&document, &json!({"const": "x"}), &json!("y"), "$").is_err());
        assert!(check(&document, &json!({"const": "x"}), &json!("x"), "$").is_ok());

        let closed = json!({"type": "object", "properties": {"id": {"type": "string"}},
            "additionalProperties": false});
        assert!(check(&document, &closed, &json!({"id": "a"}), "$").is_ok());
        let extra = check(&document, &closed, &json!({"id": "a", "x": 1}), "$").unwrap_err();
        assert!(
            extra
                .to_string()
                .contains("$: field x is not in the schema"),
            "{extra}"
        );
        let map = json!({"type": "object", "additionalProperties": {"type": "integer"}});
        assert!(check(&document, &map, &json!({"a": 1, "b": 2}), "$").is_ok());
        let bad = check(&document, &map, &json!({"a": 1, "b": "2"}), "$").unwrap_err();
        assert!(bad.to_string().contains("$.b"), "{bad}");
        let open = json!({"type": "object", "properties": {}});
        assert!(
            check(&document, &open, &json!({"x": 1}), "$").is_ok(),
            "open by default"
        );
    }
}
