//! The criminal record (CJN): one row per conviction.
//!
//! Calibration (justice-domain.md §1.7): about 550,000 convictions a year (562,668 in 2019,
//! 469,571 in 2020 under Covid); sentences of 2019: 24 % prison ferme in whole or part, 27 %
//! suspended prison only, 33 % fines, the rest substitution, educational measures and
//! dispensations; mean firm prison about 7.7 months, mean fine about 506 €; 90 % men, 84 %
//! French, 12 % legal recidivism. Minors' convictions are mostly educational measures and
//! sanctions or suspended sentences.

use crate::calendar::{days_from_civil, days_in_year, weekday};
use crate::reference::GROUPS;
use crate::rng::{Choice, Discrete, Rng};
use crate::{Defect, DirtSpec, Sink, SynthError, YearContext};

/// The columns of `sources/cjn.toml`.
pub(crate) const COLUMNS: &[&str] = &[
    "conviction_id",
    "court",
    "court_label",
    "judgement_date",
    "main_natinf",
    "offence_count",
    "main_sentence",
    "prison_months",
    "fine_eur",
    "sex",
    "age",
    "nationality",
    "repeat_offence",
];

pub(crate) static DIRT: DirtSpec = DirtSpec {
    kinds: &[
        Defect::UnknownCode,
        Defect::Duplicate,
        Defect::MissingValue,
        Defect::ImpossibleAge,
    ],
    unknown_codes: &[
        (1, "TJ_9_999"),
        (4, "99999"),
        (6, "RECLUSION"),
        (9, "X"),
        (11, "UE"),
    ],
    required: &[1, 3, 4, 5, 6, 9, 10, 11, 12],
};

/// Convictions by year; other years get [`DEFAULT_CONVICTIONS`].
const CONVICTIONS: &[(i16, f64)] = &[
    (2017, 558_000.0),
    (2018, 555_000.0),
    (2019, 562_668.0),
    (2020, 469_571.0),
    (2021, 527_000.0),
    (2022, 536_000.0),
    (2023, 543_900.0),
];
const DEFAULT_CONVICTIONS: f64 = 550_000.0;
/// Groups of the main offence of convictions (road traffic weighs more than among cases).
const GROUP_SHARES: [f64; 7] = [0.21, 0.20, 0.38, 0.07, 0.10, 0.03, 0.01];
const MINOR: f64 = 0.08;
const MALE: f64 = 0.90;
const REPEAT: f64 = 0.12;

/// Sentences of adults, chosen so that with minors' the 2019 shares come out.
const ADULT_SENTENCES: &[(&str, f64)] = &[
    ("PRISON_FERME", 0.180),
    ("PRISON_SURSIS_PARTIEL", 0.073),
    ("SURSIS_SIMPLE", 0.167),
    ("SURSIS_PROBATOIRE", 0.100),
    ("AMENDE_FERME", 0.240),
    ("AMENDE_SURSIS", 0.030),
    ("JOURS_AMENDE", 0.085),
    ("TIG", 0.035),
    ("STAGE", 0.025),
    ("SUSPENSION_PERMIS", 0.036),
    ("AUTRE_SUBSTITUTION", 0.020),
    ("DISPENSE_PEINE", 0.009),
];
const MINOR_SENTENCES: &[(&str, f64)] = &[
    ("MESURE_EDUCATIVE", 0.30),
    ("SANCTION_EDUCATIVE", 0.08),
    ("PRISON_FERME", 0.06),
    ("PRISON_SURSIS_PARTIEL", 0.03),
    ("SURSIS_SIMPLE", 0.20),
    ("SURSIS_PROBATOIRE", 0.10),
    ("AMENDE_FERME", 0.04),
    ("TIG", 0.12),
    ("STAGE", 0.05),
    ("DISPENSE_PEINE", 0.02),
];
/// Months of firm prison (mean about 7.7).
const FIRM_MONTHS: &[(i64, f64)] = &[
    (1, 0.08),
    (2, 0.15),
    (3, 0.16),
    (4, 0.12),
    (6, 0.17),
    (8, 0.08),
    (10, 0.04),
    (12, 0.09),
    (18, 0.05),
    (24, 0.04),
    (36, 0.02),
    (60, 0.008),
    (120, 0.002),
];
const CRIME_MONTHS: &[(i64, f64)] = &[(60, 0.3), (96, 0.25), (120, 0.25), (180, 0.15), (240, 0.05)];
const PARTIAL_MONTHS: &[(i64, f64)] = &[
    (3, 0.1),
    (4, 0.1),
    (6, 0.25),
    (8, 0.15),
    (12, 0.2),
    (18, 0.1),
    (24, 0.07),
    (36, 0.03),
];
const SUSPENDED_MONTHS: &[(i64, f64)] = &[
    (1, 0.1),
    (2, 0.2),
    (3, 0.2),
    (4, 0.15),
    (6, 0.17),
    (8, 0.08),
    (12, 0.07),
    (18, 0.02),
    (24, 0.01),
];
/// Fines in euros (mean about 510).
const FINES: &[(i64, f64)] = &[
    (50, 0.03),
    (100, 0.09),
    (150, 0.09),
    (200, 0.14),
    (300, 0.16),
    (400, 0.10),
    (500, 0.12),
    (600, 0.06),
    (800, 0.06),
    (1000, 0.07),
    (1500, 0.04),
    (2000, 0.025),
    (3000, 0.01),
    (5000, 0.004),
];
const DAY_FINE_DAYS: &[(i64, f64)] = &[
    (10, 0.15),
    (20, 0.2),
    (30, 0.2),
    (40, 0.15),
    (50, 0.1),
    (60, 0.1),
    (90, 0.06),
    (120, 0.04),
];
const DAY_FINE_RATES: &[(i64, f64)] = &[(5, 0.3), (10, 0.35), (15, 0.2), (20, 0.1), (30, 0.05)];
const OFFENCE_COUNT: &[(i64, f64)] = &[
    (1, 0.62),
    (2, 0.22),
    (3, 0.09),
    (4, 0.04),
    (5, 0.015),
    (6, 0.01),
    (8, 0.005),
];
const NATIONALITY: &[(&str, f64)] = &[("FR", 0.84), ("EU", 0.03), ("NON_EU", 0.13)];

