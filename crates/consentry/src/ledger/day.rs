//! Calendar days in UTC, for reading and querying records by date.

use std::fmt;

const SECS_PER_DAY: u64 = 86_400;

/// A day of the proleptic Gregorian calendar in UTC, from 1970-01-01 on: the unit of the
/// ledger's date ranges and daily figures.
///
/// ```
/// use consentry::ledger::Day;
///
/// let day = Day::parse("2026-11-30").unwrap();
/// assert_eq!(day.to_string(), "2026-11-30");
/// assert_eq!(Day::of(day.start() + 86_399), day);
/// assert_eq!(day.next().to_string(), "2026-12-01");
/// assert!(Day::parse("2026-02-30").is_none() && Day::parse("30.11.2026").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(u32);

impl Day {
    /// The day a unix time (seconds) falls on.
    pub fn of(unix_secs: u64) -> Self {
        Self(u32::try_from(unix_secs / SECS_PER_DAY).unwrap_or(u32::MAX))
    }

    /// A `YYYY-MM-DD` date, if it is one (a real day, 1970 or later).
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        let shape = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape {
            return None;
        }
        let year: u32 = text[..4].parse().ok()?;
        let month: u32 = text[5..7].parse().ok()?;
        let day: u32 = text[8..].parse().ok()?;
        if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month)
        {
            return None;
        }
        Some(Self(days_from_civil(year, month, day)))
    }

    /// Its first second, in unix time.
    pub fn start(self) -> u64 {
        u64::from(self.0) * SECS_PER_DAY
    }

    /// The day after.
    #[must_use]
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// (year, month, day).
    pub fn ymd(self) -> (u32, u32, u32) {
        civil_from_days(self.0)
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A unix time as `YYYY-MM-DD HH:MM:SS UTC`.
///
/// ```
/// assert_eq!(consentry::ledger::utc_time(1_800_000_000), "2027-01-15 08:00:00 UTC");
/// ```
pub fn utc_time(unix_secs: u64) -> String {
    let seconds = unix_secs % SECS_PER_DAY;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        Day::of(unix_secs),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date (1970 or later), by counting whole years and months.
fn days_from_civil(year: u32, month: u32, day: u32) -> u32 {
    let years: u32 = (1970..year)
        .map(|y| if is_leap(y) { 366 } else { 365 })
        .sum();
    let months: u32 = (1..month).map(|m| days_in_month(year, m)).sum();
    years + months + day - 1
}

/// The date `days` after 1970-01-01.
fn civil_from_days(mut days: u32) -> (u32, u32, u32) {
    let mut year = 1970;
    loop {
        let length = if is_leap(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let mut month = 1;
    while days >= days_in_month(year, month) {
        days -= days_in_month(year, month);
        month += 1;
    }
    (year, month, days + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_round_trips_through_its_text() {
        // 1970 to 2200: leap years, centuries, 2000.
        for n in 0..84_000 {
            let day = Day(n);
            assert_eq!(Day::parse(&day.to_string()), Some(day), "{day}");
        }
        assert_eq!(Day::parse("2000-02-29").unwrap().to_string(), "2000-02-29");
        assert!(Day::parse("2100-02-29").is_none());
        assert_eq!(Day::of(0).to_string(), "1970-01-01");
    }

    #[test]
    fn malformed_dates_are_none() {
        for bad in [
            "",
            "2026-1-01",
            "2026-13-01",
            "2026-00-10",
            "1969-12-31",
            "2026-11-31",
            "２０２６-11-30",
            "2026/11/30",
        ] {
            assert!(Day::parse(bad).is_none(), "{bad}");
        }
    }
}
