//! Store options: what `init` accepts, parsed and checked.

use std::fmt;
use std::num::NonZeroU64;

/// Which entry is evicted when a bound is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Eviction {
    /// Least recently used: a hit makes an entry the most recent.
    Lru,
    /// First in, first out: only a put makes an entry the most recent.
    Fifo,
    /// CLOCK (second chance): a hit only marks the entry; an entry that
    /// reaches the tail marked is unmarked and moved to the head instead of
    /// evicted. Close to LRU in what it keeps, and a hit writes nothing but
    /// that mark, once, so hits can be served through a shared reference
    /// ([`Store::get_shared`](crate::Store::get_shared)). The default.
    #[default]
    Clock,
}

impl Eviction {
    /// Whether a hit changes the eviction order, so that it needs `&mut`.
    pub fn hit_reorders(self) -> bool {
        self == Eviction::Lru
    }
}

impl fmt::Display for Eviction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Eviction::Lru => "lru",
            Eviction::Fifo => "fifo",
            Eviction::Clock => "clock",
        })
    }
}

/// The bounds and policy of a [`Store`](crate::Store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Most entries held at once.
    pub max_entries: NonZeroU64,
    /// Most key plus value bytes held at once; `None` bounds entries only.
    pub max_bytes: Option<NonZeroU64>,
    /// Which entry makes room for a new one.
    pub eviction: Eviction,
}

impl Config {
    /// `max-entries` when the options leave it out.
    pub const DEFAULT_MAX_ENTRIES: u64 = 10_000;

    /// The names `from_options` accepts, for error messages and docs.
    pub const OPTION_NAMES: &'static [&'static str] = &["max-entries", "max-bytes", "eviction"];

    /// Parses `init` options. Every option is optional; each may appear once.
    ///
    /// ```
    /// # use nearcache_store::{Config, Eviction};
    /// let config = Config::from_options([("max-entries", "100"), ("eviction", "fifo")]).unwrap();
    /// assert_eq!(config.max_entries.get(), 100);
    /// assert_eq!(config.eviction, Eviction::Fifo);
    /// ```
    pub fn from_options<N, V>(options: impl IntoIterator<Item = (N, V)>) -> Result<Config, ConfigError>
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let mut config = Config::default();
        let mut seen: Vec<&'static str> = Vec::new();
        for (name, value) in options {
            let (name, value) = (name.as_ref(), value.as_ref());
            let known = Self::OPTION_NAMES
                .iter()
                .copied()
                .find(|known| *known == name)
                .ok_or_else(|| ConfigError::UnknownOption { name: name.to_owned() })?;
            if seen.contains(&known) {
                return Err(ConfigError::Duplicate { name: known });
            }
            seen.push(known);
            match known {
                "max-entries" => config.max_entries = parse_positive(known, value)?,
                "max-bytes" => config.max_bytes = Some(parse_positive(known, value)?),
                "eviction" => {
                    config.eviction = match value {
                        "lru" => Eviction::Lru,
                        "fifo" => Eviction::Fifo,
                        "clock" => Eviction::Clock,
                        _ => {
                            return Err(ConfigError::InvalidValue {
                                name: known,
                                value: value.to_owned(),
                                expected: "`lru`, `fifo` or `clock`",
                            });
                        }
                    }
                }
                _ => unreachable!("every name in OPTION_NAMES is handled"),
            }
        }
        Ok(config)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_entries: NonZeroU64::new(Self::DEFAULT_MAX_ENTRIES).expect("default is positive"),
            max_bytes: None,
            eviction: Eviction::Clock,
        }
    }
}

fn parse_positive(name: &'static str, value: &str) -> Result<NonZeroU64, ConfigError> {
    value.parse::<NonZeroU64>().map_err(|_| ConfigError::InvalidValue {
        name,
        value: value.to_owned(),
        expected: "a positive integer",
    })
}

/// Why a set of options was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The option is not one the store knows.
    #[error("unknown option `{name}`: the store accepts max-entries, max-bytes and eviction")]
    UnknownOption {
        /// The name as given.
        name: String,
    },
    /// The option's value does not parse.
    #[error("option `{name}`: expected {expected}, got `{value}`")]
    InvalidValue {
        /// The option.
        name: &'static str,
        /// The value as given.
        value: String,
        /// What the option accepts.
        expected: &'static str,
    },
    /// The option was given more than once.
    #[error("option `{name}` given more than once")]
    Duplicate {
        /// The option.
        name: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(options: &[(&str, &str)]) -> String {
        Config::from_options(options.iter().copied()).unwrap_err().to_string()
    }

    #[test]
    fn defaults_when_no_options() {
        let config = Config::from_options(Vec::<(String, String)>::new()).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn parses_every_option() {
        let config = Config::from_options([("max-entries", "5"), ("max-bytes", "640"), ("eviction", "fifo")]).unwrap();
        assert_eq!(config.max_entries.get(), 5);
        assert_eq!(config.max_bytes.map(NonZeroU64::get), Some(640));
        assert_eq!(config.eviction, Eviction::Fifo);
        let config = Config::from_options([("eviction", "clock")]).unwrap();
        assert_eq!(config.eviction, Eviction::Clock);
    }

    #[test]
    fn errors_name_the_option_and_what_it_accepts() {
        assert_eq!(
            error(&[("max-entry", "5")]),
            "unknown option `max-entry`: the store accepts max-entries, max-bytes and eviction"
        );
        assert_eq!(error(&[("eviction", "lfu")]), "option `eviction`: expected `lru`, `fifo` or `clock`, got `lfu`");
        assert_eq!(error(&[("max-entries", "0")]), "option `max-entries`: expected a positive integer, got `0`");
        assert_eq!(error(&[("max-bytes", "ten")]), "option `max-bytes`: expected a positive integer, got `ten`");
        assert_eq!(error(&[("max-bytes", "-1")]), "option `max-bytes`: expected a positive integer, got `-1`");
        assert_eq!(error(&[("eviction", "lru"), ("eviction", "lru")]), "option `eviction` given more than once");
    }
}
