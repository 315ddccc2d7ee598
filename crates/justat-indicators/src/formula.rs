//! Formulas over a cube's measures: `+ - * /`, parentheses, numbers, measure names, and
//! `median(measure: low..high, …)`, the median interpolated within delay bands.
//!
//! A formula is evaluated on the measures of one cell (one area, one period). A division by
//! zero or a median over no case gives no value rather than an infinite or made-up one.

use std::collections::BTreeMap;
use std::fmt;

/// The longest formula accepted, in bytes.
pub const MAX_FORMULA_LEN: usize = 2_000;
/// The deepest nesting of parentheses and signs accepted.
const MAX_DEPTH: usize = 32;

/// A parsed formula.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Number(f64),
    Measure(String),
    Neg(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Median(Vec<Band>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// A delay band of a median: the measure counting the cases whose delay is in `low..high`.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The measure counting the band's cases.
    pub measure: String,
    /// The band's lower bound (the unit of the delay, days for instance).
    pub low: f64,
    /// The band's upper bound.
    pub high: f64,
}

/// Why a formula was refused: the byte offset in the formula where it went wrong, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("caractère {}: {message}", .offset + 1)]
pub struct FormulaError {
    /// Byte offset in the formula's text.
    pub offset: usize,
    /// What is wrong, in French.
    pub message: String,
}

impl Formula {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        if text.len() > MAX_FORMULA_LEN {
            return Err(FormulaError {
                offset: MAX_FORMULA_LEN,
                message: format!("formule trop longue (plus de {MAX_FORMULA_LEN} caractères)"),
            });
        }
        let tokens = lex(text)?;
        let mut p = Parser {
            tokens,
            pos: 0,
            depth: 0,
            end: text.len(),
        };
        let expr = p.expr()?;
        if let Some((t, at)) = p.tokens.get(p.pos) {
            return Err(FormulaError {
                offset: *at,
                message: format!("{t} inattendu : un opérateur (+, -, *, /) est attendu"),
            });
        }
        Ok(Formula { expr })
    }

    /// The measures the formula reads, sorted, each once.
    pub fn measures(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.expr.measures(&mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The value over one cell's measures; `None` when a denominator is zero, a median has
    /// no case, or a measure is missing from `values`.
    pub fn evaluate(&self, values: &BTreeMap<String, f64>) -> Option<f64> {
        self.expr.evaluate(values).filter(|v| v.is_finite())
    }
}

impl Expr {
    fn measures<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Measure(m) => out.push(m),
            Expr::Neg(e) => e.measures(out),
            Expr::Binary(_, a, b) => {
                a.measures(out);
                b.measures(out);
            }
            Expr::Median(bands) => out.extend(bands.iter().map(|b| b.measure.as_str())),
        }
    }

    fn evaluate(&self, values: &BTreeMap<String, f64>) -> Option<f64> {
        match self {
            Expr::Number(n) => Some(*n),
            Expr::Measure(m) => values.get(m).copied(),
            Expr::Neg(e) => e.evaluate(values).map(|v| -v),
            Expr::Binary(op, a, b) => {
                let (a, b) = (a.evaluate(values)?, b.evaluate(values)?);
                match op {
                    Op::Add => Some(a + b),
                    Op::Sub => Some(a - b),
                    Op::Mul => Some(a * b),
                    Op::Div => (b != 0.0).then(|| a / b),
                }
            }
            Expr::Median(bands) => {
                let counts = bands
                    .iter()
                    .map(|b| values.get(&b.measure).copied())
                    .collect::<Option<Vec<f64>>>()?;
                median(bands, &counts)
            }
        }
    }
}

/// The median of cases counted by band, assuming them spread evenly within each band: the
/// band where the cumulated count reaches half the total, and the point of it in proportion.
pub fn median(bands: &[Band], counts: &[f64]) -> Option<f64> {
    let total: f64 = counts.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let half = total / 2.0;
    let mut below = 0.0;
    for (band, count) in bands.iter().zip(counts) {
        if *count > 0.0 && below + count >= half {
            return Some(band.low + (half - below) / count * (band.high - band.low));
        }
        below += count;
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Plus,
    Minus,
    Star,
    Slash,
    Open,
    Close,
    Comma,
    Colon,
    Range,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Number(n) => write!(f, "le nombre {n}"),
            Token::Name(n) => write!(f, "`{n}`"),
            Token::Plus => f.write_str("`+`"),
            Token::Minus => f.write_str("`-`"),
            Token::Star => f.write_str("`*`"),
            Token::Slash => f.write_str("`/`"),
            Token::Open => f.write_str("`(`"),
            Token::Close => f.write_str("`)`"),
            Token::Comma => f.write_str("`,`"),
            Token::Colon => f.write_str("`:`"),
            Token::Range => f.write_str("`..`"),
        }
    }
}

