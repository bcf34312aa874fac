//! Notification templates: files admins can override (`email.templates_dir`), with built-in
//! defaults. A text template (`.txt`) is a `Subject:` line, a blank line and the body; an HTML
//! template (`.html`) is the HTML part's document. `{{name}}` is replaced by that value
//! (unknown names are left as written); in HTML every value is escaped first (and its line
//! breaks become `<br>`), so ticket content can never be markup. The ticket reference is added
//! to a subject that does not name it, since answers thread by it.

use std::path::Path;

/// The kinds of notification, each with its template file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    TicketCreated,
    AgentReply,
    Assigned,
}

impl Template {
    /// The `kind` of the delivery log, and the template's file name without `.txt`/`.html`.
    pub fn as_str(self) -> &'static str {
        match self {
            Template::TicketCreated => "ticket_created",
            Template::AgentReply => "agent_reply",
            Template::Assigned => "assigned",
        }
    }

    fn builtin(self, format: Format) -> &'static str {
        match (self, format) {
            (Template::TicketCreated, Format::Text) => include_str!("templates/ticket_created.txt"),
            (Template::AgentReply, Format::Text) => include_str!("templates/agent_reply.txt"),
            (Template::Assigned, Format::Text) => include_str!("templates/assigned.txt"),
            (Template::TicketCreated, Format::Html) => {
                include_str!("templates/ticket_created.html")
            }
            (Template::AgentReply, Format::Html) => include_str!("templates/agent_reply.html"),
            (Template::Assigned, Format::Html) => include_str!("templates/assigned.html"),
        }
    }

    /// The admin's file in `dir` if there is one, else the built-in one.
    fn source(self, dir: &str, format: Format) -> String {
        if !dir.is_empty() {
            let extension = match format {
                Format::Text => "txt",
                Format::Html => "html",
            };
            let path = Path::new(dir).join(format!("{}.{extension}", self.as_str()));
            match std::fs::read_to_string(&path) {
                Ok(text) => return text,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => tracing::warn!(
                    path = %path.display(),
                    error = %err,
                    "cannot read an email template; using the built-in one"
                ),
            }
        }
        self.builtin(format).to_string()
    }
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Text,
    Html,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    /// The text part.
    pub body: String,
    /// The HTML part.
    pub html: String,
}

/// Renders `template` with `values`; the subject always names `reference`.
pub fn render(template: Template, dir: &str, reference: &str, values: &[(&str, &str)]) -> Rendered {
    let source = template.source(dir, Format::Text).replace("\r\n", "\n");
    let (subject, body) = match source.split_once('\n') {
        Some((first, rest)) if first.to_ascii_lowercase().starts_with("subject:") => (
            first["subject:".len()..].trim().to_string(),
            rest.trim_start_matches('\n'),
        ),
        _ => ("{{subject}}".to_string(), source.as_str()),
    };
    let fill = |text: &str| fill(text, values);
    // A subject is one line, whatever the values hold.
    let mut subject = fill(&subject).replace(['\r', '\n'], " ");
    if !subject.contains(&format!("[{reference}]")) {
        subject = format!("{subject} [{reference}]");
    }
    let escaped: Vec<(&str, String)> = values
        .iter()
        .map(|(name, value)| (*name, escape_html(value).replace('\n', "<br>\n")))
        .collect();
    let escaped: Vec<(&str, &str)> = escaped.iter().map(|(n, v)| (*n, v.as_str())).collect();
    Rendered {
        subject,
        body: fill(body),
        html: self::fill(&template.source(dir, Format::Html), &escaped),
    }
}

/// `text` as HTML text: the five characters that could start markup or end an attribute are
/// written as entities; carriage returns go (line breaks are the caller's).
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// One pass over `text`, so a value that itself holds `{{...}}` is left as written.
fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").and_then(|end| {
            let name = after[..end].trim();
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (end, *v))
        }) {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_values_and_keeps_the_reference_in_the_subject() {
        let out = render(
            Template::AgentReply,
            "",
            "ESC-00042",
            &[
                ("subject", "Printer\njammed"),
                ("reference", "ESC-00042"),
                ("author_name", "Bo"),
                ("body", "Try again."),
            ],
        );
        assert_eq!(out.subject, "Re: Printer jammed [ESC-00042]");
        assert!(
            out.body
                .contains("Bo wrote on ticket ESC-00042:\n\nTry again.")
        );
    }

    #[test]
    fn html_values_are_escaped_and_keep_their_lines() {
        let out = render(
            Template::AgentReply,
            "",
            "ESC-1",
            &[
                ("author_name", "<b>Bo</b>"),
                ("body", "a < b & \"c\"\r\n<script>x</script>\n{{reference}}"),
                ("reference", "ESC-1"),
            ],
        );
        assert!(
            out.html.contains("<strong>&lt;b&gt;Bo&lt;/b&gt;</strong>"),
            "{}",
            out.html
        );
        assert!(
            out.html.contains(
                "a &lt; b &amp; &quot;c&quot;<br>\n&lt;script&gt;x&lt;/script&gt;<br>\n{{reference}}"
            ),
            "{}",
            out.html
        );
        assert!(!out.html.contains("<script>"));
    }

    #[test]
    fn a_file_in_the_folder_overrides_the_builtin() {
        let dir = std::env::temp_dir().join(format!("esc-tpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("assigned.txt"),
            "Subject: Yours: {{subject}}\n\nGo, {{recipient_name}}!",
        )
        .unwrap();
        std::fs::write(dir.join("assigned.html"), "<p>Go, {{recipient_name}}!</p>").unwrap();
        let out = render(
            Template::Assigned,
            dir.to_str().unwrap(),
            "ESC-7",
            &[("subject", "Hi"), ("recipient_name", "A&l")],
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(out.subject, "Yours: Hi [ESC-7]");
        assert_eq!(out.body, "Go, A&l!");
        assert_eq!(out.html, "<p>Go, A&amp;l!</p>");
    }
}
