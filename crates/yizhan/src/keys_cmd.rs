//! The key file (issue 12, docs/privacy.md): finding and reading it,
//! `yizhan keys init|rotate|reseal`, and `yizhan retention run`.
//!
//! The file is JSON (`app::keys::KeyFile`), written with mode 0600 and
//! refused when others may read it. `YIZHAN_KEYS_JSON` may carry the
//! document itself, for containers whose secrets arrive as variables;
//! otherwise `YIZHAN_KEYS_FILE`, then `keys.file`, names the file.

use crate::cli::KeysCommand;
use crate::config::Config;
use crate::wiring;
use anyhow::Context;
use app::App;
use app::keys::{ImportedSecrets, KeyFile, Keys};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const KEYS_FILE_VAR: &str = "YIZHAN_KEYS_FILE";
pub const KEYS_JSON_VAR: &str = "YIZHAN_KEYS_JSON";

/// The configured key file's path, if any.
pub fn keys_path(config: &Config) -> Option<PathBuf> {
    std::env::var_os(KEYS_FILE_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| config.keys.file.clone())
}

fn no_key_file() -> anyhow::Error {
    anyhow::anyhow!(
        "no key file: personal data is encrypted under keys kept outside the database.\n\
         - A new deployment: `yizhan keys init --file /srv/yizhan/keys.json`, then set {KEYS_FILE_VAR}=/srv/yizhan/keys.json \
         (or keys.file in yizhan.toml). Keep a copy of the file apart from the database's backups.\n\
         - A database from before the key file: `yizhan keys init --import --file …` takes over its QR, console and device keys.\n\
         - In a container, {KEYS_JSON_VAR} may hold the file's content.\n\
         - To try yizhan, `yizhan demo` makes its own; `serve --demo` on the demo's database needs {KEYS_FILE_VAR}=yizhan-data/keys.json."
    )
}

/// The key file's document from the environment or the file.
pub fn load_file(config: &Config) -> anyhow::Result<(KeyFile, Option<PathBuf>)> {
    if let Ok(json) = std::env::var(KEYS_JSON_VAR)
        && !json.trim().is_empty()
    {
        let file = KeyFile::from_json(&json)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("reading {KEYS_JSON_VAR}"))?;
        return Ok((file, None));
    }
    let path = keys_path(config).ok_or_else(no_key_file)?;
    Ok((read_file(&path)?, Some(path)))
}

fn read_file(path: &Path) -> anyhow::Result<KeyFile> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("the key file {} does not exist", path.display()).context(no_key_file())
        } else {
            anyhow::anyhow!("reading the key file {}: {error}", path.display())
        }
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        anyhow::ensure!(
            mode & 0o077 == 0,
            "the key file {} may be read by others (mode {mode:o}); `chmod 600 {}` and start again",
            path.display(),
            path.display()
        );
    }
    KeyFile::from_json(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("reading {}", path.display()))
}

pub fn load_keys(config: &Config) -> anyhow::Result<Keys> {
    let (file, _) = load_file(config)?;
    Keys::from_file(&file).map_err(anyhow::Error::msg)
}

/// Writes a new key file with mode 0600; never replaces one.
pub fn write_new(path: &Path, file: &KeyFile) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists; a key file is never overwritten (the data sealed under it would be lost)",
                path.display()
            )
        } else {
            anyhow::anyhow!("writing {}: {error}", path.display())
        }
    })?;
    out.write_all(file.to_json().as_bytes())?;
    out.sync_all()?;
    Ok(())
}