fn lex(text: &str) -> Result<Vec<(Token, usize)>, FormulaError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let token = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'+' => Token::Plus,
            b'-' => Token::Minus,
            b'*' => Token::Star,
            b'/' => Token::Slash,
            b'(' => Token::Open,
            b')' => Token::Close,
            b',' => Token::Comma,
            b':' => Token::Colon,
            b'.' if bytes.get(i + 1) == Some(&b'.') => {
                i += 2;
                out.push((Token::Range, start));
                continue;
            }
            b'0'..=b'9' => {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                // A decimal point only when a digit follows: `0..30` is a range.
                if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let n = text[start..i].parse::<f64>().map_err(|_| FormulaError {
                    offset: start,
                    message: format!("nombre illisible « {} »", &text[start..i]),
                })?;
                out.push((Token::Number(n), start));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push((Token::Name(text[start..i].to_string()), start));
                continue;
            }
            _ => {
                let ch = text[start..].chars().next().unwrap_or('?');
                return Err(FormulaError {
                    offset: start,
                    message: format!(
                        "caractère « {ch} » inattendu : une formule n'a que des mesures, des nombres, + - * / ( ) et median(…)"
                    ),
                });
            }
        };
        i += 1;
        out.push((token, start));
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    pos: usize,
    depth: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(_, at)| *at)
    }

    fn error(&self, message: impl Into<String>) -> FormulaError {
        FormulaError {
            offset: self.offset(),
            message: message.into(),
        }
    }

    fn expect(&mut self, want: &Token, what: &str) -> Result<(), FormulaError> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("{what} attendu{}", self.found())))
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => format!(", {t} trouvé"),
            None => ", fin de la formule trouvée".to_string(),
        }
    }

    fn expr(&mut self) -> Result<Expr, FormulaError> {
        let mut left = self.term()?;
        loop {
            let op = match self.peek() {
                Some(Token::Plus) => Op::Add,
                Some(Token::Minus) => Op::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.term()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn term(&mut self) -> Result<Expr, FormulaError> {
        let mut left = self.factor()?;
        loop {
            let op = match self.peek() {
                Some(Token::Star) => Op::Mul,
                Some(Token::Slash) => Op::Div,
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.factor()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn factor(&mut self) -> Result<Expr, FormulaError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!(
                "formule trop imbriquée (plus de {MAX_DEPTH} niveaux)"
            )));
        }
        let result = self.factor_inner();
        self.depth -= 1;
        result
    }

    fn factor_inner(&mut self) -> Result<Expr, FormulaError> {
        let Some((token, _)) = self.tokens.get(self.pos).cloned() else {
            return Err(
                self.error("une mesure, un nombre ou `(` attendu, fin de la formule trouvée")
            );
        };
        match token {
            Token::Number(n) => {
                self.pos += 1;
                Ok(Expr::Number(n))
            }
            Token::Minus => {
                self.pos += 1;
                Ok(Expr::Neg(Box::new(self.factor()?)))
            }
            Token::Open => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect(&Token::Close, "`)`")?;
                Ok(e)
            }
            Token::Name(name)
                if self.tokens.get(self.pos + 1).map(|t| &t.0) == Some(&Token::Open) =>
            {
                if name != "median" {
                    return Err(self.error(format!(
                        "fonction `{name}` inconnue : la seule fonction est median(mesure: début..fin, …)"
                    )));
                }
                self.pos += 2;
                self.median()
            }
            Token::Name(name) => {
                self.pos += 1;
                Ok(Expr::Measure(name))
            }
            other => Err(self.error(format!(
                "une mesure, un nombre ou `(` attendu, {other} trouvé"
            ))),
        }
    }

    /// `median(` already read: `measure: low..high` bands, contiguous and increasing.
    fn median(&mut self) -> Result<Expr, FormulaError> {
        let mut bands: Vec<Band> = Vec::new();
        loop {
            let at = self.offset();
            let measure = match self.peek() {
                Some(Token::Name(n)) => n.clone(),
                _ => {
                    return Err(self.error(format!(
                        "une mesure (le nombre de cas d'une tranche) attendue{}",
                        self.found()
                    )));
                }
            };
            self.pos += 1;
            self.expect(&Token::Colon, "`:` puis la tranche (début..fin)")?;
            let low = self.number()?;
            self.expect(&Token::Range, "`..`")?;
            let high = self.number()?;
            if high <= low {
                return Err(FormulaError {
                    offset: at,
                    message: format!("tranche {low}..{high} de `{measure}` vide ou à l'envers"),
                });
            }
            if let Some(previous) = bands.last()
                && previous.high != low
            {
                return Err(FormulaError {
                    offset: at,
                    message: format!(
                        "les tranches se suivent : `{measure}` commence à {low}, la précédente finit à {}",
                        previous.high
                    ),
                });
            }
            bands.push(Band { measure, low, high });
            match self.peek() {
                Some(Token::Comma) => self.pos += 1,
                Some(Token::Close) => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.error(format!("`,` ou `)` attendu{}", self.found()))),
            }
        }
        if bands.len() < 2 {
            return Err(self.error("une médiane a au moins deux tranches"));
        }
        Ok(Expr::Median(bands))
    }

    fn number(&mut self) -> Result<f64, FormulaError> {
        match self.peek() {
            Some(Token::Number(n)) => {
                let n = *n;
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.error(format!("un nombre attendu{}", self.found()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn arithmetic_follows_precedence_and_parentheses() {
        let v = values(&[("a", 3.0), ("b", 4.0)]);
        let eval = |t: &str| Formula::parse(t).unwrap().evaluate(&v);
        assert_eq!(eval("a + b * 2"), Some(11.0));
        assert_eq!(eval("(a + b) * 2"), Some(14.0));
        assert_eq!(eval("100 * a / b"), Some(75.0));
        assert_eq!(eval("a - b - 1"), Some(-2.0));
        assert_eq!(eval("-a + 0.5"), Some(-2.5));
        assert_eq!(
            eval("a / (b - 4)"),
            None,
            "a zero denominator gives no value"
        );
        assert_eq!(eval("missing + 1"), None);
    }

    #[test]
    fn measures_are_listed_once_sorted() {
        let f = Formula::parse("b / a + a * median(x: 0..1, w: 1..5)").unwrap();
        assert_eq!(f.measures(), ["a", "b", "w", "x"]);
    }

    #[test]
    fn the_median_is_interpolated_within_its_band() {
        let f = Formula::parse("median(a: 0..30, b: 30..60, c: 60..90)").unwrap();
        // 100 cases: 20 below 30, 60 in 30..60: the 50th is half-way into b.
        assert_eq!(
            f.evaluate(&values(&[("a", 20.0), ("b", 60.0), ("c", 20.0)])),
            Some(45.0)
        );
        // Exactly half in the first band: its upper bound.
        assert_eq!(
            f.evaluate(&values(&[("a", 10.0), ("b", 0.0), ("c", 10.0)])),
            Some(30.0)
        );
        assert_eq!(
            f.evaluate(&values(&[("a", 0.0), ("b", 0.0), ("c", 0.0)])),
            None
        );
        assert_eq!(
            f.evaluate(&values(&[("a", 0.0), ("b", 0.0), ("c", 4.0)])),
            Some(75.0)
        );
    }

    #[test]
    fn bad_formulas_are_refused_where_they_go_wrong() {
        let err = |t: &str| Formula::parse(t).unwrap_err();
        assert_eq!(err("a +").offset, 3);
        assert!(err("a +").message.contains("fin de la formule"));
        assert_eq!(err("a b").offset, 2);
        assert_eq!(err("(a + b").offset, 6);
        assert_eq!(err("a % b").offset, 2);
        assert!(err("sum(a)").message.contains("fonction `sum` inconnue"));
        assert!(err("median(a: 0..30)").message.contains("au moins deux"));
        assert!(
            err("median(a: 0..30, b: 40..60)")
                .message
                .contains("se suivent")
        );
        assert!(
            err("median(a: 30..0, b: 0..60)")
                .message
                .contains("à l'envers")
        );
        assert_eq!(err("").offset, 0);
        let deep = format!("{}a{}", "(".repeat(40), ")".repeat(40));
        assert!(err(&deep).message.contains("imbriquée"));
        assert!(err(&"a+".repeat(1_500)).message.contains("trop longue"));
        assert_eq!(
            err("a + é").to_string(),
            "caractère 5: caractère « é » inattendu : une formule n'a que des mesures, des nombres, + - * / ( ) et median(…)"
        );
    }
}
