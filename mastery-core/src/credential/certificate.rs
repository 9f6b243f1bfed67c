//! Certificates for any OB 3.0 credential, as SVG (screen) and PDF (print and download), in pure
//! Rust: one layout, two renderers. The QR code links to the verification URL (qrcode crate);
//! the PDF is written with pdf-writer using the standard Helvetica fonts (nothing embedded).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dashboard::svg::escape as escape_xml;
use crate::error::{MasteryError, Result};

/// What a host can restyle. Colours are `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CertificateTemplate {
    pub title: String,
    pub presented_to: String,
    pub accent: String,
    pub text: String,
    pub background: String,
    /// SVG only; the PDF uses Helvetica.
    pub font_family: String,
    pub verify_label: String,
}

impl Default for CertificateTemplate {
    fn default() -> Self {
        Self {
            title: "Certificate of Achievement".into(),
            presented_to: "This certifies that".into(),
            accent: "#1f4e79".into(),
            text: "#1a1a1a".into(),
            background: "#ffffff".into(),
            font_family: "Helvetica, Arial, sans-serif".into(),
            verify_label: "Verify this credential at".into(),
        }
    }
}

/// What the certificate says, read from a credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    pub learner_name: String,
    pub achievement: String,
    pub description: String,
    pub issuer: String,
    /// `YYYY-MM-DD` of `validFrom`.
    pub issued_on: String,
    pub valid_until: Option<String>,
    pub credential_id: String,
    pub verification_url: String,
}

impl Certificate {
    /// The learner's display name comes from the host: credentials carry only a hashed identifier.
    pub fn from_credential(credential: &Value, learner_name: &str, verification_url: &str) -> Result<Self> {
        let text = |pointer: &str| credential.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
        let required = |pointer: &str, field: &str| {
            text(pointer).ok_or_else(|| MasteryError::invalid(field.to_owned(), "is required for a certificate"))
        };
        let issuer = text("/issuer/name").or_else(|| text("/issuer")).unwrap_or_default();
        Ok(Self {
            learner_name: learner_name.to_owned(),
            achievement: required("/credentialSubject/achievement/name", "credentialSubject.achievement.name")?,
            description: text("/credentialSubject/achievement/description").unwrap_or_default(),
            issuer,
            issued_on: required("/validFrom", "validFrom")?.chars().take(10).collect(),
            valid_until: text("/validUntil").map(|t| t.chars().take(10).collect()),
            credential_id: text("/id").unwrap_or_default(),
            verification_url: verification_url.to_owned(),
        })
    }
}

/// A4 landscape, in points.
const WIDTH: f32 = 842.0;
const HEIGHT: f32 = 595.0;

enum Colour {
    Accent,
    Text,
}

/// A laid-out element; y grows downwards (SVG's convention; the PDF flips it).
enum Element {
    Text { x: f32, y: f32, size: f32, bold: bool, colour: Colour, text: String },
    Rect { x: f32, y: f32, w: f32, h: f32, colour: Colour },
}

fn layout(c: &Certificate, t: &CertificateTemplate) -> Result<Vec<Element>> {
    use Colour::{Accent, Text as Ink};
    let text = |x, y, size, bold, colour, s: &str| Element::Text { x, y, size, bold, colour, text: s.to_owned() };
    let mut out = vec![
        Element::Rect { x: 0.0, y: 0.0, w: 24.0, h: HEIGHT, colour: Accent },
        text(72.0, 110.0, 34.0, true, Accent, &t.title),
        text(72.0, 170.0, 14.0, false, Ink, &t.presented_to),
        text(72.0, 215.0, 30.0, true, Ink, &c.learner_name),
        text(72.0, 255.0, 14.0, false, Ink, "has earned"),
        text(72.0, 292.0, 22.0, true, Accent, &c.achievement),
    ];
    for (i, line) in wrap(&c.description, 80).iter().take(4).enumerate() {
        out.push(text(72.0, 322.0 + 17.0 * i as f32, 12.0, false, Ink, line));
    }
    out.push(text(72.0, 430.0, 13.0, true, Ink, &c.issuer));
    let mut dates = format!("Issued {}", c.issued_on);
    if let Some(until) = &c.valid_until {
        dates.push_str(&format!(" - valid until {until}"));
    }
    out.push(text(72.0, 450.0, 11.0, false, Ink, &dates));
    out.push(text(72.0, 520.0, 9.0, false, Ink, &t.verify_label));
    out.push(text(72.0, 534.0, 9.0, false, Accent, &c.verification_url));
    out.push(text(72.0, 548.0, 8.0, false, Ink, &c.credential_id));
    // The QR code, bottom right, one rectangle per dark module.
    let qr = qrcode::QrCode::new(c.verification_url.as_bytes())
        .map_err(|_| MasteryError::invalid("verification_url", "is too long for a QR code"))?;
    let n = qr.width();
    let module = 130.0 / n as f32;
    let (left, top) = (WIDTH - 72.0 - 130.0, HEIGHT - 72.0 - 130.0);
    for (i, colour) in qr.to_colors().iter().enumerate() {
        if *colour == qrcode::Color::Dark {
            let (x, y) = ((i % n) as f32, (i / n) as f32);
            out.push(Element::Rect { x: left + x * module, y: top + y * module, w: module, h: module, colour: Ink });
        }
    }
    Ok(out)
}

