//! What `search` on the ticket list means, decided once for both databases.
//!
//! The text is cut into words: runs of letters, digits and `_` (the characters InnoDB's
//! full-text parser keeps in a word; SQLite's FTS5 table is told the same), lower-cased. Every
//! word must begin a word of the subject or the description (`print` finds "printer"), through
//! the full-text index. MariaDB's index leaves out words shorter than 3 characters and its
//! stopwords, so a search for them could never match there; such words are left out of the
//! match on both databases, and when no other word is left, each of them must occur in the
//! subject instead (a LIKE over the subject, the one short column). A text shaped like a ticket
//! reference (`ESC-00042`, any case) also finds that ticket by its reference.
//!
//! Nothing here is SQL: the store turns a [`TicketSearch`] into each database's query syntax
//! from these sanitised words only, so no operator a user types can reach the full-text engine.

use crate::{
    error::{Error, Result},
    store::tickets::TicketSearch,
};

/// Longest search text, in characters.
pub const MAX_SEARCH: usize = 255;
/// Most words in a search: each costs the full-text engine one more posting list.
pub const MAX_WORDS: usize = 8;
/// Longer words are cut to this many characters; the cut word still matches as a prefix.
pub const MAX_WORD_CHARS: usize = 32;
/// MariaDB's `innodb_ft_min_token_size` default: shorter words are not in its index.
pub const MIN_INDEXED_CHARS: usize = 3;

/// InnoDB's default stopwords (`information_schema.INNODB_FT_DEFAULT_STOPWORD`): words its
/// full-text index leaves out, so they cannot be required in a match.
const STOPWORDS: [&str; 35] = [
    "a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for", "from", "how",
    "i", "in", "is", "it", "la", "of", "on", "or", "that", "the", "this", "to", "was", "what",
    "when", "where", "who", "will", "with", "und", "www",
];

/// The search of `text` (already trimmed, not empty), or a 422 on `search`.
pub fn parse(text: &str) -> Result<TicketSearch> {
    if text.chars().count() > MAX_SEARCH {
        return Err(Error::field(
            "search",
            crate::domain::validate::too_long("search", MAX_SEARCH),
        ));
    }
    let words = words(text);
    if words.len() > MAX_WORDS {
        return Err(Error::field(
            "search",
            format!("The search may not have more than {MAX_WORDS} words."),
        ));
    }
    let (indexed, unindexed): (Vec<String>, Vec<String>) =
        words.into_iter().partition(|w| is_indexed(w));
    let subject_patterns = if indexed.is_empty() {
        unindexed.iter().map(|w| like_pattern(w)).collect()
    } else {
        Vec::new()
    };
    Ok(TicketSearch {
        words: indexed,
        subject_patterns,
        references: reference_spellings(text),
    })
}

/// The lower-cased words of `text`, each at most [`MAX_WORD_CHARS`] long.
fn words(text: &str) -> Vec<String> {
    crate::store::word_index::split(text)
        .map(|w| {
            w.chars()
                .take(MAX_WORD_CHARS)
                .collect::<String>()
                .to_lowercase()
        })
        .collect()
}

/// `%text%` for LIKE, with `!` escaping the pattern characters (the statement says `ESCAPE '!'`).
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '!' | '%' | '_') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Whether MariaDB's full-text index holds `word` (so requiring it can match at all).
fn is_indexed(word: &str) -> bool {
    word.chars().count() >= MIN_INDEXED_CHARS && !STOPWORDS.contains(&word)
}

/// When `text` has the shape of a reference (`{prefix}-{digits}`, the prefix 1 to 10 ASCII
/// letters or digits as config allows), the spellings to look up: as typed, upper- and
/// lower-case. The reference column compares exactly (and is indexed that way), so this is
/// what makes `esc-00042` find `ESC-00042`.
fn reference_spellings(text: &str) -> Vec<String> {
    let Some((prefix, number)) = text.split_once('-') else {
        return Vec::new();
    };
    let shaped = (1..=10).contains(&prefix.len())
        && prefix.chars().all(|c| c.is_ascii_alphanumeric())
        && (1..=20).contains(&number.len())
        && number.chars().all(|c| c.is_ascii_digit());
    if !shaped {
        return Vec::new();
    }
    let mut spellings = vec![
        text.to_string(),
        text.to_ascii_uppercase(),
        text.to_ascii_lowercase(),
    ];
    spellings.sort();
    spellings.dedup();
    spellings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(text: &str) -> TicketSearch {
        parse(text).unwrap()
    }

    #[test]
    fn words_are_lower_cased_runs_of_letters_digits_and_underscores() {
        assert_eq!(
            search("\"Printer\"* NEAR(fire) -jam +foo_bar:x Café").words,
            ["printer", "near", "fire", "jam", "foo_bar", "café"]
        );
    }

    #[test]
    fn short_words_and_stopwords_leave_the_match_but_not_alone() {
        let s = search("the printer is on FIRE");
        assert_eq!(s.words, ["printer", "fire"]);
        assert!(s.subject_patterns.is_empty());
        let s = search("is it on");
        assert!(s.words.is_empty());
        assert_eq!(s.subject_patterns, ["%is%", "%it%", "%on%"]);
    }

    #[test]
    fn long_words_are_cut_and_many_words_refused() {
        assert_eq!(search(&"x".repeat(40)).words, ["x".repeat(MAX_WORD_CHARS)]);
        assert!(parse("one two three four five six seven eight").is_ok());
        assert!(parse("one two three four five six seven eight nine").is_err());
        assert!(parse(&"x".repeat(MAX_SEARCH + 1)).is_err());
    }

    #[test]
    fn only_reference_shapes_look_up_references() {
        assert_eq!(search("esc-00042").references, ["ESC-00042", "esc-00042"]);
        assert_eq!(search("Esc-1").references, ["ESC-1", "Esc-1", "esc-1"]);
        for text in [
            "printer",
            "esc-",
            "-42",
            "esc-42x",
            "a b-1",
            "toolongprefix-1",
        ] {
            assert!(search(text).references.is_empty(), "{text}");
        }
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off!"), "%50!%!_off!!%");
    }

    #[test]
    fn no_words_match_nothing() {
        let s = search("*** \"\" ---");
        assert!(s.words.is_empty() && s.subject_patterns.is_empty() && s.references.is_empty());
    }
}
