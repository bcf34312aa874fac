//! Trimming a reply to what its author wrote: the quoted history below it and the usual
//! signatures go. A new ticket keeps everything (a forwarded message is its content).

/// The line our notifications put above the quoted text; anything below it is history.
pub const REPLY_ABOVE: &str = "-- Reply above this line --";

/// The reply without the quoted history and signature; the whole text again when trimming
/// would leave nothing (a reply written below the quote).
pub fn reply(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate() {
        if starts_history(&lines, i) || is_signature(line) {
            end = i;
            break;
        }
    }
    let kept: Vec<&str> = lines[..end]
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with('>'))
        .collect();
    let trimmed = kept.join("\n").trim().to_string();
    if trimmed.is_empty() {
        text.trim().to_string()
    } else {
        trimmed
    }
}

/// The text of a new ticket: only a signature delimiter (`-- `) ends it.
pub fn new_ticket(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let end = text.lines().position(|l| l == "-- ").unwrap_or(usize::MAX);
    text.lines()
        .take(end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// Whether line `i` starts the quoted history of a reply.
fn starts_history(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    let lower = line.to_lowercase();
    if line.contains(REPLY_ABOVE)
        || lower.starts_with("-----original message-----")
        || lower.starts_with("----- original message -----")
        || (line.len() >= 10 && line.chars().all(|c| c == '_'))
    {
        return true;
    }
    // "On Tue, 1 Dec 2026, Ann <ann@example.com> wrote:", possibly wrapped over two lines.
    if lower.starts_with("on ") {
        if lower.ends_with("wrote:") {
            return true;
        }
        if let Some(next) = lines.get(i + 1)
            && next.trim().to_lowercase().ends_with("wrote:")
        {
            return true;
        }
    }
    // Outlook's header block: "From: ..." followed within a few lines by "Sent:" or "Date:".
    if lower.starts_with("from:") {
        return lines[i + 1..].iter().take(4).any(|l| {
            let l = l.trim().to_lowercase();
            l.starts_with("sent:") || l.starts_with("date:")
        });
    }
    false
}

fn is_signature(line: &str) -> bool {
    let lower = line.trim().to_lowercase();
    line == "-- "
        || line == "--"
        || lower.starts_with("sent from my ")
        || lower.starts_with("get outlook for ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_quoted_history_and_signature() {
        let text = "Thanks, that worked.\n\nAnn\n-- \nAnn Example\nACME\n\nOn Tue, 1 Dec 2026 at 10:00, Support <s@x> wrote:\n> Try turning it off.\n";
        assert_eq!(reply(text), "Thanks, that worked.\n\nAnn");
    }

    #[test]
    fn wrapped_attribution_and_outlook_blocks_start_history() {
        assert_eq!(
            reply("Yes.\nOn Tue, 1 Dec 2026 at 10:00, Support\n<s@x> wrote:\n> old"),
            "Yes."
        );
        assert_eq!(
            reply("Fine.\n\nFrom: Support <s@x>\nSent: Tuesday\nTo: me\nSubject: x\n\nold"),
            "Fine."
        );
        assert_eq!(reply("Ok\nSent from my iPhone"), "Ok");
    }

    #[test]
    fn a_reply_that_is_all_quote_is_kept_whole() {
        assert_eq!(reply("> only a quote"), "> only a quote");
    }

    #[test]
    fn a_new_ticket_keeps_forwarded_text() {
        let text = "FYI\n\n---------- Forwarded message ---------\nFrom: Bob <b@x>\nDate: Mon\n\nThe server is down.\n-- \nsig";
        assert_eq!(
            new_ticket(text),
            "FYI\n\n---------- Forwarded message ---------\nFrom: Bob <b@x>\nDate: Mon\n\nThe server is down."
        );
    }
}
