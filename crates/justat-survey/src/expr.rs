//! The expression language of filters (`show_if`) and controls (`must`).
//!
//! A small, VTL-compatible scalar subset, so that the expressions of a Lunatic questionnaire
//! parse with the same code: literals (`12`, `3,5` is not a number — use `3.5` —, `"texte"`,
//! `true`, `false`), references to answers (`q3`, `victimes.G_BIENS.F`, `victimes._T._T`,
//! inside a loop the current item's `effectif`, outside it the whole column
//! `services.effectif`), `+ - * /`, `= <> < <= > >=`, `and or not`, `if … then … else …` and
//! the functions `is_blank(q)`, `is_dk(q)`, `is_refused(q)`, `nvl(x, défaut)`, `sum(…)`,
//! `count(boucle)`, `contains(q, "code")`, `isnull(q)` (VTL's name of `is_blank`).
//!
//! Missing values: a blank answer, « ne sait pas » and « refus » all evaluate to *missing*.
//! Arithmetic and comparisons with a missing operand are missing; `and`/`or` follow Kleene's
//! three-valued logic (`false and missing` is `false`, `true or missing` is `true`); `sum`
//! is missing as soon as one term is. A filter shows its question only when it is true; a
//! control fires only when it is false — so a control never fires on what was not answered:
//! blanks are the business of `required` and `is_blank`. `nvl` turns missing into a default.

use std::fmt;

/// A parsed expression; its references are resolved by [`crate::questionnaire`]'s checker.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number literal.
    Number(f64),
    /// A string literal.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// A reference, with its byte offset in the source.
    Ref(Ref, usize),
    /// `not x` or `-x`.
    Unary(UnaryOp, Box<Expr>),
    /// A binary operation.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A function call, with its byte offset.
    Call(Func, Vec<Expr>, usize),
    /// `if c then a else b`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
}

/// What a name in an expression designates.
#[derive(Debug, Clone, PartialEq)]
pub enum Ref {
    /// As written, before the checker resolved it.
    Name(String),
    /// One stored answer, by its path (a question, a count-table cell or entered total).
    Answer(String),
    /// A count table's computed total: `row` or `column` `None` for `_T`.
    Total {
        /// The table's question id.
        table: String,
        /// The row code, or `None` for the column total.
        row: Option<String>,
        /// The column code, or `None` for the row total.
        column: Option<String>,
    },
    /// A question of the current loop item.
    Item {
        /// The loop's id.
        looped: String,
        /// The inner question's id.
        question: String,
    },
    /// A question over all items of a loop (a list, for `sum`).
    Column {
        /// The loop's id.
        looped: String,
        /// The inner question's id.
        question: String,
    },
    /// A loop itself (its item count, for `count`).
    Items(String),
    /// Whether a multiple choice includes a code (a Lunatic CheckboxGroup's boolean).
    Option {
        /// The multiple-choice question.
        question: String,
        /// The option's code.
        code: String,
    },
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// Logical negation.
    Not,
    /// Arithmetic negation.
    Neg,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `and`
    And,
    /// `or`
    Or,
}

/// The functions of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `is_blank(q)` (alias `isnull`): the answer is blank — not « ne sait pas », not « refus ».
    IsBlank,
    /// `is_dk(q)`: the answer is « ne sait pas ».
    IsDontKnow,
    /// `is_refused(q)`: the answer is « refus ».
    IsRefused,
    /// `nvl(x, d)`: `x`, or `d` when `x` is missing.
    Nvl,
    /// `sum(a, b, …)` or `sum(boucle.question)`.
    Sum,
    /// `count(boucle)`: the number of items.
    Count,
    /// `contains(q, "code")`: a multiple-choice answer includes the code.
    Contains,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "is_blank" | "isnull" => Func::IsBlank,
            "is_dk" => Func::IsDontKnow,
            "is_refused" => Func::IsRefused,
            "nvl" => Func::Nvl,
            "sum" => Func::Sum,
            "count" => Func::Count,
            "contains" => Func::Contains,
            _ => return None,
        })
    }
}

