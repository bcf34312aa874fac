//! Business hours of an SLA policy: a timezone, opening hours per weekday, and holidays. Checked
//! and stored here; counting time in them is [`crate::domain::business_time`]'s business.
//!
//! The JSON form (stored as is, and shown by the API):
//! `{"timezone": "Europe/Paris", "schedule": {"monday": ["09:00", "17:00"], ...},
//!   "holidays": ["2026-12-25"]}`. A day missing from `schedule` is closed.

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use crate::error::FieldErrors;

const MAX_HOLIDAYS: usize = 366;
const MAX_TIMEZONE: usize = 64;

const DAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

/// The hours one weekday is open, in minutes after midnight (`close` may be 1440, `24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenHours {
    pub day: Weekday,
    pub open: u32,
    pub close: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// An IANA timezone (`Europe/Paris`), known to the tz database chrono-tz carries.
    pub timezone: Tz,
    /// Open days, Monday first.
    pub schedule: Vec<OpenHours>,
    pub holidays: Vec<NaiveDate>,
}

/// `HH:MM`, 00:00 to 24:00, as minutes after midnight.
fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A timezone the tz database knows, by its IANA name (exactly as spelt there).
fn timezone(name: &str) -> Option<Tz> {
    (name.chars().count() <= MAX_TIMEZONE)
        .then(|| name.parse().ok())
        .flatten()
}

impl BusinessHours {
    /// Checks a client's object, recording problems under `field.*`.
    pub fn parse(errors: &mut FieldErrors, field: &str, value: &Value) -> Option<BusinessHours> {
        let Some(object) = value.as_object() else {
            errors.add(field, "The business hours must be an object.");
            return None;
        };
        let before = errors.iter().count();
        for key in object.keys() {
            if !matches!(key.as_str(), "timezone" | "schedule" | "holidays") {
                errors.add(format!("{field}.{key}"), "Unknown field.");
            }
        }
        let timezone = match object.get("timezone").and_then(Value::as_str) {
            Some(name) => timezone(name.trim()).unwrap_or_else(|| {
                errors.add(
                    format!("{field}.timezone"),
                    "Unknown timezone: use an IANA name like Europe/Paris.",
                );
                Tz::UTC
            }),
            None => {
                errors.add(
                    format!("{field}.timezone"),
                    "The timezone is required: an IANA name like Europe/Paris.",
                );
                Tz::UTC
            }
        };
        let schedule = Self::parse_schedule(errors, field, object.get("schedule"));
        let holidays = Self::parse_holidays(errors, field, object.get("holidays"));
        (errors.iter().count() == before).then_some(BusinessHours {
            timezone,
            schedule,
            holidays,
        })
    }

    fn parse_schedule(
        errors: &mut FieldErrors,
        field: &str,
        value: Option<&Value>,
    ) -> Vec<OpenHours> {
        let field = format!("{field}.schedule");
        let Some(days) = value.and_then(Value::as_object) else {
            errors.add(
                &field,
                "The schedule is required: an object of weekday to [\"09:00\", \"17:00\"].",
            );
            return Vec::new();
        };
        for key in days.keys() {
            if !DAYS.iter().any(|(name, _)| name == key) {
                errors.add(
                    format!("{field}.{key}"),
                    "Unknown weekday; use monday to sunday.",
                );
            }
        }
        let mut schedule = Vec::new();
        for (name, day) in DAYS {
            let Some(hours) = days.get(name) else {
                continue;
            };
            let pair = hours
                .as_array()
                .filter(|a| a.len() == 2)
                .and_then(|a| Some((minutes(a[0].as_str()?)?, minutes(a[1].as_str()?)?)));
            match pair {
                Some((open, close)) if open < close => {
                    schedule.push(OpenHours { day, open, close })
                }
                _ => errors.add(
                    format!("{field}.{name}"),
                    "Opening hours are [start, end] as \"HH:MM\" times, start before end.",
                ),
            }
        }
        if schedule.is_empty() {
            errors.add(&field, "The schedule must open on at least one day.");
        }
        schedule
    }

