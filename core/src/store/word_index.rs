//! The search index kept in memory: for each word of the tickets' subjects and descriptions,
//! the tickets it is in, as a compressed bitmap (`roaring`), beside the same kind of sets for
//! the columns a search is most often narrowed by (status, priority, department, type) and for
//! the live tickets. A search's exact total, and the plan of its page, then take a few set
//! operations, where the full-text engines read every matching row: seconds for a common word
//! at a million tickets (docs/performance.md, "Search").
//!
//! It is built from the tickets table when the server starts ([`WordIndex::build`]) and kept
//! in step through the change sequence, as the change feed is: before each lookup it reads the
//! tickets changed after the last change it holds (usually none: one indexed query), so it
//! answers as the database does after every commit, whichever node made it. Until it is built,
//! and when it is turned off (`tickets.search_index`), lookups answer `None` and the database
//! answers the search.
//!
//! Words are cut as `domain::tickets::search` cuts a search (runs of letters, digits and `_`,
//! lower-cased), with accents folded as both databases' full-text engines fold them, and kept
//! to their first [`KEPT_CHARS`] characters: a search word is at most that long and matches as
//! a prefix, so the rest of a longer word never decides a match.

use std::{
    collections::{BTreeMap, HashMap},
    hash::{Hash, Hasher},
    ops::Bound,
    sync::{
        RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use roaring::RoaringBitmap;
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

use super::{
    Store,
    tickets::{self, SearchedRow, TicketFilter},
};
use crate::error::Result;

/// Characters of a word the index keeps (the longest search word).
pub const KEPT_CHARS: usize = 32;

/// Tickets read per statement while building and catching up.
const BATCH: i64 = 2000;

/// The runs of letters, digits and `_` in `text`: its words as typed.
pub fn split(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// The words of `text` as the index keeps them: lower-cased, accents folded, each cut to
/// [`KEPT_CHARS`] characters.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    split(text).map(fold)
}

/// `word` lower-cased, without accents (`Crème` → `creme`), cut to [`KEPT_CHARS`] characters.
pub fn fold(word: &str) -> String {
    word.to_lowercase()
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .take(KEPT_CHARS)
        .collect()
}

/// What the index knows of a search: the live tickets its words match, narrowed by the
/// filters the index holds.
#[derive(Debug)]
pub struct Found {
    pub matches: RoaringBitmap,
    /// Whether the filter has no other condition, so `matches` is exactly the list.
    pub exact: bool,
    /// How many live tickets the filters the index holds keep, words aside.
    pub narrowed: u64,
    /// How many tickets are live.
    pub live: u64,
}

/// See the module's documentation; one per store, shared by its clones.
#[derive(Default)]
pub struct WordIndex {
    /// `None` until built (or after an id too large for it was met).
    state: RwLock<Option<Index>>,
    /// One catch-up at a time; it holds the number of the last one finished.
    catching_up: tokio::sync::Mutex<u64>,
    /// Catch-ups begun, numbered from 1.
    begun: AtomicU64,
}

impl WordIndex {
    /// Reads every ticket into a new index, then answers from it. Logs its progress.
    pub async fn build(&self, store: &Store) -> Result<()> {
        let started = Instant::now();
        let mut conn = store.conn().await?;
        // Changes after this point are read again by the first catch-up; a ticket the scan
        // already read in its new state is then put where it already is.
        let position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(change_seq), 0) FROM tickets")
            .fetch_one(&mut *conn)
            .await?;
        drop(conn);
        let mut index = Index {
            position,
            ..Index::default()
        };
        let (mut after, mut read) = (0, 0_u64);
        loop {
            let rows = tickets::searched_after_id(&mut *store.conn().await?, after, BATCH).await?;
            for row in &rows {
                if !index.apply(row) {
                    tracing::warn!(
                        id = row.id,
                        "a ticket id is too large for the search index; searches read the database"
                    );
                    return Ok(());
                }
            }
            read += rows.len() as u64;
            match rows.last() {
                Some(last) if rows.len() as i64 == BATCH => after = last.id,
                _ => break,
            }
            if read % 100_000 < BATCH as u64 && read >= 100_000 {
                tracing::info!(tickets = read, "building the search index");
            }
        }
        index.shrink();
        tracing::info!(
            tickets = read,
            words = index.words.len(),
            mib = index.bytes() as f64 / f64::from(1 << 20),
            ms = started.elapsed().as_millis() as u64,
            "the search index is built"
        );
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = Some(index);
        Ok(())
    }

    /// The live tickets that `words` (lower-case, each a prefix of a word) all match, narrowed
    /// by what of `filter` the index holds; `None` when the index is not built.
    pub async fn find(
        &self,
        store: &Store,
        words: &[String],
        filter: &TicketFilter,
    ) -> Result<Option<Found>> {
        if !self.catch_up(store).await? {
            return Ok(None);
        }
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        Ok(state.as_ref().map(|index| index.find(words, filter)))
    }

    /// Whether it has been built (and searches are answered from it).
    pub fn is_built(&self) -> bool {
        self.position().is_some()
    }

    /// How many tickets it holds (deleted ones too); `None` until built.
    pub fn tickets(&self) -> Option<u64> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state.as_ref().map(|index| index.tickets)
    }

    fn position(&self) -> Option<i64> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state.as_ref().map(|index| index.position)
    }

    /// Applies the tickets changed since the index's last change; `false` when it is not built.
    ///
    /// A catch-up that begins after a lookup arrives reads every change committed before it;
    /// one already under way may have read too early. So a lookup waits for the next one to
    /// begin and shares it with every lookup that arrived meanwhile: concurrent lookups read the
    /// changes once or twice, not once each in turn (on MariaDB a round trip each, which queued
    /// every search behind the others).
    async fn catch_up(&self, store: &Store) -> Result<bool> {
        let served_by = self.begun.load(Ordering::Acquire) + 1;
        let mut finished = self.catching_up.lock().await;
        if *finished >= served_by {
            return Ok(self.is_built());
        }
        let this = self.begun.fetch_add(1, Ordering::AcqRel) + 1;
        let Some(mut position) = self.position() else {
            return Ok(false);
        };
        loop {
            let rows =
                tickets::searched_changed_after(&mut *store.conn().await?, position, BATCH).await?;
            let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
            let Some(index) = state.as_mut() else {
                return Ok(false);
            };
            if !rows.iter().all(|row| index.apply(row)) {
                tracing::warn!(
                    "a ticket id is too large for the search index; searches read the database"
                );
                *state = None;
                return Ok(false);
            }
            if let Some(last) = rows.last() {
                position = last.change_seq;
                index.position = position;
            }
            if (rows.len() as i64) < BATCH {
                *finished = this;
                return Ok(true);
            }
        }
    }
}

