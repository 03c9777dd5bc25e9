//! The file-upload forms (a carrier's manifest, the kiosk fleet's import, a
//! bank statement) read their multipart body the same way: a CSRF field and
//! one file, every other part ignored.

use axum::extract::Multipart;

/// What an upload form sent.
pub(crate) struct Upload {
    /// The form's CSRF field (at most 64 characters are kept).
    pub csrf: String,
    /// The file's name (at most 200 characters) and bytes, when a non-empty
    /// file part came.
    pub file: Option<(String, Vec<u8>)>,
}

impl Upload {
    /// Reads the parts `csrf` and `file`; the error says why the body could
    /// not be read, for the caller's own "file unreadable" refusal. A file
    /// over `max_bytes` is refused as soon as it is read.
    pub(crate) async fn read(form: &mut Multipart, max_bytes: usize) -> Result<Upload, String> {
        let mut upload = Upload {
            csrf: String::new(),
            file: None,
        };
        while let Some(part) = form.next_field().await.map_err(|e| e.body_text())? {
            match part.name() {
                Some("csrf") => {
                    upload.csrf = part
                        .text()
                        .await
                        .map_err(|e| e.body_text())?
                        .chars()
                        .take(64)
                        .collect();
                }
                Some("file") => {
                    let name: String = part.file_name().unwrap_or("").chars().take(200).collect();
                    let bytes = part.bytes().await.map_err(|e| e.body_text())?;
                    if bytes.len() > max_bytes {
                        return Err(format!("the file is over {} MB; split it", max_bytes >> 20));
                    }
                    upload.file = (!bytes.is_empty()).then(|| (name, bytes.to_vec()));
                }
                _ => {}
            }
        }
        Ok(upload)
    }
}

/// A file name's extension, lower-cased ("" without one).
pub(crate) fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_lowercase())
        .unwrap_or_default()
}
