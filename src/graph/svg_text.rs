//! Text for an SVG drawn without a font: SVG text is laid out by whoever views it, so titles
//! and figures are written as plain `<text>` elements.

/// Escapes text for SVG content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Adds `<text>` elements (x, y, size, text) just before `</svg>`.
pub fn insert(svg: &mut String, texts: &[(i32, i32, u32, String)]) {
    let mut add = String::new();
    for (x, y, size, t) in texts {
        add.push_str(&format!(
            "<text x=\"{x}\" y=\"{y}\" font-family=\"sans-serif\" font-size=\"{size}\" fill=\"#222\">{}</text>\n",
            escape(t)
        ));
    }
    match svg.rfind("</svg>") {
        Some(at) => svg.insert_str(at, &add),
        None => svg.push_str(&add),
    }
}