/// The type of an expression, checked when the questionnaire is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// true / false.
    Bool,
    /// Integers and decimals.
    Number,
    /// Text, and the code of a single choice.
    Text,
    /// A date.
    Date,
    /// The codes of a multiple choice.
    Codes,
    /// A loop column of numbers.
    NumberList,
    /// A loop column of another type (only `is_blank`-free uses are refused).
    OtherList,
    /// A loop (for `count`).
    Items,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Bool => "booléen",
            Type::Number => "nombre",
            Type::Text => "texte",
            Type::Date => "date",
            Type::Codes => "choix multiple",
            Type::NumberList => "liste de nombres",
            Type::OtherList => "liste",
            Type::Items => "boucle",
        })
    }
}

/// A syntax or type error, at a byte offset of the expression's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// Byte offset in the expression's source.
    pub offset: usize,
    /// French message.
    pub message: String,
}

/// Which dialect is parsed: Justat's own, or the VTL of a Lunatic file (same grammar, but an
/// unknown function or operator is refused with VTL's name for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Justat's questionnaire files.
    Justat,
    /// VTL expressions of a Lunatic questionnaire.
    Vtl,
}

/// Longest expression accepted: expressions are written by people, a longer one is a mistake.
pub const MAX_EXPRESSION_LEN: usize = 4_000;
/// Deepest nesting accepted, so that a hostile file cannot overflow the stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Name(String),
    Op(&'static str),
}

fn lex(src: &str, dialect: Dialect) -> Result<Vec<(Tok, usize)>, ExprError> {
    let err = |offset, message: String| ExprError { offset, message };
    if src.len() > MAX_EXPRESSION_LEN {
        return Err(err(
            0,
            format!("expression trop longue (plus de {MAX_EXPRESSION_LEN} caractères)"),
        ));
    }
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            let text = &src[start..i];
            let n = text
                .parse::<f64>()
                .map_err(|_| err(start, format!("nombre mal formé « {text} »")))?;
            out.push((Tok::Num(n), start));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.')
            {
                i += 1;
            }
            let name = &src[start..i];
            if name.ends_with('.') || name.contains("..") {
                return Err(err(start, format!("nom mal formé « {name} »")));
            }
            out.push((Tok::Name(name.to_string()), start));
        } else if c == b'"' {
            let start = i;
            i += 1;
            let mut s = String::new();
            loop {
                match src[i..].chars().next() {
                    None => {
                        return Err(err(start, "chaîne non terminée (il manque « \" »)".into()));
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push((Tok::Str(s), start));
        } else {
            let two = src.get(i..i + 2).unwrap_or("");
            let op: &'static str = match two {
                "<>" => "<>",
                "<=" => "<=",
                ">=" => ">=",
                "||" | "!=" | "==" | "&&" => {
                    return Err(match dialect {
                        Dialect::Vtl => {
                            err(i, format!("opérateur VTL « {two} » non pris en charge"))
                        }
                        Dialect::Justat => err(
                            i,
                            format!("opérateur « {two} » inconnu (écrire =, <>, and, or)"),
                        ),
                    });
                }
                _ => match c {
                    b'+' => "+",
                    b'-' => "-",
                    b'*' => "*",
                    b'/' => "/",
                    b'=' => "=",
                    b'<' => "<",
                    b'>' => ">",
                    b'(' => "(",
                    b')' => ")",
                    b',' => ",",
                    _ => {
                        let ch = src[i..].chars().next().unwrap_or('?');
                        return Err(match dialect {
                            Dialect::Vtl => {
                                err(i, format!("opérateur VTL « {ch} » non pris en charge"))
                            }
                            Dialect::Justat => err(i, format!("caractère inattendu « {ch} »")),
                        });
                    }
                },
            };
            out.push((Tok::Op(op), i));
            i += op.len();
        }
    }
    Ok(out)
}

/// Parses an expression; names stay unresolved ([`Ref::Name`]).
pub fn parse(src: &str, dialect: Dialect) -> Result<Expr, ExprError> {
    let toks = lex(src, dialect)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: src.trim_end().len(),
        dialect,
        depth: 0,
    };
    let e = p.or()?;
    if let Some((t, at)) = p.toks.get(p.pos) {
        return Err(ExprError {
            offset: *at,
            message: format!("{} inattendu", show(t)),
        });
    }
    Ok(e)
}

