//! Juvenile criminal justice under the CJPM: one row per case of a minor referred to a
//! juvenile court.
//!
//! Calibration (justice-domain.md §4.1; surveys-steering-cnis.md §4): the CJPM applies to
//! referrals from 30 September 2021 (9,135 minors prosecuted under it in the last quarter of
//! 2021, about 38,000 a year since); the hearing on guilt comes about 2 months after the
//! referral (due within 3 months: about four cases in five meet it), the sentencing hearing
//! about 6.3 months after the guilt hearing (due 6 to 9 months after it); about one case in
//! five goes to a single hearing; provisional educational measures (MEJP) in about 30 % of
//! cases, remand in custody in about 4 % (more in single hearings, for serious cases); 88 %
//! boys, most aged 15 to 17. Each court has its own pace, so that courts differ. The extract
//! of a year is taken on 31 March of the next: hearings after that day are not yet known.

use crate::calendar::{days_from_civil, weekday};
use crate::rng::{Choice, Discrete, Rng, mix};
use crate::{Defect, DirtSpec, Sink, SynthError, YearContext};

/// The columns of `sources/cjpm.toml`.
pub(crate) const COLUMNS: &[&str] = &[
    "case_id",
    "court",
    "referral_date",
    "single_hearing",
    "guilt_hearing_date",
    "sentencing_hearing_date",
    "provisional_measure",
    "remand",
    "sex",
    "age",
];

pub(crate) static DIRT: DirtSpec = DirtSpec {
    kinds: &[
        Defect::UnknownCode,
        Defect::DateOrder,
        Defect::Duplicate,
        Defect::MissingValue,
        Defect::ImpossibleAge,
    ],
    unknown_codes: &[(1, "TJ_9_999"), (8, "X")],
    required: &[1, 2, 3, 6, 7, 8, 9],
};

/// Cases referred under the CJPM by year (2021: from 30 September only).
const CASES: &[(i16, f64)] = &[
    (2021, 9_135.0),
    (2022, 38_500.0),
    (2023, 37_000.0),
    (2024, 36_000.0),
];
const DEFAULT_CASES: f64 = 36_000.0;
/// 2021-09-30, the CJPM's entry into force, in days since 1970-01-01.
const IN_FORCE: i32 = 18_900;
const SINGLE_HEARING: f64 = 0.20;
const MEJP: f64 = 0.30;
const REMAND: f64 = 0.03;
const REMAND_SINGLE: f64 = 0.08;
const MALE: f64 = 0.88;
const AGES: &[(i64, f64)] = &[
    (11, 0.005),
    (12, 0.015),
    (13, 0.07),
    (14, 0.14),
    (15, 0.22),
    (16, 0.27),
    (17, 0.28),
];
/// Days from referral to the hearing on guilt, by band (mean about 68 days, 82 % within 90).
const GUILT_DAYS: &[((i64, i64), f64)] = &[
    ((10, 30), 0.25),
    ((31, 60), 0.35),
    ((61, 90), 0.22),
    ((91, 180), 0.13),
    ((181, 365), 0.05),
];
/// Days from the guilt hearing to the sentencing hearing (mean about 6.3 months).
const SENTENCING_DAYS: &[((i64, i64), f64)] = &[
    ((150, 182), 0.45),
    ((183, 274), 0.50),
    ((275, 365), 0.04),
    ((366, 540), 0.01),
];

/// Expected number of rows for a year at a scale.
pub(crate) fn expected_rows(year: i16, scale: f64) -> f64 {
    if year < 2021 {
        return 0.0;
    }
    crate::year_factor_or(CASES, year, DEFAULT_CASES) * scale
}

/// The first working day from `day` on.
fn working_day(mut day: i32) -> i32 {
    while weekday(day) >= 5 {
        day += 1;
    }
    day
}

pub(crate) fn generate(
    ctx: &YearContext<'_>,
    rng: &mut Rng,
    sink: &mut Sink<'_>,
) -> Result<(), SynthError> {
    let r = ctx.reference;
    let year = i32::from(ctx.year);
    let expected = expected_rows(ctx.year, ctx.scale);
    let n = expected.round() as u64;
    if n == 0 {
        return Ok(());
    }
    let courts = Discrete::new(r.courts.iter().map(|c| c.weight));
    // A court's pace: its delays are those of the nation times a factor in 0.75–1.35.
    let pace: Vec<f64> = (0..r.courts.len())
        .map(|i| 0.75 + (mix(i as u64 ^ 0xC1F3) % 61) as f64 / 100.0)
        .collect();
    let guilt = Choice::new(GUILT_DAYS);
    let sentencing = Choice::new(SENTENCING_DAYS);
    let ages = Choice::new(AGES);
    let first_day = days_from_civil(year, 1, 1).max(IN_FORCE);
    let span = (days_from_civil(year + 1, 1, 1) - first_day) as u64;
    let known_until = days_from_civil(year + 1, 3, 31);
    sink.dirt.arm_ragged(expected);
    let prefix = format!("M{year}");
    for seq in 0..n {
        let c = courts.sample(rng);
        let referral = working_day(first_day + rng.below(span) as i32);
        let single = rng.chance(SINGLE_HEARING);
        let (lo, hi) = guilt.pick(rng);
        let days = (rng.range(lo, hi) as f64 * pace[c]).round() as i32;
        let mut guilt_day = Some(working_day(referral + days)).filter(|d| *d <= known_until);
        let sentencing_day = if single {
            guilt_day
        } else {
            let (lo, hi) = sentencing.pick(rng);
            let days = rng.range(lo, hi) as i32;
            guilt_day
                .map(|g| working_day(g + days))
                .filter(|d| *d <= known_until)
        };
        let mejp = rng.chance(MEJP);
        let remand = rng.chance(if single { REMAND_SINGLE } else { REMAND });
        let sex = if rng.chance(MALE) { "M" } else { "F" };
        let mut age = ages.pick(rng);

        let defect = sink.dirt.draw(sink.next_row());
        match defect {
            Some(Defect::DateOrder) => {
                guilt_day = Some(referral - sink.dirt.range(1, 60) as i32);
            }
            Some(Defect::ImpossibleAge) => age = sink.dirt.pick(&[7, 8, 18, 19, 45, -1]),
            _ => {}
        }
        let line = &mut sink.line;
        line.clear();
        line.padded(prefix.as_bytes(), seq, 6);
        line.code(&r.courts[c].code);
        line.date_iso(referral);
        line.flag(single);
        match guilt_day {
            Some(d) => line.date_iso(d),
            None => line.empty(),
        }
        match sentencing_day {
            Some(d) => line.date_iso(d),
            None => line.empty(),
        }
        line.flag(mejp);
        line.flag(remand);
        line.code(sex);
        line.int(age);
        sink.emit(defect)?;
    }
    Ok(())
}
