//! The penal chain (Cassiopée-like): one row per offence of an offender in a registered case,
//! as the application's extract has it.
//!
//! Calibration (2019, scale 1; justice-domain.md §1.7): 3.09 million registered cases, 56.7 %
//! of them with an identified author and 1.17 offenders per such case, hence about 2 million
//! offenders; 1.6 offences per offender, hence about 3.3 million rows; the seven groups of
//! offences in their shares; 31.8 % of offenders non poursuivables,
//! and among the poursuivables 10 % classements for inopportunity, 36 % alternatives, 5 %
//! compositions and 49 % prosecutions; 3 % legal persons; 85 % men and 12 % minors among
//! physical persons.

use crate::calendar::{days_from_civil, days_in_year};
use crate::reference::GROUPS;
use crate::rng::{Choice, Discrete, Rng};
use crate::{Defect, DirtSpec, Sink, SynthError, YearContext, year_factor};

/// The columns of `sources/penal.toml`.
pub(crate) const COLUMNS: &[&str] = &[
    "case_id",
    "offender_id",
    "court",
    "reception_date",
    "orientation_date",
    "natinf",
    "legal_class",
    "orientation",
    "sex",
    "age",
    "minor",
    "legal_person",
];

/// 2023-01-01 in days since 1970-01-01.
const AVERTISSEMENT_FROM: i32 = 19_358;
const COURT: usize = 2;
const NATINF: usize = 5;
const LEGAL_CLASS: usize = 6;
const ORIENTATION: usize = 7;
const SEX: usize = 8;

pub(crate) static DIRT: DirtSpec = DirtSpec {
    kinds: &[
        Defect::UnknownCode,
        Defect::DateOrder,
        Defect::Duplicate,
        Defect::MissingValue,
        Defect::ImpossibleAge,
    ],
    unknown_codes: &[
        (COURT, "TJ_9_999"),
        (NATINF, "99999"),
        (LEGAL_CLASS, "K"),
        (ORIENTATION, "ALT_TIG"),
        (SEX, "I"),
    ],
    required: &[0, 1, COURT, 3, 4, NATINF, LEGAL_CLASS, ORIENTATION],
};

/// Registered cases in 2019.
const CASES_2019: f64 = 3_085_012.0;
/// Registered cases relative to 2019 (2020: lockdowns).
const YEARS: &[(i16, f64)] = &[(2020, 0.90), (2021, 0.97)];
/// Share of registered cases with an identified author.
const WITH_AUTHOR: f64 = 0.567;
/// Shares of the seven groups, in the order of [`GROUPS`].
pub(crate) const GROUP_SHARES: [f64; 7] = [0.416, 0.255, 0.165, 0.063, 0.050, 0.034, 0.017];
/// Share of legal persons among offenders, by group: companies are mostly in economic and
/// environmental cases.
const LEGAL_PERSON_SHARE: [f64; 7] = [0.012, 0.008, 0.03, 0.005, 0.001, 0.25, 0.20];
const OFFENDERS_PER_CASE: &[(i64, f64)] = &[(1, 0.875), (2, 0.09), (3, 0.025), (4, 0.01)];
/// Offences per offender in a case, mean 1.60. The reference gives no such ratio for the
/// parquets; the nearest is the criminal record's, offences per conviction: "2013 610,000
/// (915,000 infractions); 2017 558,000 (879,000 infr.); 2023 543,900" with 891,000 infractions
/// (justice-domain.md, "Condamnations (CJN), series" and the 2023 condamnations line), that is
/// 1.50, 1.58 and 1.64. Most offenders answer for one offence; a few for a long list.
const OFFENCES_PER_OFFENDER: &[(i64, f64)] =
    &[(1, 0.63), (2, 0.22), (3, 0.09), (4, 0.04), (5, 0.02)];
const MALE: f64 = 0.85;
const MINOR: f64 = 0.12;
// 31.8 % of auteurs traités in 2019, a statistic that only happens to be close to 1/π.
#[allow(clippy::approx_constant)]
pub(crate) const NON_POURSUIVABLE: f64 = 0.318;

pub(crate) struct Model {
    courts: Discrete,
    offences: Discrete,
    offenders: Choice<i64>,
    offences_per_offender: Choice<i64>,
    adult_age: Choice<(i64, i64)>,
    minor_age: Choice<(i64, i64)>,
    delay: Choice<(i64, i64)>,
    npours: Choice<&'static str>,
    poursuivable: Choice<&'static str>,
    css: Choice<&'static str>,
    alt_adult: Choice<&'static str>,
    alt_minor: Choice<&'static str>,
    pours_adult: Choice<&'static str>,
    pours_minor: Choice<&'static str>,
}

