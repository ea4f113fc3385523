//! Where the API URL, the key and the student id come from: flags and env vars,
//! our own config file, and the original script's `~/.trainings/config`, in that order.

use ework_domain::ids::StudentId;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the API URL in both config files (the original script's spelling).
const API_URL: &str = "apiUrl";
const API_KEY: &str = "apiKey";
const STUDENT_ID: &str = "studentId";

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("test-time is not set up yet: {missing} missing. Run `test-time config --edit`, or set {env}")]
    Missing {
        missing: &'static str,
        env: &'static str,
    },
    #[error(
        "API URL {0:?} is not valid: use the http:// or https:// address your trainer gave you"
    )]
    BadUrl(String),
    #[error("{0}")]
    BadStudentId(#[from] ework_domain::ids::IdError),
    #[error("the API key is empty")]
    EmptyKey,
    #[error("cannot find your home directory; set HOME or TEST_TIME_CONFIG")]
    NoHome,
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write config file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a value came from, shown by `test-time config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag or a `TEST_TIME_*` environment variable.
    Override,
    File(PathBuf),
    Typed,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Override => f.write_str("command line / environment"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Typed => f.write_str("typed in"),
        }
    }
}

/// One setting and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub value: String,
    pub source: Source,
}

/// The three settings, each possibly missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub api_url: Option<Value>,
    pub api_key: Option<Value>,
    pub student_id: Option<Value>,
}

/// Raw values from one layer (flags, a file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    pub api_url: Option<String>,
    pub api_key: Option<String>,
    pub student_id: Option<String>,
}

/// A complete, checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Base URL without a trailing `/` and without `/api/v1`.
    pub api_url: String,
    pub api_key: String,
    pub student_id: StudentId,
}

/// The files we read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Our own file; the only one we ever write.
    pub file: PathBuf,
    /// The original bash client's `~/.trainings/config`, read if present.
    pub legacy: Option<PathBuf>,
    /// Where unsent answers are kept: `drafts/` in the config dir (beside `file` when
    /// there is no config dir).
    pub drafts: PathBuf,
}

impl Paths {
    /// `explicit` comes from `--config` / `TEST_TIME_CONFIG`; otherwise the user's
    /// config dir (honours `XDG_CONFIG_HOME` and `HOME`).
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Paths, ConfigError> {
        let legacy = dirs::home_dir().map(|h| h.join(".trainings").join("config"));
        let ours = dirs::config_dir().map(|d| d.join("ework"));
        let file = match (explicit, &ours) {
            (Some(p), _) => p,
            (None, Some(dir)) => dir.join("test-time.conf"),
            (None, None) => return Err(ConfigError::NoHome),
        };
        let drafts = match ours {
            Some(dir) => dir.join("drafts"),
            None => file
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("drafts"),
        };
        Ok(Paths {
            file,
            legacy,
            drafts,
        })
    }
}

/// Parses the `key=value` format of both files: `#` comments, blank lines, an
/// optional `export ` and quotes around the value (the original was sourced by bash).
pub fn parse_file(text: &str) -> Layer {
    let mut layer = Layer::default();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        if value.is_empty() {
            continue;
        }
        let slot = match key.trim() {
            API_URL => &mut layer.api_url,
            API_KEY => &mut layer.api_key,
            STUDENT_ID => &mut layer.student_id,
            _ => continue,
        };
        *slot = Some(value.to_string());
    }
    layer
}

fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

/// Reads a config file; a missing file is an empty layer.
pub fn read_file(path: &Path) -> Result<Layer, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_file(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Layer::default()),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl Settings {
    /// Merges the layers: flags/env first, then our file, then the original file.
    pub fn load(overrides: &Layer, paths: &Paths) -> Result<Settings, ConfigError> {
        let mut settings = Settings::default();
        settings.fill(overrides, Source::Override);
        settings.fill(&read_file(&paths.file)?, Source::File(paths.file.clone()));
        if let Some(legacy) = &paths.legacy {
            settings.fill(&read_file(legacy)?, Source::File(legacy.clone()));
        }
        Ok(settings)
    }

    /// Sets each missing value from `layer`.
    pub fn fill(&mut self, layer: &Layer, source: Source) {
        let pick = |slot: &mut Option<Value>, v: &Option<String>| {
            if slot.is_none() {
                if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                    *slot = Some(Value {
                        value: v.to_string(),
                        source: source.clone(),
                    });
                }
            }
        };
        pick(&mut self.api_url, &layer.api_url);
        pick(&mut self.api_key, &layer.api_key);
        pick(&mut self.student_id, &layer.student_id);
    }

    /// Checks the settings; the first missing value is named.
    pub fn complete(&self) -> Result<Config, ConfigError> {
        let url = self.api_url.as_ref().ok_or(ConfigError::Missing {
            missing: "the API URL is",
            env: "TEST_TIME_API_URL",
        })?;
        let key = self.api_key.as_ref().ok_or(ConfigError::Missing {
            missing: "your API key is",
            env: "TEST_TIME_API_KEY",
        })?;
        let id = self.student_id.as_ref().ok_or(ConfigError::Missing {
            missing: "your student id is",
            env: "TEST_TIME_STUDENT_ID",
        })?;
        Ok(Config {
            api_url: normalize_url(&url.value)?,
            api_key: check_key(&key.value)?,
            student_id: StudentId::parse(id.value.trim())?,
        })
    }
}