#[derive(Default)]
struct Index {
    /// The last change applied.
    position: i64,
    /// Tickets held.
    tickets: u64,
    words: BTreeMap<Box<str>, RoaringBitmap>,
    /// A hash of each ticket's subject and description (by id; 0: not indexed yet), to tell a
    /// change of text, which is rare, from a change of status, which is not.
    texts: Vec<u32>,
    live: RoaringBitmap,
    status: HashMap<String, RoaringBitmap>,
    priority: HashMap<i64, RoaringBitmap>,
    department: HashMap<Option<i64>, RoaringBitmap>,
    ticket_type: HashMap<String, RoaringBitmap>,
}

impl Index {
    /// Puts the ticket where its row says; `false` when its id does not fit a bitmap.
    fn apply(&mut self, t: &SearchedRow) -> bool {
        let Ok(id) = u32::try_from(t.id) else {
            return false;
        };
        let slot = id as usize;
        if self.texts.len() <= slot {
            // Grown a step at a time, not doubled: at a million tickets that would be 4 MiB
            // held for nothing.
            self.texts
                .reserve_exact((slot + 1 - self.texts.len()).max(1 << 16));
            self.texts.resize(slot + 1, 0);
        }
        let text = text_hash(&t.subject, &t.description);
        if self.texts[slot] != text {
            if self.texts[slot] == 0 {
                self.tickets += 1;
            } else {
                // The old words are not kept: the ticket leaves every word, then joins its own.
                for tickets in self.words.values_mut() {
                    tickets.remove(id);
                }
            }
            for word in words(&t.subject).chain(words(&t.description)) {
                match self.words.get_mut(word.as_str()) {
                    Some(tickets) => {
                        tickets.insert(id);
                    }
                    None => {
                        self.words
                            .insert(word.into_boxed_str(), RoaringBitmap::from_iter([id]));
                    }
                }
            }
            self.texts[slot] = text;
        }
        move_to(&mut self.status, t.status.clone(), id);
        move_to(&mut self.priority, t.priority, id);
        move_to(&mut self.department, t.department_id, id);
        move_to(&mut self.ticket_type, t.ticket_type.clone(), id);
        if t.deleted_at.is_none() {
            self.live.insert(id);
        } else {
            self.live.remove(id);
        }
        true
    }

