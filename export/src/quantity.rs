//! Kubernetes resource quantities (`500m`, `0.5`, `256Mi`, `1G`): checked, and summed when one
//! process hosts several components that each ask for resources.

use std::fmt;

/// What a quantity measures; CPU takes `m` (millicores), memory does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Cpu,
    Memory,
}

impl Resource {
    /// The key in `resources: { … }` and in a container's requests/limits.
    pub fn key(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }
}

/// A checked quantity, kept in thousandths of its unit (millicores, millibytes) so sums are exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    resource: Resource,
    milli: u128,
}

/// Suffixes and their multipliers (binary and decimal SI, as Kubernetes reads them).
const SUFFIXES: [(&str, u128); 12] = [
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("Pi", 1 << 50),
    ("Ei", 1 << 60),
    ("k", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("E", 1_000_000_000_000_000_000),
];

/// Largest quantity accepted (in units): far above any machine, far below overflow.
const MAX_UNITS: u128 = 1 << 70;

impl Quantity {
    /// Reads `text` (`DIGITS[.DIGITS][SUFFIX]`; CPU also takes `m`), or says what is accepted.
    pub fn parse(resource: Resource, text: &str) -> Result<Quantity, String> {
        let bad = || {
            match resource {
            Resource::Cpu => format!(
                "`{text}` is not a CPU quantity: write cores (`1`, `0.5`) or millicores (`500m`)"
            ),
            Resource::Memory => format!(
                "`{text}` is not a memory quantity: write bytes with a suffix, e.g. `256Mi`, `1Gi`, `512M`"
            ),
        }
        };
        let t = text.trim();
        let digits_end = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, suffix) = t.split_at(digits_end);
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if (int.is_empty() && frac.is_empty())
            || int.len() > 20
            || frac.len() > 9
            || frac.contains('.')
            || (number.ends_with('.'))
        {
            return Err(bad());
        }
        // `1e3`, `5E-1`: a decimal exponent instead of a suffix.
        let known = suffix == "m" || SUFFIXES.iter().any(|(n, _)| *n == suffix);
        let (suffix, exp): (&str, i32) = match suffix.strip_prefix(['e', 'E']) {
            Some(e) if !known && !e.is_empty() => match e.parse::<i32>() {
                Ok(x) if (-9..=18).contains(&x) => ("", x),
                _ => return Err(bad()),
            },
            _ => (suffix, 0),
        };
        let mult_milli: u128 = match (resource, suffix) {
            (_, "") => 1000,
            (Resource::Cpu, "m") => 1,
            (_, s) => match SUFFIXES.iter().find(|(n, _)| *n == s) {
                Some((_, m)) => m * 1000,
                None => return Err(bad()),
            },
        };
        let mut scale = 10u128.pow(frac.len() as u32);
        let whole: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let part: u128 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| bad())?
        };
        let mut mult_milli = mult_milli;
        if exp >= 0 {
            mult_milli *= 10u128.pow(exp.unsigned_abs());
        } else {
            scale *= 10u128.pow(exp.unsigned_abs());
        }
        let scaled = whole
            .checked_mul(10u128.pow(frac.len() as u32))
            .and_then(|v| v.checked_add(part))
            .and_then(|v| v.checked_mul(mult_milli))
            .ok_or_else(bad)?;
        let milli = scaled.div_ceil(scale);
        if milli == 0 {
            return Err(format!("`{text}` is zero: leave the key out instead"));
        }
        if milli / 1000 > MAX_UNITS {
            return Err(format!("`{text}` is larger than any machine"));
        }
        Ok(Quantity { resource, milli })
    }

    /// The quantity as Compose writes it: decimal cores (`0.5`) for CPU, bytes with a binary
    /// suffix for memory (`256Mi`, which Compose reads as 256 MiB).
    pub fn compose_text(&self) -> String {
        match self.resource {
            Resource::Cpu => {
                let (whole, frac) = (self.milli / 1000, self.milli % 1000);
                if frac == 0 {
                    whole.to_string()
                } else {
                    format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
                }
            }
            Resource::Memory => self.to_string(),
        }
    }

    /// The sum of two quantities of the same resource.
    pub fn plus(self, other: Quantity) -> Quantity {
        Quantity {
            resource: self.resource,
            milli: self.milli.saturating_add(other.milli),
        }
    }
}

impl fmt::Display for Quantity {
    /// The canonical text: `1`, `250m` for CPU; `256Mi`, `1Gi`, or bytes for memory.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.resource {
            Resource::Cpu if self.milli.is_multiple_of(1000) => write!(f, "{}", self.milli / 1000),
            Resource::Cpu => write!(f, "{}m", self.milli),
            Resource::Memory => {
                let bytes = self.milli.div_ceil(1000);
                for (suffix, m) in SUFFIXES[..6].iter().rev() {
                    if bytes.is_multiple_of(*m) {
                        return write!(f, "{}{suffix}", bytes / m);
                    }
                }
                write!(f, "{bytes}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(r: Resource, t: &str) -> String {
        Quantity::parse(r, t)
            .map(|q| q.to_string())
            .unwrap_or_else(|e| e)
    }

    #[test]
    fn reads_the_usual_forms() {
        assert_eq!(q(Resource::Cpu, "500m"), "500m");
        assert_eq!(q(Resource::Cpu, "0.5"), "500m");
        assert_eq!(q(Resource::Cpu, "2"), "2");
        assert_eq!(q(Resource::Memory, "256Mi"), "256Mi");
        assert_eq!(q(Resource::Memory, "1024Mi"), "1Gi");
        assert_eq!(q(Resource::Memory, "1G"), "1000000000");
        assert_eq!(q(Resource::Memory, "1.5Gi"), "1536Mi");
        assert_eq!(q(Resource::Cpu, ".5"), "500m");
        assert_eq!(q(Resource::Memory, "129e6"), "129000000");
        assert_eq!(q(Resource::Cpu, "5e-1"), "500m");
        assert_eq!(q(Resource::Memory, "1Ei"), "1Ei");
        assert_eq!(q(Resource::Memory, "2E"), "1953125000000000Ki");
    }

    #[test]
    fn refuses_what_kubernetes_would_not_read_or_we_cannot_sum() {
        for t in [
            "",
            "lots",
            "500mm",
            "1.2.3",
            "-1",
            "256MB",
            "0",
            "1.",
            "1e",
            "99999999999999999999Ei",
        ] {
            assert!(Quantity::parse(Resource::Memory, t).is_err(), "{t}");
        }
        assert!(Quantity::parse(Resource::Memory, "500m").is_err());
    }

    #[test]
    fn sums_exactly() {
        let a = Quantity::parse(Resource::Cpu, "250m");
        let b = Quantity::parse(Resource::Cpu, "0.75");
        assert_eq!(
            a.and_then(|a| b.map(|b| a.plus(b).to_string())),
            Ok("1".to_string())
        );
        let m = Quantity::parse(Resource::Memory, "256Mi").and_then(|a| {
            Quantity::parse(Resource::Memory, "768Mi").map(|b| a.plus(b).to_string())
        });
        assert_eq!(m, Ok("1Gi".to_string()));
    }
}
