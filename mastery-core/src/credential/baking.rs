//! Baking: a credential carried inside its badge image, and read back out.
//!
//! PNG: an `iTXt` chunk with keyword `openbadgecredential` (OB 3.0) or `openbadges` (OB 2.0),
//! uncompressed, before `IEND`. SVG: an `<openbadges:credential>` (OB 3.0) or
//! `<openbadges:assertion>` (OB 2.0) element as the first child of the root, its text the
//! credential (JSON in CDATA, or a compact JWT).

use crate::error::{MasteryError, Result};

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// Which Open Badges version the baked data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadgeVersion {
    Ob2,
    Ob3,
}

impl BadgeVersion {
    /// `"ob3"` or `"ob2"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "ob3" => Ok(Self::Ob3),
            "ob2" => Ok(Self::Ob2),
            _ => Err(MasteryError::invalid("version", "must be ob3 or ob2")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Ob3 => "ob3",
            Self::Ob2 => "ob2",
        }
    }

    fn png_keyword(self) -> &'static [u8] {
        match self {
            Self::Ob2 => b"openbadges",
            Self::Ob3 => b"openbadgecredential",
        }
    }

    fn svg_element(self) -> &'static str {
        match self {
            Self::Ob2 => "openbadges:assertion",
            Self::Ob3 => "openbadges:credential",
        }
    }

    fn namespace(self) -> &'static str {
        match self {
            Self::Ob2 => "http://openbadges.org",
            Self::Ob3 => "https://purl.imsglobal.org/ob/v3p0",
        }
    }
}

/// `(type, data)` of every chunk, checked against its CRC.
fn chunks(png: &[u8]) -> Result<Vec<([u8; 4], &[u8])>> {
    let bad = |why: &str| MasteryError::invalid("png", why.to_owned());
    let mut rest = png.strip_prefix(&PNG_SIGNATURE[..]).ok_or_else(|| bad("not a PNG"))?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 12 {
            return Err(bad("truncated chunk"));
        }
        let length = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let end = 8usize.checked_add(length).filter(|e| e + 4 <= rest.len()).ok_or_else(|| bad("truncated chunk"))?;
        let kind = [rest[4], rest[5], rest[6], rest[7]];
        let data = &rest[8..end];
        let crc = u32::from_be_bytes([rest[end], rest[end + 1], rest[end + 2], rest[end + 3]]);
        if crc != crc32fast::hash(&rest[4..end]) {
            return Err(bad("chunk CRC mismatch"));
        }
        out.push((kind, data));
        rest = &rest[end + 4..];
        if &kind == b"IEND" {
            break;
        }
    }
    if out.last().is_none_or(|(k, _)| k != b"IEND") {
        return Err(bad("no IEND chunk"));
    }
    Ok(out)
}

fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The text of an uncompressed `iTXt` chunk with this keyword.
fn itxt_text<'a>(data: &'a [u8], keyword: &[u8]) -> Option<&'a [u8]> {
    let rest = data.strip_prefix(keyword)?.strip_prefix(&[0u8][..])?;
    let (&compressed, rest) = rest.split_first()?;
    if compressed != 0 {
        return None;
    }
    let rest = rest.get(1..)?; // compression method
    let language_end = rest.iter().position(|&b| b == 0)?;
    let rest = &rest[language_end + 1..];
    let translated_end = rest.iter().position(|&b| b == 0)?;
    Some(&rest[translated_end + 1..])
}

/// Bakes `credential` (JSON or a compact JWT) into a PNG, replacing any credential it carried.
pub fn bake_png(png: &[u8], credential: &str, version: BadgeVersion) -> Result<Vec<u8>> {
    let keyword = version.png_keyword();
    let mut out = PNG_SIGNATURE.to_vec();
    for (kind, data) in chunks(png)? {
        if &kind == b"iTXt" && itxt_text(data, keyword).is_some() {
            continue;
        }
        if &kind == b"IEND" {
            let mut itxt = keyword.to_vec();
            itxt.extend_from_slice(&[0, 0, 0, 0, 0]); // separator, uncompressed, method, no language, no translation
            itxt.extend_from_slice(credential.as_bytes());
            write_chunk(&mut out, b"iTXt", &itxt);
        }
        write_chunk(&mut out, &kind, data);
    }
    Ok(out)
}

