//! Domestic violence: requests for protection orders (one row per request) and the monthly
//! report of protection devices (one row per court, month and device).
//!
//! Calibration (justice-domain.md §4.2; surveys-steering-cnis.md §4): 5,901 requests in 2021,
//! rising since; about two thirds of the requests decided are granted, one in seven lapses
//! (withdrawal, striking out); 97 % of applicants are women; the judge has 6 days since 2019,
//! and about 30 % of decisions came later in 2021, fewer since. Serious-danger telephones
//! (TGD): 837 deployed in 2018, about 3,000 in service by 2024 (5,394 assigned in all by early
//! 2025); anti-approach bracelets (BAR): generalised on 15 December 2020, about 1,000 active
//! in 2023, 661 by the end of 2025. The extract of a year is taken on 31 January of the next:
//! decisions after that day are not yet known.

use crate::calendar::days_from_civil;
use crate::rng::{Choice, Discrete, Rng, mix};
use crate::{Defect, DirtSpec, Sink, SynthError, YearContext};

/// The columns of `sources/protection_orders.toml`.
pub(crate) const ORDER_COLUMNS: &[&str] = &[
    "request_id",
    "court",
    "request_date",
    "decision_date",
    "outcome",
    "applicant_sex",
];

/// The columns of `sources/protection_devices.toml`.
pub(crate) const DEVICE_COLUMNS: &[&str] = &["court", "month", "device", "assigned", "active"];

pub(crate) static ORDER_DIRT: DirtSpec = DirtSpec {
    kinds: &[
        Defect::UnknownCode,
        Defect::DateOrder,
        Defect::Duplicate,
        Defect::MissingValue,
    ],
    unknown_codes: &[(1, "TJ_9_999"), (4, "ACCEPTEE"), (5, "X")],
    required: &[1, 2, 5],
};

pub(crate) static DEVICE_DIRT: DirtSpec = DirtSpec {
    kinds: &[
        Defect::UnknownCode,
        Defect::Duplicate,
        Defect::MissingValue,
        Defect::NegativePersons,
    ],
    unknown_codes: &[(0, "TJ_9_999"), (2, "BRACELET")],
    required: &[0, 1, 2, 3, 4],
};

/// Requests for protection orders by year.
const REQUESTS: &[(i16, f64)] = &[
    (2017, 3_200.0),
    (2018, 3_600.0),
    (2019, 4_600.0),
    (2020, 5_300.0),
    (2021, 5_901.0),
    (2022, 6_400.0),
    (2023, 6_900.0),
    (2024, 7_300.0),
];
const DEFAULT_REQUESTS: f64 = 7_300.0;
/// Share of decisions within 6 days, by year.
const ON_TIME: &[(i16, f64)] = &[
    (2019, 0.45),
    (2020, 0.60),
    (2021, 0.70),
    (2022, 0.74),
    (2023, 0.77),
    (2024, 0.79),
];
/// Before the 6-day rule (2019) about 40 %; after the table's last year, its level.
const DEFAULT_ON_TIME_BEFORE: f64 = 0.40;
const DEFAULT_ON_TIME_AFTER: f64 = 0.80;
/// Days from request to decision for a late decision.
const LATE_DAYS: &[((i64, i64), f64)] = &[((7, 15), 0.65), ((16, 30), 0.27), ((31, 75), 0.08)];
const OUTCOMES: &[(&str, f64)] = &[("ACCORDEE", 0.60), ("REJETEE", 0.26), ("CADUQUE", 0.14)];
const WOMEN: f64 = 0.97;

/// Devices in service on 31 December, nationally: (year, TGD, BAR).
const IN_SERVICE: &[(i16, f64, f64)] = &[
    (2018, 837.0, 0.0),
    (2019, 1_000.0, 0.0),
    (2020, 1_300.0, 40.0),
    (2021, 1_700.0, 500.0),
    (2022, 2_200.0, 800.0),
    (2023, 2_700.0, 1_000.0),
    (2024, 3_000.0, 1_000.0),
    (2025, 3_200.0, 661.0),
];
/// Devices assigned in a year per device in service at its end (attributions end, devices
/// are returned: the flow exceeds the growth of the stock).
const TGD_TURNOVER: f64 = 0.55;
const BAR_TURNOVER: f64 = 0.90;

/// Expected number of rows of a protection orders file.
pub(crate) fn expected_order_rows(year: i16, scale: f64) -> f64 {
    crate::year_factor_or(REQUESTS, year, DEFAULT_REQUESTS) * scale
}