    /// Gives back what the word sets grew into but do not hold, once built: a set grows its
    /// lists of ids by doubling, and a copy is allocated to its length.
    fn shrink(&mut self) {
        for set in self.words.values_mut() {
            *set = set.clone();
        }
    }

    /// About how much memory it holds: the sets as stored, the words and the text hashes.
    fn bytes(&self) -> usize {
        let sets = |column: &mut dyn Iterator<Item = &RoaringBitmap>| -> usize {
            column.map(RoaringBitmap::serialized_size).sum()
        };
        sets(&mut self.words.values())
            + self.words.keys().map(|w| w.len()).sum::<usize>()
            + sets(&mut self.status.values())
            + sets(&mut self.priority.values())
            + sets(&mut self.department.values())
            + sets(&mut self.ticket_type.values())
            + self.live.serialized_size()
            + self.texts.capacity() * 4
    }

    fn find(&self, words: &[String], filter: &TicketFilter) -> Found {
        let mut narrowed = self.live.clone();
        let sets = [
            filter.status.as_ref().map(|s| self.status.get(s)),
            filter.priority.map(|p| self.priority.get(&p)),
            filter.department_id.map(|d| self.department.get(&Some(d))),
            filter.ticket_type.as_ref().map(|t| self.ticket_type.get(t)),
        ];
        for set in sets.into_iter().flatten() {
            match set {
                Some(set) => narrowed &= set,
                None => narrowed.clear(),
            }
        }
        let mut matches = narrowed.clone();
        for word in words {
            matches &= self.with_prefix(&fold(word));
        }
        let rest = TicketFilter {
            status: None,
            priority: None,
            department_id: None,
            ticket_type: None,
            search: None,
            ..filter.clone()
        };
        Found {
            matches,
            exact: rest == TicketFilter::default(),
            narrowed: narrowed.len(),
            live: self.live.len(),
        }
    }

    /// The tickets with a word that begins with `prefix`.
    fn with_prefix(&self, prefix: &str) -> RoaringBitmap {
        let mut found = RoaringBitmap::new();
        let from: (Bound<&str>, Bound<&str>) = (Bound::Included(prefix), Bound::Unbounded);
        for (_, tickets) in self
            .words
            .range::<str, _>(from)
            .take_while(|(word, _)| word.starts_with(prefix))
        {
            found |= tickets;
        }
        found
    }
}

/// Moves `id` to the set of `value`, out of every other set of the column.
fn move_to<K: Hash + Eq>(column: &mut HashMap<K, RoaringBitmap>, value: K, id: u32) {
    for set in column.values_mut() {
        set.remove(id);
    }
    column.entry(value).or_default().insert(id);
}

