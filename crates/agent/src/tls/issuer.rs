//! The issuer of a certificate, in words, for the message of a refused one
//! ("certificate not trusted: issued by Example Corp Root CA"). A minimal DER walk over
//! the fields before the issuer; anything unexpected gives `None`, never a panic. Runs
//! inside the TLS handshake of whichever task connects.

/// Object identifiers (content bytes) of the name parts shown, in order of preference.
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];

/// One DER element: its tag and contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (length, rest)
    };
    if rest.len() < length {
        return None;
    }
    let (contents, after) = rest.split_at(length);
    Some((tag, contents, after))
}

/// The issuer's common name (or organization) of a DER certificate.
pub fn issuer_name(certificate: &[u8]) -> Option<String> {
    const SEQUENCE: u8 = 0x30;
    let (SEQUENCE, certificate, _) = element(certificate)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(certificate)? else {
        return None;
    };
    // [0] version (optional), serial number, signature algorithm, then the issuer.
    let (tag, _, mut rest) = element(tbs)?;
    if tag == 0xa0 {
        rest = element(rest)?.2;
    }
    let rest = element(rest)?.2;
    let (SEQUENCE, issuer, _) = element(rest)? else {
        return None;
    };
    let mut parts: Vec<(&[u8], String)> = Vec::new();
    let mut sets = issuer;
    while !sets.is_empty() {
        let (_, set, next) = element(sets)?;
        sets = next;
        let (_, pair, _) = element(set)?;
        let (_, oid, value) = element(pair)?;
        let (_, text, _) = element(value)?;
        parts.push((oid, String::from_utf8_lossy(text).into_owned()));
    }
    [COMMON_NAME, ORGANIZATION].iter().find_map(|wanted| {
        parts
            .iter()
            .find(|(oid, _)| oid == wanted)
            .map(|(_, text)| text.chars().filter(|c| !c.is_control()).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER element of `tag` around `contents` (short lengths only).
    fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, u8::try_from(contents.len()).expect("short")];
        out.extend_from_slice(contents);
        out
    }

    fn name_part(oid: &[u8], text: &str) -> Vec<u8> {
        let pair = [der(0x06, oid), der(0x0c, text.as_bytes())].concat();
        der(0x31, &der(0x30, &pair))
    }

    fn certificate(with_version: bool, issuer: &[u8]) -> Vec<u8> {
        let mut tbs = Vec::new();
        if with_version {
            tbs.extend(der(0xa0, &der(0x02, &[2])));
        }
        tbs.extend(der(0x02, &[1, 2, 3]));
        tbs.extend(der(0x30, &der(0x06, &[0x2a, 0x86, 0x48])));
        tbs.extend(der(0x30, issuer));
        der(0x30, &der(0x30, &tbs))
    }

    #[test]
    fn names_the_issuer_by_common_name_then_organization() {
        let issuer = [
            name_part(ORGANIZATION, "Example Corp"),
            name_part(COMMON_NAME, "Example Root CA"),
        ]
        .concat();
        assert_eq!(
            issuer_name(&certificate(true, &issuer)).as_deref(),
            Some("Example Root CA")
        );
        let only_org = name_part(ORGANIZATION, "Example Corp");
        assert_eq!(
            issuer_name(&certificate(false, &only_org)).as_deref(),
            Some("Example Corp")
        );
    }

    #[test]
    fn anything_else_is_no_name_and_no_panic() {
        assert_eq!(issuer_name(&[]), None);
        assert_eq!(issuer_name(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        let good = certificate(true, &name_part(COMMON_NAME, "CA"));
        for cut in 0..good.len() {
            // Every truncation is refused or read, never a panic.
            let _ = issuer_name(&good[..cut]);
        }
        assert_eq!(issuer_name(&certificate(true, &[])), None);
    }
}