pub(crate) fn generate_orders(
    ctx: &YearContext<'_>,
    rng: &mut Rng,
    sink: &mut Sink<'_>,
) -> Result<(), SynthError> {
    let r = ctx.reference;
    let year = i32::from(ctx.year);
    let expected = expected_order_rows(ctx.year, ctx.scale);
    let n = expected.round() as u64;
    let courts = Discrete::new(r.courts.iter().map(|c| c.weight));
    // Some courts keep the 6 days better than others: a factor on the late share.
    let lateness: Vec<f64> = (0..r.courts.len())
        .map(|i| 0.5 + (mix(i as u64 ^ 0x0D0E) % 101) as f64 / 100.0)
        .collect();
    let default = if ctx.year < 2019 {
        DEFAULT_ON_TIME_BEFORE
    } else {
        DEFAULT_ON_TIME_AFTER
    };
    let on_time = crate::year_factor_or(ON_TIME, ctx.year, default);
    let late = Choice::new(LATE_DAYS);
    let outcomes = Choice::new(OUTCOMES);
    let first_day = days_from_civil(year, 1, 1);
    let span = (days_from_civil(year + 1, 1, 1) - first_day) as u64;
    let known_until = days_from_civil(year + 1, 1, 31);
    sink.dirt.arm_ragged(expected);
    let prefix = format!("OP{year}");
    for seq in 0..n {
        let c = courts.sample(rng);
        let request = first_day + rng.below(span) as i32;
        let late_share = ((1.0 - on_time) * lateness[c]).min(0.95);
        let days = if rng.chance(late_share) {
            let (lo, hi) = late.pick(rng);
            rng.range(lo, hi)
        } else {
            rng.range(1, 6)
        };
        let mut decision = Some(request + days as i32).filter(|d| *d <= known_until);
        let outcome = outcomes.pick(rng);
        let sex = if rng.chance(WOMEN) { "F" } else { "M" };

        let defect = sink.dirt.draw(sink.next_row());
        if defect == Some(Defect::DateOrder) {
            decision = Some(request - sink.dirt.range(1, 20) as i32);
        }
        let line = &mut sink.line;
        line.clear();
        line.padded(prefix.as_bytes(), seq, 6);
        line.code(&r.courts[c].code);
        line.date_iso(request);
        match decision {
            Some(d) => {
                line.date_iso(d);
                line.code(outcome);
            }
            None => {
                line.empty();
                line.empty();
            }
        }
        line.code(sex);
        sink.emit(defect)?;
    }
    Ok(())
}

/// Devices in service nationally on 31 December of `year`: (TGD, BAR).
fn in_service(year: i16) -> (f64, f64) {
    match IN_SERVICE.iter().find(|(y, _, _)| *y == year) {
        Some((_, t, b)) => (*t, *b),
        None if year < 2018 => (700.0, 0.0),
        None => (3_200.0, 661.0),
    }
}

pub(crate) fn generate_devices(
    ctx: &YearContext<'_>,
    rng: &mut Rng,
    sink: &mut Sink<'_>,
) -> Result<(), SynthError> {
    let r = ctx.reference;
    let year = i32::from(ctx.year);
    let total_weight: f64 = r.courts.iter().map(|c| c.weight).sum();
    let (tgd_before, bar_before) = in_service(ctx.year - 1);
    let (tgd_after, bar_after) = in_service(ctx.year);
    let blocks = (12 * r.courts.len()) as u64;
    let ragged_block = sink.dirt.ragged_block(blocks / 2);
    for month in 0..12 {
        let first = days_from_civil(year, month as u32 + 1, 1);
        // The stock moves linearly from one year's end to the next.
        let t = (month + 1) as f64 / 12.0;
        for (i, court) in r.courts.iter().enumerate() {
            if ragged_block == Some((month * r.courts.len() + i) as u64) {
                sink.dirt.ragged_from(sink.next_row());
            }
            let share = court.weight / total_weight * ctx.scale;
            for (device, before, after, turnover) in [
                ("TGD", tgd_before, tgd_after, TGD_TURNOVER),
                ("BAR", bar_before, bar_after, BAR_TURNOVER),
            ] {
                let stock = before + (after - before) * t;
                let mut active = rng.round_random(stock * share) as i64;
                let mut assigned = rng.round_random(after * turnover / 12.0 * share) as i64;
                let defect = sink.dirt.draw(sink.next_row());
                if defect == Some(Defect::NegativePersons) {
                    active = -active - 1;
                    assigned = -assigned;
                }
                let line = &mut sink.line;
                line.clear();
                line.code(&court.code);
                line.date_iso(first);
                line.code(device);
                line.int(assigned);
                line.int(active);
                sink.emit(defect)?;
            }
        }
    }
    Ok(())
}
