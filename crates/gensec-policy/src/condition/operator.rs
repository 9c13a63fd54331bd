//! Condition operator names: the base operator, the `...IfExists` suffix and
//! the `ForAnyValue:` / `ForAllValues:` set operators.

/// Declares the base operators once: the enum, the list of all of them and
/// each one's name in a policy are the same 27 words, so they cannot drift.
macro_rules! base_operators {
    ($($variant:ident),+ $(,)?) => {
        /// The comparison an operator makes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum BaseOperator {
            $($variant),+
        }

        /// Every base operator, for parsing and for exhaustive tests.
        pub const ALL_BASE_OPERATORS: [BaseOperator; 27] = [$(BaseOperator::$variant),+];

        impl BaseOperator {
            pub fn name(self) -> &'static str {
                match self {
                    $(BaseOperator::$variant => stringify!($variant)),+
                }
            }
        }
    };
}

base_operators!(
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
);

/// Which kind of values an operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// How numbers and dates are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ordering {
    Equals,
    LessThan,
    LessThanEquals,
    GreaterThan,
    GreaterThanEquals,
}

impl Ordering {
    /// `request <op> policy`, e.g. `NumericLessThan`: the request's value is
    /// less than the policy's.
    pub fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Ordering::Equals => request == policy,
            Ordering::LessThan => request < policy,
            Ordering::LessThanEquals => request <= policy,
            Ordering::GreaterThan => request > policy,
            Ordering::GreaterThanEquals => request >= policy,
        }
    }
}

use BaseOperator::*;

impl BaseOperator {
    /// A negated operator matches when the key matches *none* of the values
    /// (logical NOR), and is true when the key is absent.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    pub(crate) fn family(self) -> Family {
        match self {
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => Family::String,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Numeric,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            BinaryEquals => Family::Binary,
            IpAddress | NotIpAddress => Family::Ip,
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => Family::Arn,
            Null => Family::Null,
        }
    }

    /// The comparison of the positive form (`NumericNotEquals` -> `Equals`).
    pub(crate) fn ordering(self) -> Ordering {
        match self {
            NumericLessThan | DateLessThan => Ordering::LessThan,
            NumericLessThanEquals | DateLessThanEquals => Ordering::LessThanEquals,
            NumericGreaterThan | DateGreaterThan => Ordering::GreaterThan,
            NumericGreaterThanEquals | DateGreaterThanEquals => Ordering::GreaterThanEquals,
            _ => Ordering::Equals,
        }
    }

    pub(crate) fn folds_case(self) -> bool {
        matches!(self, StringEqualsIgnoreCase | StringNotEqualsIgnoreCase)
    }

    pub(crate) fn has_wildcards(self) -> bool {
        matches!(self, StringLike | StringNotLike) || self.family() == Family::Arn
    }
}

/// `ForAnyValue:` or `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOperator {
    ForAnyValue,
    ForAllValues,
}

/// A full operator name such as `ForAllValues:StringLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    pub base: BaseOperator,
    pub if_exists: bool,
    pub set: Option<SetOperator>,
}

impl Operator {
    /// Parse an operator name; names are matched ignoring case.
    pub fn parse(name: &str) -> Result<Self, String> {
        let (set, rest) = match name.split_once(':') {
            None => (None, name),
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAnyValue") => {
                (Some(SetOperator::ForAnyValue), rest)
            }
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case("ForAllValues") => {
                (Some(SetOperator::ForAllValues), rest)
            }
            Some((prefix, _)) => {
                return Err(format!(
                    "unknown set operator {prefix:?} (ForAnyValue or ForAllValues)"
                ));
            }
        };
        let (base_name, if_exists) = match rest.len().checked_sub("IfExists".len()) {
            Some(cut)
                if rest.is_char_boundary(cut) && rest[cut..].eq_ignore_ascii_case("IfExists") =>
            {
                (&rest[..cut], true)
            }
            _ => (rest, false),
        };
        let base = ALL_BASE_OPERATORS
            .iter()
            .copied()
            .find(|base| base.name().eq_ignore_ascii_case(base_name))
            .ok_or_else(|| format!("unknown condition operator {name:?}"))?;
        if base == Null && (if_exists || set.is_some()) {
            return Err(format!(
                "{name:?}: Null takes neither ...IfExists nor a set operator"
            ));
        }
        Ok(Operator {
            base,
            if_exists,
            set,
        })
    }

    pub fn name(&self) -> String {
        let set = match self.set {
            Some(SetOperator::ForAnyValue) => "ForAnyValue:",
            Some(SetOperator::ForAllValues) => "ForAllValues:",
            None => "",
        };
        let suffix = if self.if_exists { "IfExists" } else { "" };
        format!("{set}{}{suffix}", self.base.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_operator_with_suffix_and_set_operators() {
        for base in ALL_BASE_OPERATORS {
            let parsed = Operator::parse(base.name()).unwrap();
            assert_eq!(parsed.base, base);
            assert!(!parsed.if_exists && parsed.set.is_none());
            if base == Null {
                assert!(Operator::parse("NullIfExists").is_err());
                assert!(Operator::parse("ForAnyValue:Null").is_err());
                continue;
            }
            let full = Operator::parse(&format!("ForAllValues:{}IfExists", base.name())).unwrap();
            assert_eq!(full.base, base);
            assert!(full.if_exists);
            assert_eq!(full.set, Some(SetOperator::ForAllValues));
            assert_eq!(Operator::parse(&full.name()).unwrap(), full);
        }
    }

    #[test]
    fn names_ignore_case_and_unknown_names_fail() {
        let operator = Operator::parse("foranyvalue:stringlikeifexists").unwrap();
        assert_eq!(operator.name(), "ForAnyValue:StringLikeIfExists");
        assert!(Operator::parse("StringEqual").is_err());
        assert!(Operator::parse("ForSomeValues:StringEquals").is_err());
    }

    #[test]
    fn negation_and_families() {
        let negated: Vec<_> = ALL_BASE_OPERATORS
            .iter()
            .filter(|op| op.is_negated())
            .collect();
        assert_eq!(negated.len(), 8);
        assert_eq!(NumericNotEquals.ordering(), Ordering::Equals);
        assert!(Ordering::LessThanEquals.holds(3, 3));
        assert!(!Ordering::GreaterThan.holds(3, 3));
    }
}
