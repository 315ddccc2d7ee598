//! Prison management (GENESIS-like): persons écrouées on the 1st of each month, by
//! establishment, sex, age group, detained or not, and penal status.
//!
//! Calibration (2024, scale 1; justice-domain.md §1.7): about 80,000 detained for 62,000
//! operational places, and 16,000 écroués non détenus (electronic tag, outside placement);
//! 3.7 % women, 1 % minors, about 27 % of detainees prévenus. Maisons d'arrêt are the most
//! overcrowded (~150 %), centres de détention and maisons centrales below capacity. Places are
//! constant over a year; persons vary a little from month to month, and follow the national
//! series across years (the spring 2020 releases included). `scale` multiplies persons and
//! places alike, so densities do not depend on it.

use crate::calendar::days_from_civil;
use crate::rng::{Rng, mix};
use crate::{Defect, DirtSpec, Sink, SynthError, YearContext};

/// The columns of `sources/prison.toml`.
pub(crate) const COLUMNS: &[&str] = &[
    "establishment",
    "establishment_type",
    "month",
    "sex",
    "age_group",
    "detained",
    "status",
    "persons",
    "operational_places",
];

const PERSONS: usize = 7;

pub(crate) static DIRT: DirtSpec = DirtSpec {
    kinds: &[
        Defect::NegativePersons,
        Defect::UnknownEstablishment,
        Defect::Duplicate,
        Defect::MissingValue,
        Defect::UnknownCode,
    ],
    unknown_codes: &[(1, "QPA"), (3, "X"), (4, "Y_LT13"), (6, "LIBRE")],
    required: &[1, 2, 3, 4, 6, PERSONS, 8],
};

/// Detained per operational place, by type of establishment.
fn density(kind: &str) -> f64 {
    match kind {
        "MA" => 1.49,
        "CP" => 1.29,
        "CD" => 0.93,
        "MC" => 0.85,
        "CSL" => 0.80,
        _ => 0.75,
    }
}

/// Share of prévenus among adult detainees, by type: remand prisoners are held in maisons
/// d'arrêt (and the maison d'arrêt quarters of centres pénitentiaires).
fn prevenu_share(kind: &str) -> f64 {
    match kind {
        "MA" => 0.37,
        "CP" => 0.24,
        "EPM" => 0.70,
        _ => 0.02,
    }
}

/// Établissements that hold écroués non détenus (tags are attached to a local prison).
fn holds_non_detained(kind: &str) -> bool {
    matches!(kind, "MA" | "CP" | "CSL")
}

const NON_DETAINED: f64 = 16_000.0;
const NON_DETAINED_WOMEN: f64 = 0.07;
const NON_DETAINED_PREVENUS: f64 = 0.06;
const MINOR_PREVENUS: f64 = 0.70;
const MINOR_BANDS: [(&str, f64); 2] = [("Y13T15", 0.12), ("Y16T17", 0.88)];
const ADULT_BANDS: [(&str, f64); 7] = [
    ("Y18T20", 0.06),
    ("Y21T24", 0.13),
    ("Y25T29", 0.17),
    ("Y30T39", 0.30),
    ("Y40T49", 0.19),
    ("Y50T59", 0.10),
    ("Y_GE60", 0.05),
];

/// Persons écrouées relative to 2024, by year and month (the national series).
fn national_factor(year: i16, month: usize) -> f64 {
    match year {
        ..=2019 => 0.88,
        2020 => [
            0.88, 0.88, 0.86, 0.78, 0.73, 0.73, 0.74, 0.76, 0.77, 0.78, 0.78, 0.78,
        ][month],
        2021 => 0.84 + 0.004 * month as f64,
        2022 => 0.89 + 0.003 * month as f64,
        2023 => 0.93 + 0.003 * month as f64,
        2024 => 0.975 + 0.004 * month as f64,
        2025.. => 1.02 + 0.003 * month as f64,
    }
}

pub(crate) fn generate(
    ctx: &YearContext<'_>,
    rng: &mut Rng,
    sink: &mut Sink<'_>,
) -> Result<(), SynthError> {
    let establishments = &ctx.reference.establishments;
    let non_detained_places: f64 = establishments
        .iter()
        .filter(|e| holds_non_detained(&e.kind))
        .map(|e| e.places)
        .sum();
    let year = i32::from(ctx.year);
    let blocks = 12 * establishments.len() as u64;
    let ragged_block = sink.dirt.ragged_block(blocks / 2);
    for month in 0..12 {
        let first = days_from_civil(year, month as u32 + 1, 1);
        let national = national_factor(ctx.year, month);
        for (i, e) in establishments.iter().enumerate() {
            if ragged_block == Some((month * establishments.len() + i) as u64) {
                sink.dirt.ragged_from(sink.next_row());
            }
            // Each establishment has its own seasonal phase, plus a little noise each month.
            let phase = (mix(i as u64) % 12) as f64;
            let wave = 1.0
                + 0.02 * ((month as f64 + phase) * std::f64::consts::TAU / 12.0).sin()
                + 0.02 * (rng.f64() - 0.5);
            let places = (e.places * ctx.scale).round().max(1.0) as i64;
            let level = national * wave * ctx.scale;
            let detained = e.places * density(&e.kind) * level;
            let non_detained = if holds_non_detained(&e.kind) {
                NON_DETAINED * e.places / non_detained_places * level
            } else {
                0.0
            };
            for (sex, woman) in [("F", true), ("M", false)] {
                let sex_share = if woman {
                    e.women_share
                } else {
                    1.0 - e.women_share
                };
                let nd_sex_share = if woman {
                    NON_DETAINED_WOMEN
                } else {
                    1.0 - NON_DETAINED_WOMEN
                };
                let bands = MINOR_BANDS
                    .iter()
                    .map(|(b, s)| (*b, true, s * e.minor_share))
                    .chain(
                        ADULT_BANDS
                            .iter()
                            .map(|(b, s)| (*b, false, s * (1.0 - e.minor_share))),
                    );
                for (band, minor, age_share) in bands {
                    let prevenus = if minor {
                        MINOR_PREVENUS
                    } else {
                        prevenu_share(&e.kind)
                    };
                    let adult_nd = if minor {
                        0.0
                    } else {
                        non_detained * nd_sex_share * age_share / (1.0 - e.minor_share)
                    };
                    for (is_detained, base, prevenu_share) in [
                        (true, detained * sex_share * age_share, prevenus),
                        (false, adult_nd, NON_DETAINED_PREVENUS),
                    ] {
                        for (status, share) in [
                            ("PREVENU", prevenu_share),
                            ("CONDAMNE", 1.0 - prevenu_share),
                        ] {
                            let mut persons = rng.round_random(base * share) as i64;
                            if persons == 0 {
                                continue;
                            }
                            let defect = sink.dirt.draw(sink.next_row());
                            if defect == Some(Defect::NegativePersons) {
                                persons = -persons;
                            }
                            let line = &mut sink.line;
                            line.clear();
                            if defect == Some(Defect::UnknownEstablishment) {
                                line.code("E_999");
                            } else {
                                line.code(&e.code);
                            }
                            line.code(&e.kind);
                            line.date_iso(first);
                            line.code(sex);
                            line.code(band);
                            line.flag(is_detained);
                            line.code(status);
                            line.int(persons);
                            line.int(places);
                            sink.emit(defect)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}