/// Accepts the URL with or without a trailing `/` or `/api/v1` (people paste either).
pub fn normalize_url(raw: &str) -> Result<String, ConfigError> {
    let trimmed = raw.trim();
    let parsed = reqwest::Url::parse(trimmed).map_err(|_| ConfigError::BadUrl(trimmed.into()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ConfigError::BadUrl(trimmed.into()));
    }
    let mut url = trimmed.trim_end_matches('/');
    url = url.strip_suffix("/api/v1").unwrap_or(url);
    Ok(url.trim_end_matches('/').to_string())
}

pub fn check_key(raw: &str) -> Result<String, ConfigError> {
    let key = raw.trim();
    if key.is_empty() {
        return Err(ConfigError::EmptyKey);
    }
    Ok(key.to_string())
}

/// Shows enough of a key to recognise it, never enough to use it.
pub fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 16 {
        return "*".repeat(chars.len().max(4));
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}...{tail}")
}

/// Writes our config file, readable by the owner only (it holds the key).
pub fn save(path: &Path, config: &Config) -> Result<(), ConfigError> {
    let err = |source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(err)?;
    }
    let text = format!(
        "# test-time configuration (same keys as the original ~/.trainings/config)\n\
         {API_URL}={}\n{API_KEY}={}\n{STUDENT_ID}={}\n",
        config.api_url, config.api_key, config.student_id
    );
    // Temp file + rename: a crash never leaves a half-written key behind.
    let tmp = path.with_extension("tmp");
    let mut file = open_private(&tmp).map_err(err)?;
    file.write_all(text.as_bytes()).map_err(err)?;
    file.sync_all().map_err(err)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

#[cfg(unix)]
pub(crate) fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` only applies to new files; an older temp file may have other bits.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
pub(crate) fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

#[cfg(unix)]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_format_with_quotes_comments_and_export_is_read() {
        let layer = parse_file(
            "# written by the old script\nexport apiUrl=\"https://api.example.com/prod\"\n\
             apiKey='ewk_abc'\n\nstudentId=student01\nunknown=1\n",
        );
        assert_eq!(
            layer.api_url.as_deref(),
            Some("https://api.example.com/prod")
        );
        assert_eq!(layer.api_key.as_deref(), Some("ewk_abc"));
        assert_eq!(layer.student_id.as_deref(), Some("student01"));
    }

    #[test]
    fn flags_win_over_our_file_which_wins_over_the_original_file() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("ours.conf");
        let legacy = dir.path().join("legacy");
        std::fs::write(&ours, "apiKey=from-ours\nstudentId=ours01\n").unwrap();
        std::fs::write(
            &legacy,
            "apiUrl=http://legacy\napiKey=from-legacy\nstudentId=old01\n",
        )
        .unwrap();
        let paths = Paths {
            file: ours.clone(),
            legacy: Some(legacy.clone()),
            drafts: dir.path().join("drafts"),
        };
        let flags = Layer {
            student_id: Some("flag01".into()),
            ..Layer::default()
        };
        let s = Settings::load(&flags, &paths).unwrap();
        assert_eq!(
            s.student_id.unwrap(),
            Value {
                value: "flag01".into(),
                source: Source::Override
            }
        );
        assert_eq!(
            s.api_key.unwrap(),
            Value {
                value: "from-ours".into(),
                source: Source::File(ours)
            }
        );
        assert_eq!(
            s.api_url.unwrap(),
            Value {
                value: "http://legacy".into(),
                source: Source::File(legacy)
            }
        );
    }

    #[test]
    fn saved_file_reads_back_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("test-time.conf");
        let config = Config {
            api_url: "http://127.0.0.1:9".into(),
            api_key: "ewk_0123456789abcdef".into(),
            student_id: StudentId::parse("student02").unwrap(),
        };
        save(&path, &config).unwrap();
        let paths = Paths {
            file: path.clone(),
            legacy: None,
            drafts: dir.path().join("drafts"),
        };
        let back = Settings::load(&Layer::default(), &paths)
            .unwrap()
            .complete()
            .unwrap();
        assert_eq!(back, config);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn missing_value_is_named_with_its_env_var() {
        let s = Settings {
            api_url: Some(Value {
                value: "http://x".into(),
                source: Source::Typed,
            }),
            ..Settings::default()
        };
        let msg = s.complete().unwrap_err().to_string();
        assert!(
            msg.contains("API key") && msg.contains("TEST_TIME_API_KEY"),
            "{msg}"
        );
    }

    #[test]
    fn urls_are_normalised_and_bad_ones_refused() {
        assert_eq!(
            normalize_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalize_url("https://h.example/prod/api/v1/").unwrap(),
            "https://h.example/prod"
        );
        assert!(normalize_url("127.0.0.1:8080").is_err());
        assert!(normalize_url("ftp://h.example").is_err());
    }

    #[test]
    fn masked_key_hides_the_middle() {
        let masked = mask_key("ewk_0123456789abcdef0123456789abcdef01234567");
        assert_eq!(masked, "ewk_0123...4567");
        assert_eq!(mask_key("short"), "*****");
    }
}
