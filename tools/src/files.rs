//! Reading files that a `.ww` setting or a folder walk points at without ever blocking: a FIFO or a
//! device at that path would hang a plain `read` forever, so files are opened non-blocking and
//! checked to be regular before a size-capped read.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What `read_capped` found.
pub struct Capped {
    /// The first bytes of the file, at most the cap.
    pub bytes: Vec<u8>,
    /// The file's whole size (larger than `bytes.len()` when the cap cut it).
    pub total: u64,
}

/// Opens `path` for reading if it is a regular file; `Ok(None)` when nothing is there.
pub fn open_regular(path: &Path) -> Result<Option<(File, Metadata)>, String> {
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open `{}`: {e}", path.display())),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the metadata of `{}`: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "`{}` is {}, not a regular file; point it at a text file",
            path.display(),
            kind_of(&meta)
        ));
    }
    Ok(Some((file, meta)))
}

/// Reads at most `cap` bytes of the regular file at `path`; `Ok(None)` when it does not exist.
pub fn read_capped(path: &Path, cap: usize) -> Result<Option<Capped>, String> {
    let Some((file, meta)) = open_regular(path)? else {
        return Ok(None);
    };
    let total = meta.len();
    let mut bytes = Vec::with_capacity((total as usize).min(cap));
    file.take(cap as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    Ok(Some(Capped {
        total: total.max(bytes.len() as u64),
        bytes,
    }))
}

/// Says what a non-regular file is, for error messages.
pub fn kind_of(meta: &Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// A text file a setting names (documentation, prompt): must exist, be a regular file, fit in
/// `cap` bytes and be UTF-8 — each failure said with the path and how to fix it.
pub fn read_text(path: &Path, cap: usize) -> Result<String, String> {
    let Some(c) = read_capped(path, cap)? else {
        return Err(format!(
            "`{}` does not exist (paths are relative to the .ww file)",
            path.display()
        ));
    };
    if c.total > cap as u64 {
        return Err(format!(
            "`{}` is {} bytes; the limit is {cap} bytes",
            path.display(),
            c.total
        ));
    }
    String::from_utf8(c.bytes).map_err(|_| format!("`{}` is not UTF-8 text", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_at_once_and_a_large_file_by_size() {
        let dir = std::env::temp_dir().join(format!("ww-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let _ = std::fs::remove_file(&fifo);
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_text(&fifo, 100).unwrap_err();
        assert!(e.contains("FIFO"), "{e}");
        let big = dir.join("big.txt");
        std::fs::write(&big, "x".repeat(200)).unwrap();
        assert!(read_text(&big, 100).unwrap_err().contains("200 bytes"));
        assert_eq!(read_text(&big, 1000).unwrap().len(), 200);
        assert!(read_text(&dir.join("none"), 10)
            .unwrap_err()
            .contains("does not exist"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