/// Ages at the facts of adult offenders, by band (uniform within a band).
pub(crate) const ADULT_AGES: &[((i64, i64), f64)] = &[
    ((18, 20), 0.12),
    ((21, 24), 0.15),
    ((25, 29), 0.16),
    ((30, 39), 0.25),
    ((40, 49), 0.17),
    ((50, 59), 0.10),
    ((60, 69), 0.04),
    ((70, 89), 0.01),
];

impl Model {
    fn new(ctx: &YearContext<'_>) -> Model {
        let r = ctx.reference;
        let group_totals: Vec<f64> = (0..GROUPS.len())
            .map(|g| {
                r.offences
                    .iter()
                    .filter(|o| o.group == g)
                    .map(|o| o.weight)
                    .sum()
            })
            .collect();
        Model {
            courts: Discrete::new(r.courts.iter().map(|c| c.weight)),
            offences: Discrete::new(
                r.offences
                    .iter()
                    .map(|o| GROUP_SHARES[o.group] * o.weight / group_totals[o.group]),
            ),
            offenders: Choice::new(OFFENDERS_PER_CASE),
            offences_per_offender: Choice::new(OFFENCES_PER_OFFENDER),
            adult_age: Choice::new(ADULT_AGES),
            minor_age: Choice::new(&[((10, 12), 0.04), ((13, 15), 0.38), ((16, 17), 0.58)]),
            // Days from reception to orientation: quick for the prompt procedures, up to 400.
            delay: Choice::new(&[
                ((0, 30), 0.40),
                ((31, 120), 0.35),
                ((121, 300), 0.20),
                ((301, 400), 0.05),
            ]),
            npours: Choice::new(&[
                ("NP_ABSINF", 0.30),
                ("NP_INSUFF", 0.45),
                ("NP_MOTJUR", 0.15),
                ("NP_IRRESP", 0.10),
            ]),
            poursuivable: Choice::new(&[
                ("CSS", 0.10),
                ("ALT", 0.36),
                ("COMPO", 0.05),
                ("POURS", 0.49),
            ]),
            css: Choice::new(&[
                ("CSS_RECHINF", 0.35),
                ("CSS_DESIST", 0.20),
                ("CSS_PREJREP", 0.15),
                ("CSS_ETATMENT", 0.05),
                ("CSS_AUTRE", 0.25),
            ]),
            alt_adult: Choice::new(&[
                ("ALT_RAPPEL", 0.45),
                ("ALT_MEDIAT", 0.05),
                ("ALT_REGUL", 0.15),
                ("ALT_DESINT", 0.06),
                ("ALT_STAGE", 0.15),
                ("ALT_SANIT", 0.14),
            ]),
            alt_minor: Choice::new(&[
                ("ALT_RAPPEL", 0.45),
                ("ALT_MEDIAT", 0.05),
                ("ALT_REPAR", 0.25),
                ("ALT_STAGE", 0.15),
                ("ALT_SANIT", 0.10),
            ]),
            pours_adult: Choice::new(&[
                ("POURS_COMPIM", 0.10),
                ("POURS_CRPC", 0.17),
                ("POURS_OPTC", 0.27),
                ("POURS_CITATC", 0.06),
                ("POURS_COPJTC", 0.30),
                ("POURS_INSTR", 0.05),
                ("POURS_CPV", 0.05),
            ]),
            pours_minor: Choice::new(&[
                ("POURS_CPV", 0.50),
                ("POURS_COPJTC", 0.35),
                ("POURS_INSTR", 0.15),
            ]),
        }
    }

    fn orientation(&self, rng: &mut Rng, legal_class: &str, minor: bool) -> &'static str {
        if rng.chance(NON_POURSUIVABLE) {
            return self.npours.pick(rng);
        }
        let group = self.poursuivable.pick(rng);
        // Crimes go to an investigating judge; contraventions never do.
        match (group, legal_class) {
            ("CSS", _) => self.css.pick(rng),
            (_, "C") => "POURS_INSTR",
            ("ALT", _) if minor => self.alt_minor.pick(rng),
            ("ALT", _) => self.alt_adult.pick(rng),
            ("COMPO", _) => "COMPO",
            (_, class) => {
                let p = if minor {
                    self.pours_minor.pick(rng)
                } else {
                    self.pours_adult.pick(rng)
                };
                if class == "X" && p == "POURS_INSTR" {
                    "POURS_OPTC"
                } else {
                    p
                }
            }
        }
    }
}

fn mean(distribution: &[(i64, f64)]) -> f64 {
    distribution.iter().map(|(n, p)| *n as f64 * p).sum()
}

