//! The settings every ticket change is judged by: which status may follow which
//! (`tickets.transitions` over the contract's table) and whether the SLA clock stops while a
//! ticket waits on the customer (`sla.pause_while_waiting_on_customer`). One value per server,
//! in the application state, handed to the operations that change tickets; tests build their
//! own per test server.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use super::{Status, status};

#[derive(Debug, Clone)]
pub struct TicketRules {
    /// The statuses each status may move to: the configured table where it names the status,
    /// the contract's elsewhere.
    transitions: Arc<HashMap<Status, Vec<Status>>>,
    /// Whether the SLA clock stops while a ticket waits on the customer.
    pub pause_sla_while_waiting: bool,
}

impl Default for TicketRules {
    /// The contract's rules.
    fn default() -> Self {
        TicketRules {
            transitions: Arc::new(
                Status::ALL
                    .into_iter()
                    .map(|s| (s, s.contract_transitions().to_vec()))
                    .collect(),
            ),
            pause_sla_while_waiting: true,
        }
    }
}

impl TicketRules {
    /// The rules of the settings: `transitions` as in `tickets.transitions` (checked; `Err`
    /// names the offending key and why) and `pause_sla_while_waiting`.
    pub fn new(
        transitions: &BTreeMap<String, Vec<String>>,
        pause_sla_while_waiting: bool,
    ) -> Result<TicketRules, (String, String)> {
        let mut rules = TicketRules {
            pause_sla_while_waiting,
            ..TicketRules::default()
        };
        let table = Arc::make_mut(&mut rules.transitions);
        table.extend(status::parse_table(transitions)?);
        Ok(rules)
    }

    /// The statuses `from` may move to.
    pub fn transitions(&self, from: Status) -> &[Status] {
        self.transitions.get(&from).map_or(&[], Vec::as_slice)
    }

    pub fn allows(&self, from: Status, to: Status) -> bool {
        self.transitions(from).contains(&to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_only_reopens() {
        let rules = TicketRules::default();
        assert_eq!(rules.transitions(Status::Closed), &[Status::Reopened]);
        assert!(!rules.allows(Status::Closed, Status::Open));
    }

    #[test]
    fn no_status_transitions_to_itself() {
        let rules = TicketRules::default();
        for s in Status::ALL {
            assert!(!rules.allows(s, s), "{s}");
        }
    }

    #[test]
    fn a_configured_status_replaces_its_row_and_leaves_the_others() {
        let table = BTreeMap::from([("closed".to_string(), vec!["open".to_string()])]);
        let rules = TicketRules::new(&table, false).unwrap();
        assert_eq!(rules.transitions(Status::Closed), &[Status::Open]);
        assert_eq!(
            rules.transitions(Status::Resolved),
            TicketRules::default().transitions(Status::Resolved)
        );
        assert!(!rules.pause_sla_while_waiting);
        // Two servers in one process keep their own rules.
        assert_eq!(
            TicketRules::default().transitions(Status::Closed),
            &[Status::Reopened]
        );
    }

    #[test]
    fn an_unknown_status_is_refused_naming_the_key() {
        let table = BTreeMap::from([("done".to_string(), vec!["open".to_string()])]);
        let (key, _) = TicketRules::new(&table, true).unwrap_err();
        assert_eq!(key, "tickets.transitions.done");
    }
}