/// A hash of a ticket's text, never 0 (which marks a ticket not yet indexed).
fn text_hash(subject: &str, description: &str) -> u32 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (subject, description).hash(&mut hasher);
    (hasher.finish() as u32).max(1)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::{Index, fold, words};
    use crate::store::tickets::{SearchedRow, TicketFilter};

    fn ticket(id: i64, subject: &str, status: &str, priority: i64) -> SearchedRow {
        SearchedRow {
            id,
            subject: subject.into(),
            description: "Sent from my phone".into(),
            status: status.into(),
            priority,
            ticket_type: "question".into(),
            department_id: None,
            deleted_at: None,
            change_seq: id,
        }
    }

    fn found(index: &Index, search: &str, filter: &TicketFilter) -> Vec<u32> {
        let words: Vec<String> = words(search).collect();
        index.find(&words, filter).matches.iter().collect()
    }

    /// Lookups that arrive together share the reads of the changes: the one begun as the first
    /// arrived, and one begun after the others queued, however many they are.
    #[tokio::test]
    async fn concurrent_lookups_share_a_catch_up() {
        let (store, _dir) = crate::store::scratch_store().await;
        store.migrate().await.unwrap();
        let index = store.word_index();
        index.build(&store).await.unwrap();
        let filter = TicketFilter::default();
        let words = vec!["printer".to_string()];
        let lookups = (0..20).map(|_| index.find(&store, &words, &filter));
        for found in futures::future::join_all(lookups).await {
            assert!(found.unwrap().is_some());
        }
        assert_eq!(index.begun.load(Ordering::Acquire), 2);
    }

    #[test]
    fn words_are_cut_lower_cased_and_folded_like_the_search() {
        let cut: Vec<String> = words("Crème brûlée: PRINTER_2 on fire!").collect();
        assert_eq!(cut, ["creme", "brulee", "printer_2", "on", "fire"]);
        assert_eq!(fold(&"x".repeat(40)).len(), 32);
    }

    #[test]
    fn every_word_must_begin_a_word_of_the_ticket() {
        let mut index = Index::default();
        index.apply(&ticket(1, "Printer on fire", "open", 2));
        index.apply(&ticket(2, "Printing invoices", "open", 2));
        index.apply(&ticket(3, "Fire drill", "open", 2));
        let all = TicketFilter::default();
        assert_eq!(found(&index, "print", &all), [1, 2]);
        assert_eq!(found(&index, "print fire", &all), [1]);
        assert_eq!(found(&index, "rinter", &all), Vec::<u32>::new());
        assert_eq!(found(&index, "PHONE", &all), [1, 2, 3], "the description");
    }

    #[test]
    fn a_changed_ticket_moves_between_filters_and_words() {
        let mut index = Index::default();
        index.apply(&ticket(1, "Printer on fire", "open", 2));
        let open = TicketFilter {
            status: Some("open".into()),
            ..TicketFilter::default()
        };
        assert_eq!(found(&index, "printer", &open), [1]);
        index.apply(&ticket(1, "Printer on fire", "closed", 2));
        assert!(found(&index, "printer", &open).is_empty());
        index.apply(&ticket(1, "Scanner jammed", "open", 2));
        assert!(
            found(&index, "printer", &open).is_empty(),
            "the old words go"
        );
        assert_eq!(found(&index, "scanner", &open), [1]);
        let mut deleted = ticket(1, "Scanner jammed", "open", 2);
        deleted.deleted_at = Some(5);
        index.apply(&deleted);
        assert!(found(&index, "scanner", &TicketFilter::default()).is_empty());
    }

    #[test]
    fn only_the_filters_it_holds_make_an_exact_answer() {
        let mut index = Index::default();
        index.apply(&ticket(1, "Printer", "open", 2));
        index.apply(&ticket(2, "Printer", "open", 3));
        let words = vec!["printer".to_string()];
        let high = TicketFilter {
            priority: Some(3),
            status: Some("open".into()),
            ..TicketFilter::default()
        };
        let found = index.find(&words, &high);
        assert!(found.exact);
        assert_eq!((found.matches.len(), found.narrowed), (1, 1));
        let assigned = TicketFilter {
            assignee_id: Some(7),
            ..TicketFilter::default()
        };
        assert!(!index.find(&words, &assigned).exact);
        let unknown = TicketFilter {
            status: Some("pending".into()),
            ..TicketFilter::default()
        };
        assert_eq!(index.find(&words, &unknown).matches.len(), 0);
    }
}
