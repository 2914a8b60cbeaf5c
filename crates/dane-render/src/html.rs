//! `--format html`: one self-contained file to attach to a ticket: the pictures as inline
//! SVG, inline CSS, the text report and the JSON document in collapsible sections. No
//! script, no external fetch (no fonts, images or style sheets from anywhere), so it opens
//! offline and under the strict Content-Security-Policy it declares itself:
//! [`CSP`]. Printed, each picture (the whole check, then one per host) is a page of its own
//! (A4).

use std::fmt::Write as _;

/// The policy the page declares (and passes): nothing may be fetched or run; inline
/// styles and `data:` images only.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// Text escaped for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    Escaped(text).to_string()
}

/// Text escaped for HTML (or XML) content and attribute values as it is written (`{}` in a
/// `write!`), with no string of its own: the runs between special characters are copied
/// whole.
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0;
        let mut start = 0;
        for (i, b) in text.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&text[start..i])?;
            f.write_str(entity)?;
            start = i + 1;
        }
        f.write_str(&text[start..])
    }
}

const STYLE: &str = "\
body { font-family: sans-serif; margin: 1.5em; color: #111; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
p.reason { margin: 0 0 1em; }
section.picture { margin: 0 0 1.5em; }
section.picture h2 { font-size: 1.05em; margin: .5em 0; }
section.picture svg { max-width: 100%; height: auto; }
details { margin: .6em 0; }
pre { white-space: pre-wrap; word-break: break-all; font-size: .8em; background: #f6f6f6; padding: .6em; }
.verified { color: #138a13; } .failed { color: #d01010; }
@page { size: A4; margin: 12mm; }
@media print {
  body { margin: 0; }
  section.picture { break-after: page; page-break-after: always; }
  section.picture svg { max-height: 250mm; }
  details { display: none; }
}
";

/// One picture of the page: a heading and the `<svg>` element
/// ([`crate::dot::Picture::svg_element`]).
pub struct Picture {
    /// What it shows (`the whole check`, `mx1.example.com.`).
    pub title: String,
    /// The SVG element.
    pub svg: String,
}

/// The page: `title` and `reason` at the top, the pictures (one printed page each), then
/// the text report and the JSON document, collapsed.
pub fn page(
    title: &str,
    reason: &str,
    class: &str,
    pictures: &[Picture],
    text: &str,
    json: &str,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "<!DOCTYPE html>");
    let _ = writeln!(o, "<html lang=\"en\">");
    let _ = writeln!(o, "<head>");
    let _ = writeln!(o, "<meta charset=\"utf-8\">");
    let _ = writeln!(
        o,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        escape(CSP)
    );
    let _ = writeln!(o, "<meta name=\"referrer\" content=\"no-referrer\">");
    let _ = writeln!(o, "<title>dane: {}</title>", escape(title));
    let _ = writeln!(o, "<style>\n{STYLE}</style>");
    let _ = writeln!(o, "</head>");
    let _ = writeln!(o, "<body>");
    let _ = writeln!(o, "<h1 class=\"{}\">{}</h1>", escape(class), escape(title));
    let _ = writeln!(o, "<p class=\"reason\">{}</p>", escape(reason));
    for p in pictures {
        let _ = writeln!(o, "<section class=\"picture\">");
        let _ = writeln!(o, "<h2>{}</h2>", escape(&p.title));
        let _ = writeln!(o, "{}", p.svg);
        let _ = writeln!(o, "</section>");
    }
    let _ = writeln!(
        o,
        "<details open>\n<summary>Report</summary>\n<pre>{}</pre>\n</details>",
        Escaped(text)
    );
    let _ = writeln!(
        o,
        "<details>\n<summary>JSON document</summary>\n<pre>{}</pre>\n</details>",
        Escaped(json)
    );
    let _ = writeln!(o, "</body>\n</html>");
    o
}

/// The page of `GET /` of `dane serve-metrics`: a form that asks `GET /report` for a
/// domain and a module (one of `modules`, the first the default). A plain HTML form: no
/// script is needed to use it.
pub fn form(modules: &[&str]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    );
    let _ = writeln!(
        o,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        escape(CSP)
    );
    let _ = writeln!(o, "<title>dane: check a domain</title>");
    let _ = writeln!(o, "<style>\n{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(o, "<h1>Check a domain with DANE</h1>");
    let _ = writeln!(o, "<form method=\"get\" action=\"/report\">");
    let _ = writeln!(
        o,
        "<label>Domain <input name=\"target\" required maxlength=\"253\" placeholder=\"example.com\"></label>"
    );
    let _ = writeln!(o, "<label>Service <select name=\"module\">");
    for m in modules {
        let _ = writeln!(o, "<option>{}</option>", escape(m));
    }
    let _ = writeln!(o, "</select></label>");
    let _ = writeln!(o, "<button type=\"submit\">Check</button>\n</form>");
    let _ = writeln!(
        o,
        "<p>The report is one HTML file (the picture of the check, the text and the JSON document): save it to attach it to a ticket. Metrics: <code>/probe?target=DOMAIN</code>, <code>/metrics</code>.</p>"
    );
    let _ = writeln!(o, "</body>\n</html>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_cannot_become_markup() {
        let p = page(
            "<script>x</script>",
            "a & b",
            "failed",
            &[],
            "</pre><img src=x>",
            "{\"a\":\"<\"}",
        );
        assert!(!p.contains("<script>"), "{p}");
        assert!(!p.contains("<img"), "{p}");
        assert!(p.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(p.contains(&escape(CSP)));
        assert_eq!(
            escape("a<b>&\"c'\u{e9}"),
            "a&lt;b&gt;&amp;&quot;c&#39;\u{e9}"
        );
        assert_eq!(escape(""), "");
    }

    #[test]
    fn the_form_asks_for_a_report_without_script() {
        let f = form(&["smtp", "https"]);
        assert!(f.contains("<form method=\"get\" action=\"/report\">"));
        assert!(f.contains("<option>smtp</option>") && f.contains("name=\"target\""));
        assert!(!f.contains("<script") && !f.contains("src="));
    }
}