/// The credential baked into a PNG (OB 3.0 first, then OB 2.0), if any.
pub fn unbake_png(png: &[u8]) -> Result<Option<(BadgeVersion, String)>> {
    let chunks = chunks(png)?;
    for version in [BadgeVersion::Ob3, BadgeVersion::Ob2] {
        for (kind, data) in &chunks {
            if kind == b"iTXt" {
                if let Some(text) = itxt_text(data, version.png_keyword()) {
                    let text = std::str::from_utf8(text)
                        .map_err(|_| MasteryError::invalid("png", "credential is not UTF-8"))?;
                    return Ok(Some((version, text.trim().to_owned())));
                }
            }
        }
    }
    Ok(None)
}

/// Bakes `credential` into an SVG, as the first child of the root element.
pub fn bake_svg(svg: &str, credential: &str, version: BadgeVersion) -> Result<String> {
    let cleaned = match unbake_svg(svg)? {
        Some(_) => remove_element(svg, version.svg_element()),
        None => svg.to_owned(),
    };
    let start = cleaned.find("<svg").ok_or_else(|| MasteryError::invalid("svg", "no <svg> element"))?;
    let close =
        start + cleaned[start..].find('>').ok_or_else(|| MasteryError::invalid("svg", "unterminated <svg> tag"))?;
    let mut tag = cleaned[start..close].to_owned();
    let self_closing = tag.ends_with('/');
    if self_closing {
        tag.pop();
    }
    if !tag.contains("xmlns:openbadges") {
        tag.push_str(&format!(r#" xmlns:openbadges="{}""#, version.namespace()));
    }
    let body = if credential.trim_start().starts_with('{') {
        format!("<![CDATA[{}]]>", credential.replace("]]>", "]]]]><![CDATA[>"))
    } else {
        credential.to_owned()
    };
    let element = format!("<{0}>{body}</{0}>", version.svg_element());
    let rest = &cleaned[close + 1..];
    Ok(if self_closing {
        format!("{}{tag}>{element}</svg>{rest}", &cleaned[..start])
    } else {
        format!("{}{tag}>{element}{rest}", &cleaned[..start])
    })
}

fn remove_element(svg: &str, name: &str) -> String {
    let (open, close) = (format!("<{name}"), format!("</{name}>"));
    match (svg.find(&open), svg.find(&close)) {
        (Some(a), Some(b)) if b > a => format!("{}{}", &svg[..a], &svg[b + close.len()..]),
        _ => svg.to_owned(),
    }
}

/// The credential baked into an SVG, if any.
pub fn unbake_svg(svg: &str) -> Result<Option<(BadgeVersion, String)>> {
    for version in [BadgeVersion::Ob3, BadgeVersion::Ob2] {
        let open = format!("<{}", version.svg_element());
        let Some(a) = svg.find(&open) else { continue };
        let content_start =
            a + svg[a..].find('>').ok_or_else(|| MasteryError::invalid("svg", "unterminated element"))? + 1;
        let close = format!("</{}>", version.svg_element());
        let Some(len) = svg[content_start..].find(&close) else {
            return Err(MasteryError::invalid("svg", "credential element is not closed"));
        };
        let inner = svg[content_start..content_start + len].trim();
        let text = inner
            .strip_prefix("<![CDATA[")
            .and_then(|x| x.strip_suffix("]]>"))
            .map(|x| x.replace("]]]]><![CDATA[>", "]]>"))
            .unwrap_or_else(|| inner.to_owned());
        // OB 2.0 may give the assertion URL in a `verify` attribute instead of content.
        if text.is_empty() {
            if let Some(v) = svg[a..content_start].split("verify=\"").nth(1).and_then(|x| x.split('"').next()) {
                return Ok(Some((version, v.to_owned())));
            }
        }
        return Ok(Some((version, text.trim().to_owned())));
    }
    Ok(None)
}