/// Expected number of rows for a year at a scale.
pub(crate) fn expected_rows(year: i16, scale: f64) -> f64 {
    CONVICTIONS
        .iter()
        .find(|(y, _)| *y == year)
        .map_or(DEFAULT_CONVICTIONS, |(_, n)| *n)
        * scale
}

pub(crate) fn generate(
    ctx: &YearContext<'_>,
    rng: &mut Rng,
    sink: &mut Sink<'_>,
) -> Result<(), SynthError> {
    let r = ctx.reference;
    let courts = Discrete::new(r.courts.iter().map(|c| c.weight));
    let group_totals: Vec<f64> = (0..GROUPS.len())
        .map(|g| {
            r.offences
                .iter()
                .filter(|o| o.group == g)
                .map(|o| o.weight)
                .sum()
        })
        .collect();
    let offences = Discrete::new(
        r.offences
            .iter()
            .map(|o| GROUP_SHARES[o.group] * o.weight / group_totals[o.group]),
    );
    // Labels as the courts' applications type them: encoded once, not once per row.
    let labels = r
        .courts
        .iter()
        .map(|c| sink.line.encode_field(&c.label))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| sink.encode_error(e))?;
    let adult_sentences = Choice::new(ADULT_SENTENCES);
    let minor_sentences = Choice::new(MINOR_SENTENCES);
    let adult_age = Choice::new(crate::penal::ADULT_AGES);
    let firm = Choice::new(FIRM_MONTHS);
    let crime = Choice::new(CRIME_MONTHS);
    let partial = Choice::new(PARTIAL_MONTHS);
    let suspended = Choice::new(SUSPENDED_MONTHS);
    let fines = Choice::new(FINES);
    let day_fine_days = Choice::new(DAY_FINE_DAYS);
    let day_fine_rates = Choice::new(DAY_FINE_RATES);
    let offence_count = Choice::new(OFFENCE_COUNT);
    let nationality = Choice::new(NATIONALITY);

    let year = i32::from(ctx.year);
    let first_day = days_from_civil(year, 1, 1);
    let days = days_in_year(year) as u64;
    let expected = expected_rows(ctx.year, ctx.scale);
    let n = expected.round() as u64;
    sink.dirt.arm_ragged(expected);
    let prefix = format!("C{year}");
    for seq in 0..n {
        let c = courts.sample(rng);
        let offence = &r.offences[offences.sample(rng)];
        // Courts judge on working days.
        let mut judged = first_day + rng.below(days) as i32;
        while weekday(judged) >= 5 {
            judged = first_day + rng.below(days) as i32;
        }
        let minor = rng.chance(MINOR);
        let mut age = if minor {
            rng.range(13, 17)
        } else {
            let (lo, hi) = adult_age.pick(rng);
            rng.range(lo, hi)
        };
        let sentence = if minor {
            minor_sentences.pick(rng)
        } else {
            adult_sentences.pick(rng)
        };
        let (months, fine) = match sentence {
            "PRISON_FERME" if offence.legal_class == "C" => (Some(crime.pick(rng)), None),
            "PRISON_FERME" => (Some(firm.pick(rng)), None),
            "PRISON_SURSIS_PARTIEL" => (Some(partial.pick(rng)), None),
            "SURSIS_SIMPLE" | "SURSIS_PROBATOIRE" => (Some(suspended.pick(rng)), None),
            "AMENDE_FERME" | "AMENDE_SURSIS" => (None, Some(fines.pick(rng))),
            "JOURS_AMENDE" => (
                None,
                Some(day_fine_days.pick(rng) * day_fine_rates.pick(rng)),
            ),
            _ => (None, None),
        };
        let sex = if rng.chance(MALE) { "M" } else { "F" };
        let count = offence_count.pick(rng);
        let nat = nationality.pick(rng);
        let repeat = !minor && rng.chance(REPEAT / (1.0 - MINOR));

        let defect = sink.dirt.draw(sink.next_row());
        if defect == Some(Defect::ImpossibleAge) {
            age = sink.dirt.pick(&[0, 4, 9, 12, 130, 201, -1]);
        }
        let line = &mut sink.line;
        line.clear();
        line.padded(prefix.as_bytes(), seq, 7);
        line.code(&r.courts[c].code);
        line.raw(&labels[c]);
        line.date_french(judged);
        line.code(&offence.code);
        line.int(count);
        line.code(sentence);
        match months {
            Some(m) => line.int(m),
            None => line.empty(),
        }
        match fine {
            Some(f) => line.int(f),
            None => line.empty(),
        }
        line.code(sex);
        line.int(age);
        line.code(nat);
        line.flag(repeat);
        sink.emit(defect)?;
    }
    Ok(())
}