/// Replaces a key file by a new version, atomically (a temporary file in
/// the same folder, then a rename), keeping mode 0600.
fn replace(path: &Path, file: &KeyFile) -> anyhow::Result<()> {
    let temporary = path.with_extension("new");
    let _ = std::fs::remove_file(&temporary);
    write_new(&temporary, file)?;
    std::fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// The keys an older database kept in `server_secrets`, taken over into
/// `file` and then removed from the database.
async fn import_legacy(config: &Config) -> anyhow::Result<(ImportedSecrets, Arc<store::Db>)> {
    // Reading `server_secrets` needs no data key.
    let db = wiring::connect(&config.database.url, 1, Arc::new(Keys::ephemeral())).await?;
    let mut imported = ImportedSecrets::default();
    for (name, value) in app::ports::UserStore::legacy_server_secrets(db.as_ref()).await? {
        match name.as_str() {
            "qr" => imported.qr = Some(value),
            "web" => imported.web = Some(value),
            "devices" => imported.devices = Some(value),
            other => tracing::warn!(name = other, "unknown server secret left in the database"),
        }
    }
    Ok((imported, db))
}

/// Makes the key file for `demo` in its data folder on first run, taking
/// over an older demo database's keys.
pub async fn demo_keys(config: &Config, path: &Path) -> anyhow::Result<Arc<Keys>> {
    if !path.exists() {
        let (imported, db) = import_legacy(config).await?;
        write_new(path, &KeyFile::generate(chrono::Utc::now(), imported))?;
        app::ports::UserStore::clear_legacy_server_secrets(db.as_ref()).await?;
        db.close().await;
    }
    Ok(Arc::new(
        Keys::from_file(&read_file(path)?).map_err(anyhow::Error::msg)?,
    ))
}

pub async fn command(config: &Config, what: KeysCommand) -> anyhow::Result<()> {
    match what {
        KeysCommand::Init { file, import } => {
            let path = file.or_else(|| keys_path(config)).ok_or_else(|| {
                anyhow::anyhow!(
                    "where should the key file go? pass --file PATH (or set {KEYS_FILE_VAR})"
                )
            })?;
            anyhow::ensure!(
                !path.exists(),
                "{} already exists; a key file is never overwritten (the data sealed under it would be lost)",
                path.display()
            );
            let (imported, db) = if import {
                let (imported, db) = import_legacy(config).await?;
                (imported, Some(db))
            } else {
                (ImportedSecrets::default(), None)
            };
            let n_imported = [&imported.qr, &imported.web, &imported.devices]
                .iter()
                .filter(|k| k.is_some())
                .count();
            write_new(&path, &KeyFile::generate(chrono::Utc::now(), imported))?;
            // Removed only once the file that holds them is on disk.
            if let Some(db) = db {
                app::ports::UserStore::clear_legacy_server_secrets(db.as_ref()).await?;
            }
            println!("wrote {} (mode 0600)", path.display());
            if import {
                println!("took over {n_imported} keys from the database's server_secrets");
            }
            println!(
                "set {KEYS_FILE_VAR}={} (or keys.file in yizhan.toml); keep a copy apart from the database's backups",
                path.display()
            );
            Ok(())
        }
        KeysCommand::Rotate => {
            let (mut file, path) = load_file(config)?;
            let path = path.ok_or_else(|| {
                anyhow::anyhow!(
                    "the keys come from {KEYS_JSON_VAR}: add a data key there (see docs/privacy.md) and run `yizhan keys reseal`"
                )
            })?;
            let id = file.add_data_key(chrono::Utc::now());
            replace(&path, &file)?;
            println!("data key {id} added to {} and made current", path.display());
            reseal(config, file).await
        }
        KeysCommand::Reseal => {
            let (file, _) = load_file(config)?;
            reseal(config, file).await
        }
    }
}

async fn reseal(config: &Config, file: KeyFile) -> anyhow::Result<()> {
    let keys = Arc::new(Keys::from_file(&file).map_err(anyhow::Error::msg)?);
    let app = wiring::build_with_keys(config, keys).await?;
    let sealed = wiring::seal_at_start(&app).await?;
    println!(
        "{sealed} rows sealed; every value is now under data key {}. Older data keys may be removed from the file once no backup needs them",
        app.keys.current_id()
    );
    Ok(())
}

pub async fn retention_run(app: &App) -> anyhow::Result<()> {
    let report = app.run_retention().await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