fn show(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("nombre « {n} »"),
        Tok::Str(s) => format!("texte « \"{s}\" »"),
        Tok::Name(n) => format!("nom « {n} »"),
        Tok::Op(o) => format!("« {o} »"),
    }
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end: usize,
    dialect: Dialect,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }
    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |(_, a)| *a)
    }
    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Name(n)) if n == w)
    }
    fn expect_op(&mut self, op: &str) -> Result<(), ExprError> {
        if self.is_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("« {op} » attendu")))
        }
    }
    fn expect_word(&mut self, w: &str) -> Result<(), ExprError> {
        if self.is_word(w) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("« {w} » attendu")))
        }
    }
    fn unexpected(&self, wanted: &str) -> ExprError {
        let found = self
            .peek()
            .map_or("la fin de l'expression".to_string(), show);
        ExprError {
            offset: self.at(),
            message: format!("{wanted}, trouvé {found}"),
        }
    }
    fn deeper(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError {
                offset: self.at(),
                message: "expression trop imbriquée".into(),
            });
        }
        Ok(())
    }
    fn or(&mut self) -> Result<Expr, ExprError> {
        let mut l = self.and()?;
        while self.is_word("or") {
            self.pos += 1;
            let r = self.and()?;
            l = Expr::Binary(BinaryOp::Or, Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, ExprError> {
        let mut l = self.not()?;
        while self.is_word("and") {
            self.pos += 1;
            let r = self.not()?;
            l = Expr::Binary(BinaryOp::And, Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn not(&mut self) -> Result<Expr, ExprError> {
        if self.is_word("not") {
            self.pos += 1;
            self.deeper()?;
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Unary(UnaryOp::Not, Box::new(e)));
        }
        self.comparison()
    }
    fn comparison(&mut self) -> Result<Expr, ExprError> {
        let l = self.additive()?;
        let op = match self.peek() {
            Some(Tok::Op("=")) => BinaryOp::Eq,
            Some(Tok::Op("<>")) => BinaryOp::Ne,
            Some(Tok::Op("<")) => BinaryOp::Lt,
            Some(Tok::Op("<=")) => BinaryOp::Le,
            Some(Tok::Op(">")) => BinaryOp::Gt,
            Some(Tok::Op(">=")) => BinaryOp::Ge,
            _ => return Ok(l),
        };
        self.pos += 1;
        let r = self.additive()?;
        Ok(Expr::Binary(op, Box::new(l), Box::new(r)))
    }
    fn additive(&mut self) -> Result<Expr, ExprError> {
        let mut l = self.multiplicative()?;
        loop {
            let op = if self.is_op("+") {
                BinaryOp::Add
            } else if self.is_op("-") {
                BinaryOp::Sub
            } else {
                return Ok(l);
            };
            self.pos += 1;
            let r = self.multiplicative()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }
    fn multiplicative(&mut self) -> Result<Expr, ExprError> {
        let mut l = self.unary()?;
        loop {
            let op = if self.is_op("*") {
                BinaryOp::Mul
            } else if self.is_op("/") {
                BinaryOp::Div
            } else {
                return Ok(l);
            };
            self.pos += 1;
            let r = self.unary()?;
            l = Expr::Binary(op, Box::new(l), Box::new(r));
        }
    }
    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.is_op("-") {
            self.pos += 1;
            self.deeper()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Unary(UnaryOp::Neg, Box::new(e)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Expr, ExprError> {
        let at = self.at();
        let Some(tok) = self.peek().cloned() else {
            return Err(self.unexpected("valeur attendue"));
        };
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(Expr::Number(n)),
            Tok::Str(s) => Ok(Expr::Text(s)),
            Tok::Op("(") => {
                self.deeper()?;
                let e = self.or()?;
                self.depth -= 1;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Name(n) if n == "true" => Ok(Expr::Bool(true)),
            Tok::Name(n) if n == "false" => Ok(Expr::Bool(false)),
            Tok::Name(n) if n == "if" => {
                self.deeper()?;
                let c = self.or()?;
                self.expect_word("then")?;
                let a = self.or()?;
                self.expect_word("else")?;
                let b = self.or()?;
                self.depth -= 1;
                Ok(Expr::If(Box::new(c), Box::new(a), Box::new(b)))
            }
            Tok::Name(n) if ["and", "or", "then", "else"].contains(&n.as_str()) => Err(ExprError {
                offset: at,
                message: format!("valeur attendue, trouvé « {n} »"),
            }),
            Tok::Name(n) if self.is_op("(") => {
                let Some(func) = Func::from_name(&n) else {
                    return Err(ExprError {
                        offset: at,
                        message: match self.dialect {
                            Dialect::Vtl => format!("opérateur VTL « {n} » non pris en charge"),
                            Dialect::Justat => format!(
                                "fonction inconnue « {n} » (connues : is_blank, is_dk, is_refused, nvl, sum, count, contains)"
                            ),
                        },
                    });
                };
                self.pos += 1;
                self.deeper()?;
                let mut args = Vec::new();
                if !self.is_op(")") {
                    loop {
                        args.push(self.or()?);
                        if self.is_op(",") {
                            self.pos += 1;
                        } else {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                self.expect_op(")")?;
                Ok(Expr::Call(func, args, at))
            }
            Tok::Name(n) => Ok(Expr::Ref(Ref::Name(n), at)),
            Tok::Op(o) => Err(ExprError {
                offset: at,
                message: format!("valeur attendue, trouvé « {o} »"),
            }),
        }
    }
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A blank, « ne sait pas » or « refus » answer, or what was computed from one.
    Missing,
    /// true / false.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A text or a code.
    Text(String),
    /// A date.
    Date(jiff::civil::Date),
    /// The codes of a multiple choice.
    Codes(Vec<String>),
    /// A loop column.
    List(Vec<Value>),
}

/// Why an answer is missing, for `is_blank`, `is_dk`, `is_refused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Answered with a value.
    Given,
    /// Not answered.
    Blank,
    /// « Ne sait pas ».
    DontKnow,
    /// « Refus ».
    Refused,
}

/// What the evaluator asks of the answers.
pub trait Env {
    /// The value of a resolved reference.
    fn value(&self, r: &Ref) -> Value;
    /// Whether a resolved reference was answered.
    fn presence(&self, r: &Ref) -> Presence;
}

/// Evaluates a checked expression.
pub fn eval(e: &Expr, env: &dyn Env) -> Value {
    use Value::*;
    match e {
        Expr::Number(n) => Number(*n),
        Expr::Text(s) => Text(s.clone()),
        Expr::Bool(b) => Bool(*b),
        Expr::Ref(r, _) => env.value(r),
        Expr::Unary(UnaryOp::Not, x) => match eval(x, env) {
            Bool(b) => Bool(!b),
            _ => Missing,
        },
        Expr::Unary(UnaryOp::Neg, x) => match eval(x, env) {
            Number(n) => Number(-n),
            _ => Missing,
        },
        Expr::If(c, a, b) => match eval(c, env) {
            Bool(true) => eval(a, env),
            Bool(false) => eval(b, env),
            _ => Missing,
        },
        Expr::Binary(op, l, r) => binary(*op, eval(l, env), || eval(r, env)),
        Expr::Call(f, args, _) => call(*f, args, env),
    }
}

fn binary(op: BinaryOp, l: Value, r: impl FnOnce() -> Value) -> Value {
    use Value::*;
    match op {
        BinaryOp::And => match (l, r()) {
            (Bool(false), _) | (_, Bool(false)) => Bool(false),
            (Bool(true), Bool(true)) => Bool(true),
            _ => Missing,
        },
        BinaryOp::Or => match (l, r()) {
            (Bool(true), _) | (_, Bool(true)) => Bool(true),
            (Bool(false), Bool(false)) => Bool(false),
            _ => Missing,
        },
        _ => {
            let r = r();
            match (l, r) {
                (Number(a), Number(b)) => match op {
                    BinaryOp::Add => Number(a + b),
                    BinaryOp::Sub => Number(a - b),
                    BinaryOp::Mul => Number(a * b),
                    BinaryOp::Div if b == 0.0 => Missing,
                    BinaryOp::Div => Number(a / b),
                    _ => compare(op, a.partial_cmp(&b)),
                },
                (Text(a), Text(b)) => compare(op, Some(a.cmp(&b))),
                (Date(a), Date(b)) => compare(op, Some(a.cmp(&b))),
                (Bool(a), Bool(b)) => compare(op, Some(a.cmp(&b))),
                _ => Missing,
            }
        }
    }
}

fn compare(op: BinaryOp, ord: Option<std::cmp::Ordering>) -> Value {
    use std::cmp::Ordering::*;
    let Some(o) = ord else { return Value::Missing };
    Value::Bool(match op {
        BinaryOp::Eq => o == Equal,
        BinaryOp::Ne => o != Equal,
        BinaryOp::Lt => o == Less,
        BinaryOp::Le => o != Greater,
        BinaryOp::Gt => o == Greater,
        BinaryOp::Ge => o != Less,
        _ => return Value::Missing,
    })
}

fn call(f: Func, args: &[Expr], env: &dyn Env) -> Value {
    use Value::*;
    let presence = |i: usize| match args.get(i) {
        Some(Expr::Ref(r, _)) => env.presence(r),
        _ => Presence::Given,
    };
    match f {
        Func::IsBlank => Bool(presence(0) == Presence::Blank),
        Func::IsDontKnow => Bool(presence(0) == Presence::DontKnow),
        Func::IsRefused => Bool(presence(0) == Presence::Refused),
        Func::Nvl => match args.first().map(|a| eval(a, env)) {
            Some(Missing) | None => args.get(1).map_or(Missing, |d| eval(d, env)),
            Some(v) => v,
        },
        Func::Count => match args.first().map(|a| eval(a, env)) {
            Some(Number(n)) => Number(n),
            _ => Missing,
        },
        Func::Contains => match (
            args.first().map(|a| eval(a, env)),
            args.get(1).map(|a| eval(a, env)),
        ) {
            (Some(Codes(cs)), Some(Text(c))) => Bool(cs.contains(&c)),
            _ => Missing,
        },
        Func::Sum => {
            let mut total = 0.0;
            for a in args {
                let terms = match eval(a, env) {
                    List(items) => items,
                    v => vec![v],
                };
                for t in terms {
                    match t {
                        Number(n) => total += n,
                        _ => return Missing,
                    }
                }
            }
            Number(total)
        }
    }
}

/// The types a checker resolves names to.
pub trait Scope {
    /// Resolves a name to a reference and its type, or says why not (French).
    fn resolve(&self, name: &str) -> Result<(Ref, Type), String>;
}

/// Resolves the names of `e` in `scope` and checks its type, returning it.
pub fn check(e: &mut Expr, scope: &dyn Scope) -> Result<Type, ExprError> {
    let mismatch = |offset, message: String| Err(ExprError { offset, message });
    match e {
        Expr::Number(_) => Ok(Type::Number),
        Expr::Text(_) => Ok(Type::Text),
        Expr::Bool(_) => Ok(Type::Bool),
        Expr::Ref(r, at) => {
            let Ref::Name(name) = r else {
                return Err(ExprError {
                    offset: *at,
                    message: "référence déjà résolue".into(),
                });
            };
            let (resolved, ty) = scope.resolve(name).map_err(|message| ExprError {
                offset: *at,
                message,
            })?;
            *r = resolved;
            Ok(ty)
        }
        Expr::Unary(op, x) => {
            let at = offset_of(x);
            let t = check(x, scope)?;
            let want = if *op == UnaryOp::Not {
                Type::Bool
            } else {
                Type::Number
            };
            if t != want {
                return mismatch(
                    at,
                    format!(
                        "{want} attendu après « {} », trouvé {t}",
                        if *op == UnaryOp::Not { "not" } else { "-" }
                    ),
                );
            }
            Ok(want)
        }
        Expr::If(c, a, b) => {
            let at = offset_of(c);
            let tc = check(c, scope)?;
            if tc != Type::Bool {
                return mismatch(
                    at,
                    format!("la condition de « if » doit être un booléen, trouvé {tc}"),
                );
            }
            let ta = check(a, scope)?;
            let at_b = offset_of(b);
            let tb = check(b, scope)?;
            if ta != tb {
                return mismatch(
                    at_b,
                    format!("« then » donne un {ta} mais « else » un {tb}"),
                );
            }
            Ok(ta)
        }
        Expr::Binary(op, l, r) => {
            let at_l = offset_of(l);
            let at_r = offset_of(r);
            let tl = check(l, scope)?;
            let tr = check(r, scope)?;
            match op {
                BinaryOp::And | BinaryOp::Or => {
                    for (t, at) in [(tl, at_l), (tr, at_r)] {
                        if t != Type::Bool {
                            return mismatch(
                                at,
                                format!("« and »/« or » relient des booléens, trouvé {t}"),
                            );
                        }
                    }
                    Ok(Type::Bool)
                }
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                    for (t, at) in [(tl, at_l), (tr, at_r)] {
                        if t != Type::Number {
                            return mismatch(
                                at,
                                format!("calcul sur un {t} : un nombre est attendu"),
                            );
                        }
                    }
                    Ok(Type::Number)
                }
                _ => {
                    if tl != tr {
                        return mismatch(at_r, format!("comparaison d'un {tl} avec un {tr}"));
                    }
                    let ordered = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
                    if !matches!(tl, Type::Number | Type::Text | Type::Date | Type::Bool)
                        || (ordered && tl == Type::Bool)
                    {
                        return mismatch(at_l, format!("un {tl} ne se compare pas ainsi"));
                    }
                    Ok(Type::Bool)
                }
            }
        }
        Expr::Call(f, args, at) => {
            let at = *at;
            let arity = |n: usize, args: &Vec<Expr>| -> Result<(), ExprError> {
                if args.len() != n {
                    return Err(ExprError {
                        offset: at,
                        message: format!(
                            "cette fonction prend {n} argument(s), {} donné(s)",
                            args.len()
                        ),
                    });
                }
                Ok(())
            };
            match f {
                Func::IsBlank | Func::IsDontKnow | Func::IsRefused => {
                    arity(1, args)?;
                    if !matches!(args[0], Expr::Ref(..)) {
                        return mismatch(
                            at,
                            "is_blank, is_dk et is_refused s'appliquent à une question".into(),
                        );
                    }
                    let t = check(&mut args[0], scope)?;
                    if matches!(t, Type::Items | Type::NumberList | Type::OtherList) {
                        return mismatch(
                            at,
                            format!(
                                "is_blank, is_dk et is_refused s'appliquent à une réponse, pas à une {t}"
                            ),
                        );
                    }
                    if let Expr::Ref(Ref::Total { .. }, _) = args[0] {
                        return mismatch(
                            at,
                            "un total calculé n'est jamais vide : tester ses cellules".into(),
                        );
                    }
                    Ok(Type::Bool)
                }
                Func::Nvl => {
                    arity(2, args)?;
                    let t0 = check(&mut args[0], scope)?;
                    let at1 = offset_of(&args[1]);
                    let t1 = check(&mut args[1], scope)?;
                    if t0 != t1 {
                        return mismatch(
                            at1,
                            format!(
                                "nvl : la valeur par défaut ({t1}) n'est pas du type de la valeur ({t0})"
                            ),
                        );
                    }
                    Ok(t0)
                }
                Func::Count => {
                    arity(1, args)?;
                    let t = check(&mut args[0], scope)?;
                    if t != Type::Items {
                        return mismatch(at, format!("count s'applique à une boucle, trouvé {t}"));
                    }
                    Ok(Type::Number)
                }
                Func::Contains => {
                    arity(2, args)?;
                    let t0 = check(&mut args[0], scope)?;
                    let t1 = check(&mut args[1], scope)?;
                    if t0 != Type::Codes || t1 != Type::Text {
                        return mismatch(
                            at,
                            format!(
                                "contains(question à choix multiple, \"code\") attendu, trouvé contains({t0}, {t1})"
                            ),
                        );
                    }
                    Ok(Type::Bool)
                }
                Func::Sum => {
                    if args.is_empty() {
                        return mismatch(at, "sum attend au moins un argument".into());
                    }
                    for a in args.iter_mut() {
                        let at_a = offset_of(a);
                        let t = check(a, scope)?;
                        if !matches!(t, Type::Number | Type::NumberList) {
                            return mismatch(
                                at_a,
                                format!("sum additionne des nombres, trouvé {t}"),
                            );
                        }
                    }
                    Ok(Type::Number)
                }
            }
        }
    }
}

fn offset_of(e: &Expr) -> usize {
    match e {
        Expr::Ref(_, at) | Expr::Call(_, _, at) => *at,
        Expr::Unary(_, x) => offset_of(x),
        Expr::Binary(_, l, _) => offset_of(l),
        Expr::If(c, _, _) => offset_of(c),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Fixed(BTreeMap<&'static str, (Value, Presence, Type)>);

    impl Env for Fixed {
        fn value(&self, r: &Ref) -> Value {
            match r {
                Ref::Answer(p) => self
                    .0
                    .get(p.as_str())
                    .map_or(Value::Missing, |v| v.0.clone()),
                _ => Value::Missing,
            }
        }
        fn presence(&self, r: &Ref) -> Presence {
            match r {
                Ref::Answer(p) => self.0.get(p.as_str()).map_or(Presence::Blank, |v| v.1),
                _ => Presence::Blank,
            }
        }
    }
    impl Scope for Fixed {
        fn resolve(&self, name: &str) -> Result<(Ref, Type), String> {
            self.0
                .get(name)
                .map(|v| (Ref::Answer(name.to_string()), v.2))
                .ok_or_else(|| format!("question inconnue « {name} »"))
        }
    }

    fn env() -> Fixed {
        Fixed(BTreeMap::from([
            ("a", (Value::Number(3.0), Presence::Given, Type::Number)),
            ("b", (Value::Number(4.0), Presence::Given, Type::Number)),
            ("blank", (Value::Missing, Presence::Blank, Type::Number)),
            ("dk", (Value::Missing, Presence::DontKnow, Type::Number)),
            ("ref", (Value::Missing, Presence::Refused, Type::Number)),
            ("oui", (Value::Bool(true), Presence::Given, Type::Bool)),
            (
                "choix",
                (Value::Text("2".into()), Presence::Given, Type::Text),
            ),
            (
                "multi",
                (
                    Value::Codes(vec!["x".into(), "y".into()]),
                    Presence::Given,
                    Type::Codes,
                ),
            ),
        ]))
    }

    fn run(src: &str) -> Value {
        let e = env();
        let mut x = parse(src, Dialect::Justat).unwrap();
        check(&mut x, &e).unwrap();
        eval(&x, &e)
    }

    fn type_error(src: &str) -> ExprError {
        let mut x = parse(src, Dialect::Justat).unwrap();
        check(&mut x, &env()).unwrap_err()
    }

    #[test]
    fn arithmetic_and_comparisons_follow_precedence() {
        assert_eq!(run("a + b * 2"), Value::Number(11.0));
        assert_eq!(run("(a + b) * 2 = 14"), Value::Bool(true));
        assert_eq!(run("-a + 1"), Value::Number(-2.0));
        assert_eq!(run("b / 2 >= 2"), Value::Bool(true));
        assert_eq!(run("a <> 3"), Value::Bool(false));
        assert_eq!(run("a < b and not b < a"), Value::Bool(true));
        assert_eq!(run("a > b or a = 3"), Value::Bool(true));
        assert_eq!(run("if a > 2 then 1 else 0"), Value::Number(1.0));
        assert_eq!(run("choix = \"2\""), Value::Bool(true));
        assert_eq!(
            run("contains(multi, \"y\") and not contains(multi, \"z\")"),
            Value::Bool(true)
        );
    }

    #[test]
    fn missing_values_propagate_with_kleene_logic() {
        assert_eq!(run("blank + 1"), Value::Missing);
        assert_eq!(run("dk > 0"), Value::Missing);
        assert_eq!(run("blank > 0 and a > 5"), Value::Bool(false));
        assert_eq!(run("blank > 0 and a > 1"), Value::Missing);
        assert_eq!(run("blank > 0 or a > 1"), Value::Bool(true));
        assert_eq!(run("not (ref > 0)"), Value::Missing);
        assert_eq!(run("sum(a, b)"), Value::Number(7.0));
        assert_eq!(run("sum(a, blank)"), Value::Missing);
        assert_eq!(run("nvl(blank, 0) + a"), Value::Number(3.0));
        assert_eq!(run("nvl(a, 0)"), Value::Number(3.0));
        assert_eq!(run("a / 0"), Value::Missing);
        assert_eq!(run("if blank > 0 then 1 else 2"), Value::Missing);
    }

    #[test]
    fn blank_dont_know_and_refusal_are_told_apart() {
        assert_eq!(run("is_blank(blank)"), Value::Bool(true));
        assert_eq!(run("is_blank(dk)"), Value::Bool(false));
        assert_eq!(run("is_dk(dk)"), Value::Bool(true));
        assert_eq!(run("is_refused(ref)"), Value::Bool(true));
        assert_eq!(run("is_refused(dk)"), Value::Bool(false));
        assert_eq!(run("isnull(a)"), Value::Bool(false));
    }

    #[test]
    fn syntax_errors_say_where_and_what() {
        let e = parse("a + ", Dialect::Justat).unwrap_err();
        assert_eq!(e.offset, 3, "the error points just after the last token");
        assert!(e.message.contains("valeur attendue"), "{}", e.message);
        let e = parse("(a + b", Dialect::Justat).unwrap_err();
        assert!(e.message.contains("« ) » attendu"), "{}", e.message);
        let e = parse("a b", Dialect::Justat).unwrap_err();
        assert_eq!(e.offset, 2);
        let e = parse("\"abc", Dialect::Justat).unwrap_err();
        assert!(e.message.contains("non terminée"));
        let e = parse("a != 2", Dialect::Justat).unwrap_err();
        assert!(e.message.contains("<>"), "{}", e.message);
        let e = parse("frobnicate(a)", Dialect::Justat).unwrap_err();
        assert!(e.message.contains("fonction inconnue « frobnicate »"));
        let e = parse("if a then b", Dialect::Justat).unwrap_err();
        assert!(e.message.contains("« else » attendu"));
        let e = parse("a..b", Dialect::Justat).unwrap_err();
        assert!(e.message.contains("mal formé"));
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert!(
            parse(&deep, Dialect::Justat)
                .unwrap_err()
                .message
                .contains("imbriquée")
        );
        let long = "a + ".repeat(2000) + "a";
        assert!(
            parse(&long, Dialect::Justat)
                .unwrap_err()
                .message
                .contains("trop longue")
        );
    }

    #[test]
    fn vtl_dialect_refuses_unknown_operators_by_name() {
        let e = parse("substr(X, 1, 2) = \"a\"", Dialect::Vtl).unwrap_err();
        assert_eq!(e.message, "opérateur VTL « substr » non pris en charge");
        let e = parse("X || \"a\"", Dialect::Vtl).unwrap_err();
        assert_eq!(e.message, "opérateur VTL « || » non pris en charge");
        let e = parse("X # Y", Dialect::Vtl).unwrap_err();
        assert_eq!(e.message, "opérateur VTL « # » non pris en charge");
        assert!(parse("not(nvl(X, 0) > 500)", Dialect::Vtl).is_ok());
    }

    #[test]
    fn type_errors_are_found_before_any_answer() {
        assert!(
            type_error("unknown > 1")
                .message
                .contains("question inconnue « unknown »")
        );
        assert!(
            type_error("a + oui")
                .message
                .contains("calcul sur un booléen")
        );
        assert!(
            type_error("a = \"3\"")
                .message
                .contains("comparaison d'un nombre avec un texte")
        );
        assert!(type_error("a and oui").message.contains("booléens"));
        assert!(
            type_error("oui < oui")
                .message
                .contains("ne se compare pas")
        );
        assert!(type_error("nvl(a, \"x\")").message.contains("nvl"));
        assert!(type_error("is_blank(a + 1)").message.contains("question"));
        assert!(type_error("count(a)").message.contains("boucle"));
        assert!(
            type_error("contains(choix, \"2\")")
                .message
                .contains("contains")
        );
        assert!(type_error("sum(oui)").message.contains("sum"));
        assert!(
            type_error("if a then 1 else 2")
                .message
                .contains("condition")
        );
        assert!(
            type_error("if oui then 1 else \"x\"")
                .message
                .contains("else")
        );
        assert_eq!(type_error("a > 1 and b + oui > 2").offset, 14);
        assert!(type_error("nvl(a)").message.contains("2 argument"));
    }
}
