//! Hashes, gzip and brotli sizes and the `www/manifest.json` that records them.

use std::io::Write as _;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest as _, Sha256};

/// Lowercase hex SHA-256.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut out, b| {
            out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
            out
        })
}

/// Bytes after `gzip -9`.
pub(crate) fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory").len()
}

/// Bytes after `brotli -q 11` (window 2^22, the command-line default).
pub(crate) fn brotli_len(bytes: &[u8]) -> usize {
    let mut encoder = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    encoder.write_all(bytes).expect("brotli into memory");
    encoder.into_inner().len()
}

/// One hash over every file below `dirs` (sorted by path, path and content hashed), so any
/// change to the banner's sources changes it.
pub(crate) fn sources_hash(root: &Path, dirs: &[&str]) -> Result<String, String> {
    let mut files = Vec::new();
    for dir in dirs {
        collect(&root.join(dir), &mut files)?;
    }
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        let relative = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        let content = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        hash.update(relative.as_bytes());
        hash.update([0]);
        hash.update(&content);
        hash.update([0]);
    }
    Ok(sha256(&hash.finalize()))
}

fn collect(path: &Path, files: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    if path.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        collect(&entry.path(), files)?;
    }
    Ok(())
}
