//! The header of a script file: its leading `//` comment lines. A line `// key: value` (the
//! key in lower case, `a-z` and `_`) sets a field; any other comment line is prose. The header
//! ends at the first line that is not a `//` comment (a blank line too).
//!
//! ```text
//! // name: Close as duplicate
//! // description: Closes the ticket as a duplicate of an earlier one.
//! //
//! // Prose about what the script does, for people.
//! ```

use std::fmt;

use crate::error::Error;

/// Why a file was skipped: the problem, and the line of the file it is on when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub line: Option<usize>,
    pub problem: String,
}

impl FileError {
    pub fn at(line: usize, problem: impl Into<String>) -> FileError {
        FileError {
            line: Some(line),
            problem: problem.into(),
        }
    }

    pub fn whole(problem: impl Into<String>) -> FileError {
        FileError {
            line: None,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

#[derive(Debug)]
struct Field {
    key: String,
    value: String,
    /// 1-based line of the file.
    line: usize,
}

/// The fields of a header, each once, each one of the keys its kind of script knows.
#[derive(Debug)]
pub struct Header {
    fields: Vec<Field>,
}

/// `key: value` when the comment text is a field line.
fn field(text: &str) -> Option<(&str, &str)> {
    let (key, value) = text.split_once(':')?;
    let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    is_key.then(|| (key, value.trim()))
}

impl Header {
    /// Reads the header of `source`; a key not in `known`, or given twice, is an error on its
    /// line.
    pub fn parse(source: &str, known: &[&str]) -> Result<Header, FileError> {
        let mut fields: Vec<Field> = Vec::new();
        for (index, line) in source.lines().enumerate() {
            let Some(text) = line.trim_start().strip_prefix("//") else {
                break;
            };
            let Some((key, value)) = field(text.trim_start()) else {
                continue;
            };
            let line = index + 1;
            if !known.contains(&key) {
                return Err(FileError::at(
                    line,
                    format!(
                        "unknown header field '{key}' (this kind of script takes: {})",
                        known.join(", ")
                    ),
                ));
            }
            if fields.iter().any(|f| f.key == key) {
                return Err(FileError::at(
                    line,
                    format!("the header field '{key}' is given twice"),
                ));
            }
            fields.push(Field {
                key: key.to_string(),
                value: value.to_string(),
                line,
            });
        }
        Ok(Header { fields })
    }

    fn get(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The text of `key`, as written (the domain checks it like an API value).
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(|f| f.value.clone())
    }

    /// The whole number of `key`.
    pub fn integer(&self, key: &str) -> Result<Option<i64>, FileError> {
        self.get(key)
            .map(|f| {
                f.value.parse().map_err(|_| {
                    FileError::at(
                        f.line,
                        format!("{key}: '{}' is not a whole number", f.value),
                    )
                })
            })
            .transpose()
    }

    /// `true` or `false` for `key`.
    pub fn boolean(&self, key: &str) -> Result<Option<bool>, FileError> {
        self.get(key)
            .map(|f| match f.value.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(FileError::at(
                    f.line,
                    format!("{key}: '{other}' is not true or false"),
                )),
            })
            .transpose()
    }

    /// A refusal of the domain's checks, pointed at the header lines of the fields it names.
    /// The `key` of an action comes from the file name; a script's own errors carry their line
    /// and column.
    pub fn explain(&self, err: Error) -> FileError {
        let Error::Validation(errors) = err else {
            return FileError::whole(err.to_string());
        };
        let mut line = None;
        let mut problems = Vec::new();
        for (name, message) in errors.iter() {
            match (name.as_str(), self.get(name)) {
                ("key", _) => problems.push(format!("the file name: {message}")),
                ("script", _) => {
                    line = line.or_else(|| line_in(message));
                    problems.push(message.clone());
                }
                (_, Some(f)) => {
                    line = line.or(Some(f.line));
                    problems.push(format!("{name}: {message}"));
                }
                (_, None) => problems.push(format!("no header field '{name}': {message}")),
            }
        }
        FileError {
            line,
            problem: problems.join("; "),
        }
    }
}

/// The line a script error names (`... (line 3, column 9).`).
fn line_in(message: &str) -> Option<usize> {
    let (_, after) = message.rsplit_once("(line ")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: &[&str] = &["name", "order", "is_active"];

    #[test]
    fn fields_come_from_the_leading_comments_only() {
        let source = "// name: Close it\n//\n// Prose: Not a field.\n// order: 3\n\n// is_active: nope\nset_status(\"closed\");";
        let header = Header::parse(source, KNOWN).unwrap();
        assert_eq!(header.text("name").as_deref(), Some("Close it"));
        assert_eq!(header.integer("order"), Ok(Some(3)));
        // After the blank line: script, not header.
        assert_eq!(header.boolean("is_active"), Ok(None));
    }

    #[test]
    fn problems_name_their_line() {
        let err = Header::parse("// name: a\n// nmae: b\n", KNOWN).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.problem.contains("nmae"), "{err}");
        let err = Header::parse("// name: a\n// name: b\n", KNOWN).unwrap_err();
        assert_eq!(err.line, Some(2));
        let header = Header::parse("// name: a\n// order: soon\n", KNOWN).unwrap();
        assert_eq!(header.integer("order").unwrap_err().line, Some(2));
        let header = Header::parse("// is_active: yes\n", KNOWN).unwrap();
        assert_eq!(header.boolean("is_active").unwrap_err().line, Some(1));
    }

    #[test]
    fn domain_refusals_point_at_the_header() {
        let header = Header::parse("// order: 99999999\n", KNOWN).unwrap();
        let mut errors = crate::error::FieldErrors::new();
        errors.add("order", "too big");
        let explained = header.explain(Error::Validation(errors));
        assert_eq!(explained.line, Some(1));
        assert_eq!(explained.to_string(), "line 1: order: too big");
        let mut errors = crate::error::FieldErrors::new();
        errors.add(
            "script",
            "The script does not compile: Unexpected ';' (line 3, column 9).",
        );
        errors.add("name", "The name field is required.");
        let explained = header.explain(Error::Validation(errors));
        assert_eq!(explained.line, Some(3));
        assert!(
            explained.problem.contains("no header field 'name'"),
            "{explained}"
        );
    }
}
