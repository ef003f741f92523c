//! Syntax every section shares, as the API server checks it: DNS labels and
//! names, label keys and values.

/// RFC 1035 label: what Service names must be.
pub fn dns1035_label(s: &str) -> Result<(), String> {
    dns1123_label(s)?;
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter".into());
    }
    Ok(())
}

/// RFC 1123 label: lowercase alphanumerics and '-', 1-63 characters.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err("must be 1 to 63 characters long".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("must contain only lowercase letters, digits and '-'".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// A DNS name of labels joined by dots; `wildcard` allows a leading `*.`.
pub fn dns_name(s: &str, wildcard: bool) -> Result<(), String> {
    let body = match s.strip_prefix("*.") {
        Some(rest) if wildcard => rest,
        _ => s,
    };
    if body.is_empty() || s.len() > 253 {
        return Err("must be a DNS name of at most 253 characters".into());
    }
    for label in body.split('.') {
        dns1123_label(label).map_err(|e| format!("has an invalid label {label:?}: {e}"))?;
    }
    Ok(())
}

/// Kubernetes qualified name with optional DNS prefix (`example.com/key`).
pub fn label_key(k: &str) -> Result<(), String> {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix {
        dns_name(p, false).map_err(|e| format!("has an invalid prefix: {e}"))?;
    }
    if name.is_empty() || name.len() > 63 {
        return Err("must have a name part of 1 to 63 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(
            "must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
                .into(),
        );
    }
    Ok(())
}

pub fn label_value(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Ok(());
    }
    if v.len() > 63 {
        return Err("must be at most 63 characters".into());
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || !v.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !v.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(
            "must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
                .into(),
        );
    }
    Ok(())
}