    fn parse_holidays(
        errors: &mut FieldErrors,
        field: &str,
        value: Option<&Value>,
    ) -> Vec<NaiveDate> {
        let field = format!("{field}.holidays");
        let items = match value {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_HOLIDAYS => items,
            Some(_) => {
                errors.add(
                    &field,
                    format!("The holidays must be a list of at most {MAX_HOLIDAYS} dates."),
                );
                return Vec::new();
            }
        };
        let mut holidays = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            {
                Some(date) => holidays.push(date),
                None => errors.add(
                    format!("{field}.{i}"),
                    "A holiday is a date like 2026-12-25.",
                ),
            }
        }
        holidays.sort_unstable();
        holidays.dedup();
        holidays
    }

    pub fn to_json(&self) -> Value {
        let mut schedule = Map::new();
        for hours in &self.schedule {
            let name = DAYS
                .iter()
                .find(|(_, d)| *d == hours.day)
                .map(|(n, _)| *n)
                .unwrap_or_default();
            schedule.insert(name.into(), json!([hhmm(hours.open), hhmm(hours.close)]));
        }
        let holidays: Vec<String> = self
            .holidays
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect();
        json!({ "timezone": self.timezone.name(), "schedule": schedule, "holidays": holidays })
    }

    /// Reads the stored form back (it was written by [`BusinessHours::to_json`]).
    pub fn from_stored(text: &str) -> anyhow::Result<BusinessHours> {
        let value: Value = serde_json::from_str(text)?;
        let mut errors = FieldErrors::new();
        BusinessHours::parse(&mut errors, "business_hours", &value)
            .ok_or_else(|| anyhow::anyhow!("stored business hours are invalid: {errors:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        let mut errors = FieldErrors::new();
        let value = json!({
            "timezone": "Europe/Paris",
            "schedule": {"monday": ["09:00", "17:30"], "friday": ["08:00", "24:00"]},
            "holidays": ["2026-12-25", "2026-01-01"]
        });
        let hours = BusinessHours::parse(&mut errors, "business_hours", &value).unwrap();
        assert_eq!(
            hours.schedule[0],
            OpenHours {
                day: Weekday::Mon,
                open: 540,
                close: 1050
            }
        );
        assert_eq!(hours.schedule[1].close, 1440);
        assert_eq!(hours.holidays[0].to_string(), "2026-01-01");
        assert_eq!(
            BusinessHours::from_stored(&hours.to_json().to_string()).unwrap(),
            hours
        );
    }

    #[test]
    fn timezone_must_be_known() {
        let check = |tz: &str| {
            let mut errors = FieldErrors::new();
            let value = json!({"timezone": tz, "schedule": {"monday": ["09:00", "17:00"]}});
            BusinessHours::parse(&mut errors, "business_hours", &value).map(|h| h.timezone)
        };
        assert_eq!(check("Asia/Tokyo"), Some(chrono_tz::Asia::Tokyo));
        assert_eq!(check("UTC"), Some(Tz::UTC));
        assert_eq!(check("Mars/Olympus_Mons"), None);
        assert_eq!(check("europe/paris"), None);
    }

    #[test]
    fn names_what_is_wrong() {
        let mut errors = FieldErrors::new();
        let value = json!({
            "timezone": "",
            "schedule": {"monday": ["17:00", "09:00"], "caturday": ["09:00", "10:00"]},
            "holidays": ["25/12/2026"]
        });
        assert!(BusinessHours::parse(&mut errors, "business_hours", &value).is_none());
        let fields: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            fields,
            [
                "business_hours.holidays.0",
                "business_hours.schedule",
                "business_hours.schedule.caturday",
                "business_hours.schedule.monday",
                "business_hours.timezone",
            ]
        );
    }
}