/// Expected number of offenders (units of the chain) for a year at a scale.
pub(crate) fn expected_offenders(year: i16, scale: f64) -> f64 {
    CASES_2019 * year_factor(YEARS, year) * scale * WITH_AUTHOR * mean(OFFENDERS_PER_CASE)
}

/// Expected number of rows (offences) for a year at a scale.
pub(crate) fn expected_rows(year: i16, scale: f64) -> f64 {
    expected_offenders(year, scale) * mean(OFFENCES_PER_OFFENDER)
}

pub(crate) fn generate(
    ctx: &YearContext<'_>,
    rng: &mut Rng,
    sink: &mut Sink<'_>,
) -> Result<(), SynthError> {
    let model = Model::new(ctx);
    let r = ctx.reference;
    let year = i32::from(ctx.year);
    let first_day = days_from_civil(year, 1, 1);
    let days = days_in_year(year) as u64;
    let cases = (CASES_2019 * year_factor(YEARS, ctx.year) * ctx.scale).round() as u64;
    sink.dirt.arm_ragged(expected_rows(ctx.year, ctx.scale));
    let case_prefix = format!("P{year}");
    let offender_prefix = b"A";
    let mut charged = Vec::with_capacity(8);
    for case in 0..cases {
        if !rng.chance(WITH_AUTHOR) {
            continue;
        }
        let court = &r.courts[model.courts.sample(rng)];
        let offence = &r.offences[model.offences.sample(rng)];
        let reception = first_day + rng.below(days) as i32;
        let offenders = model.offenders.pick(rng);
        for _ in 0..offenders {
            let legal_person = rng.chance(LEGAL_PERSON_SHARE[offence.group]);
            let (sex, age, minor) = if legal_person {
                (None, None, false)
            } else {
                let sex = if rng.chance(MALE) { "M" } else { "F" };
                let minor = rng.chance(MINOR);
                let (lo, hi) = if minor {
                    model.minor_age.pick(rng)
                } else {
                    model.adult_age.pick(rng)
                };
                (Some(sex), Some(rng.range(lo, hi)), minor)
            };
            let orientation = model.orientation(rng, &offence.legal_class, minor);
            let (lo, hi) = model.delay.pick(rng);
            let oriented = reception + rng.range(lo, hi) as i32;
            // The avertissement pénal probatoire replaced the rappel à la loi on 1 January 2023
            // (loi du 22 décembre 2021): the codelist closes one and opens the other.
            let orientation = if orientation == "ALT_RAPPEL" && oriented >= AVERTISSEMENT_FROM {
                "ALT_APP"
            } else {
                orientation
            };
            let pseudonym = crate::rng::mix(ctx.pseudonym_key ^ rng.next_u64());

            // The case's offence comes first; the others are drawn from the same shares, so
            // that the groups keep nearly their shares among rows. The orientation stays the
            // offender's, decided on the case's offence.
            // Offences are distinct within an offender: the extract's key is (case, offender,
            // natinf), and a repeated key is a duplicate the delivery quarantines.
            let count = model.offences_per_offender.pick(rng) as usize;
            charged.clear();
            charged.push(offence);
            while charged.len() < count {
                let next = &r.offences[model.offences.sample(rng)];
                if charged.iter().all(|o| o.code != next.code) {
                    charged.push(next);
                }
            }
            for offence in charged.iter().copied() {
                let (mut sex, mut age, mut oriented) = (sex, age, oriented);
                let defect = sink.dirt.draw(sink.next_row());
                let mut legal_person_flag = legal_person;
                match defect {
                    Some(Defect::DateOrder) => {
                        oriented = reception - sink.dirt.range(1, 90) as i32;
                    }
                    Some(Defect::ImpossibleAge) => {
                        // An age only a typing error gives; a legal person becomes a physical
                        // one so that the age rule applies.
                        age = Some(sink.dirt.pick(&[0, 3, 7, 112, 130, 212, -4]));
                        sex = sex.or(Some("M"));
                        legal_person_flag = false;
                    }
                    _ => {}
                }
                let line = &mut sink.line;
                line.clear();
                line.padded(case_prefix.as_bytes(), case, 8);
                line.hex(offender_prefix, pseudonym);
                line.code(&court.code);
                line.date_french(reception);
                line.date_french(oriented);
                line.code(&offence.code);
                line.code(&offence.legal_class);
                line.code(orientation);
                match sex {
                    Some(s) => line.code(s),
                    None => line.empty(),
                }
                match age {
                    Some(a) => line.int(a),
                    None => line.empty(),
                }
                line.flag(minor);
                line.flag(legal_person_flag);
                sink.emit(defect)?;
            }
        }
    }
    Ok(())
}