/// Greedy word wrap at `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_owned());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines.retain(|l| !l.is_empty());
    lines
}

/// The certificate as a standalone SVG (A4 landscape), with a title for screen readers.
pub fn certificate_svg(certificate: &Certificate, template: &CertificateTemplate) -> Result<String> {
    let colour = |c: &Colour| match c {
        Colour::Accent => escape_xml(&template.accent),
        Colour::Text => escape_xml(&template.text),
    };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}pt" height="{HEIGHT}pt" role="img" aria-labelledby="certificate-title"><title id="certificate-title">{} - {} - {}</title><rect width="100%" height="100%" fill="{}"/><g font-family="{}" shape-rendering="crispEdges">"#,
        escape_xml(&template.title),
        escape_xml(&certificate.learner_name),
        escape_xml(&certificate.achievement),
        escape_xml(&template.background),
        escape_xml(&template.font_family),
    );
    for element in layout(certificate, template)? {
        match element {
            Element::Text { x, y, size, bold, colour: c, text } => svg.push_str(&format!(
                r#"<text x="{x}" y="{y}" font-size="{size}"{} fill="{}">{}</text>"#,
                if bold { r#" font-weight="bold""# } else { "" },
                colour(&c),
                escape_xml(&text)
            )),
            Element::Rect { x, y, w, h, colour: c } => {
                svg.push_str(&format!(r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{}"/>"#, colour(&c)))
            }
        }
    }
    svg.push_str("</g></svg>");
    Ok(svg)
}

/// The certificate as a one-page PDF (A4 landscape).
pub fn certificate_pdf(certificate: &Certificate, template: &CertificateTemplate) -> Result<Vec<u8>> {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
    let rgb = |hex: &str, field: &str| -> Result<[f32; 3]> {
        let bad = || MasteryError::invalid(field.to_owned(), "must be a #rrggbb colour");
        let hex = hex.strip_prefix('#').filter(|h| h.len() == 6).ok_or_else(bad)?;
        let channel =
            |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map(|v| f32::from(v) / 255.0).map_err(|_| bad());
        Ok([channel(0)?, channel(2)?, channel(4)?])
    };
    let (accent, ink, paper) =
        (rgb(&template.accent, "accent")?, rgb(&template.text, "text")?, rgb(&template.background, "background")?);
    let (catalog, pages, page, content_id, regular, bold) =
        (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4), Ref::new(5), Ref::new(6));
    let mut content = Content::new();
    content.set_fill_rgb(paper[0], paper[1], paper[2]).rect(0.0, 0.0, WIDTH, HEIGHT).fill_nonzero();
    for element in layout(certificate, template)? {
        let pick = |c: &Colour| match c {
            Colour::Accent => accent,
            Colour::Text => ink,
        };
        match element {
            Element::Text { x, y, size, bold, colour, text } => {
                let [r, g, b] = pick(&colour);
                content.set_fill_rgb(r, g, b).begin_text();
                content.set_font(Name(if bold { b"F2" } else { b"F1" }), size);
                content.next_line(x, HEIGHT - y).show(Str(&win_ansi(&text))).end_text();
            }
            Element::Rect { x, y, w, h, colour } => {
                let [r, g, b] = pick(&colour);
                content.set_fill_rgb(r, g, b).rect(x, HEIGHT - y - h, w, h).fill_nonzero();
            }
        }
    }
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.parent(pages).media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT)).contents(content_id);
    p.resources().fonts().pair(Name(b"F1"), regular).pair(Name(b"F2"), bold);
    p.finish();
    pdf.type1_font(regular).base_font(Name(b"Helvetica")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold).base_font(Name(b"Helvetica-Bold")).encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.stream(content_id, &content.finish());
    Ok(pdf.finish())
}

/// Text for the standard fonts' WinAnsi encoding: Latin-1 as is, a few typographic marks mapped,
/// anything else `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '\u{2013}' => 0x96,
            '\u{2014}' => 0x97,
            '\u{2018}' => 0x91,
            '\u{2019}' => 0x92,
            '\u{201c}' => 0x93,
            '\u{201d}' => 0x94,
            '\u{20ac}' => 0x80,
            c if (c as u32) < 0x80 || (0xa0..=0xff).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_on_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert!(wrap("", 5).is_empty());
        assert_eq!(win_ansi("José – ok ✓"), b"Jos\xe9 \x96 ok ?");
    }
}
