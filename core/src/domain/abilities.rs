//! Token abilities (contract §4): what a token may do, within what its owner's role allows.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ability {
    TicketsRead,
    TicketsWrite,
    TicketsDelete,
    Admin,
}

impl Ability {
    pub fn as_str(self) -> &'static str {
        match self {
            Ability::TicketsRead => "tickets:read",
            Ability::TicketsWrite => "tickets:write",
            Ability::TicketsDelete => "tickets:delete",
            Ability::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Ability> {
        [
            Ability::TicketsRead,
            Ability::TicketsWrite,
            Ability::TicketsDelete,
            Ability::Admin,
        ]
        .into_iter()
        .find(|a| a.as_str() == text)
    }

    fn bit(self) -> u8 {
        match self {
            Ability::TicketsRead => 1,
            Ability::TicketsWrite => 2,
            Ability::TicketsDelete => 4,
            Ability::Admin => 8,
        }
    }
}

impl fmt::Display for Ability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The names a token may be given: the abilities, `*` (all) and the alias `agent`.
pub const ABILITY_NAMES: [&str; 6] = [
    "tickets:read",
    "tickets:write",
    "tickets:delete",
    "admin",
    "*",
    "agent",
];

/// What a token's list of ability names grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AbilitySet(u8);

impl AbilitySet {
    /// Expands names (`*`, the `agent` alias); `Err` carries the first unknown name.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<AbilitySet, String> {
        let mut bits = 0u8;
        for name in names {
            bits |= match name.as_ref() {
                "*" => 0xF,
                "agent" => Ability::TicketsRead.bit() | Ability::TicketsWrite.bit(),
                other => match Ability::parse(other) {
                    Some(a) => a.bit(),
                    None => return Err(other.to_string()),
                },
            };
        }
        Ok(AbilitySet(bits))
    }

    pub fn allows(self, ability: Ability) -> bool {
        self.0 & ability.bit() != 0
    }
}

/// Parses a stored or submitted list into clean names: trimmed, known, without repeats, in the
/// order given.
pub fn normalize_names<S: AsRef<str>>(names: &[S]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let name = name.as_ref().trim();
        if !ABILITY_NAMES.contains(&name) {
            return Err(name.to_string());
        }
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_alias_is_read_and_write() {
        let set = AbilitySet::from_names(&["agent"]).unwrap();
        assert!(set.allows(Ability::TicketsRead) && set.allows(Ability::TicketsWrite));
        assert!(!set.allows(Ability::TicketsDelete) && !set.allows(Ability::Admin));
    }

    #[test]
    fn star_is_everything() {
        let set = AbilitySet::from_names(&["*"]).unwrap();
        assert!(set.allows(Ability::Admin) && set.allows(Ability::TicketsDelete));
    }

    #[test]
    fn unknown_names_are_refused() {
        assert_eq!(
            AbilitySet::from_names(&["tickets:read", "root"]),
            Err("root".to_string())
        );
    }
}
