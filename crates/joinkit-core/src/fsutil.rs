//! Reading and writing files safely.
//!
//! Reading: every file joinkit reads goes through `read_bounded` (or `read_stdin_bounded`
//! for `-`). It refuses anything that is not a regular file (FIFOs, character and block devices
//! such as `/dev/zero`, sockets, directories) before reading a byte, opens with `O_NONBLOCK` so
//! that opening a FIFO cannot hang, and reads at most `limit` bytes: a larger file is an error,
//! never a partial read. The limits are documented in SECURITY.md: [`MAX_INPUT_FILE`] (16 MiB)
//! for certificates, kubeconfigs, configs, token files and saved cluster-info; explain-log streams
//! its logs line by line instead (bounded per line in `diagnose::explain`).
//!
//! Under a root directory (`diagnose --root DIR`): [`Root`] reads the same way, and resolves
//! every path and symbolic link inside the root (absolute links from the root, as the node sees
//! them); a link that climbs out is refused, never followed (`fsutil/in_root.rs`,
//! docs/diagnose-root.md).
//!
//! Writing: files that may hold secrets (tokens, keys, kubeconfigs) are written to a temporary
//! file in the target directory with mode 0600, flushed, and renamed over the target, so a
//! reader never sees a half-written file.

use std::fmt;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

mod in_root;
pub use in_root::{Kind, Root, MAX_LINK_HOPS};

/// The size limit for one input file: certificates, kubeconfigs, JoinConfigurations, token
/// files, discovery files and saved cluster-info (16 MiB; real ones are a few KiB).
pub const MAX_INPUT_FILE: u64 = 16 << 20;

/// Why a bounded read failed. `Display` names the path and what was expected and seen.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be opened or read (does not exist, permission denied, ...).
    Io {
        /// The path as given.
        path: String,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// The path is not a regular file: a FIFO, a device, a socket or a directory.
    NotRegular {
        /// The path as given.
        path: String,
        /// What it is instead ("a FIFO", "a character device", ...).
        kind: &'static str,
    },
    /// The file (or standard input) holds more than the limit.
    TooLarge {
        /// The path as given (`standard input` for `-`).
        path: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// Under a [`Root`]: resolving the path would climb above the root (`..` at the root), so
    /// it was not followed.
    LeavesRoot {
        /// The path as given (as the node sees it).
        path: String,
        /// The symbolic link whose target climbs out (its path inside the root), if a link did.
        link: Option<String>,
        /// That link's target (shortened).
        target: String,
    },
    /// Under a [`Root`]: more than [`MAX_LINK_HOPS`] symbolic links (a loop).
    TooManyLinks {
        /// The path as given.
        path: String,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { path, error } => write!(f, "cannot read {path}: {error}"),
            ReadError::NotRegular { path, kind } => {
                write!(f, "expected a regular file at {path}; it is {kind}, which joinkit does not read")
            }
            ReadError::TooLarge { path, limit } => {
                write!(f, "expected at most {} at {path}; it holds more", human_size(*limit))
            }
            ReadError::LeavesRoot { path, link: Some(link), target } if link == path => {
                write!(f, "{path} is a symlink that leaves --root (-> {target}): not followed")
            }
            ReadError::LeavesRoot { path, link: Some(link), target } => {
                write!(f, "{path}: {link} is a symlink that leaves --root (-> {target}): not followed")
            }
            ReadError::LeavesRoot { path, link: None, .. } => {
                write!(f, "{path} climbs above --root (..): not followed")
            }
            ReadError::TooManyLinks { path } => {
                write!(f, "{path}: more than {MAX_LINK_HOPS} symbolic links to follow (a loop): not followed")
            }
        }
    }
}

impl std::error::Error for ReadError {}

/// `16 MiB`, `8 KiB`, `100 bytes`.
pub(crate) fn human_size(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

fn file_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Reads a whole regular file of at most `limit` bytes. Refuses FIFOs, devices, sockets and
/// directories (checked on the opened descriptor, so a swapped path cannot slip through) and
/// never blocks on open. Errors: [`ReadError`].
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let shown = path.display().to_string();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|error| ReadError::Io { path: shown.clone(), error })?;
    let meta = file.metadata().map_err(|error| ReadError::Io { path: shown.clone(), error })?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular { path: shown, kind: file_kind(&meta.file_type()) });
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { path: shown, limit });
    }
    read_limited(file, limit, shown)
}

/// [`read_bounded`] as UTF-8 text (invalid UTF-8 is an `Io` error of kind `InvalidData`).
pub(crate) fn read_bounded_string(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bounded(path, limit)?;
    String::from_utf8(bytes).map_err(|_| ReadError::Io {
        path: path.display().to_string(),
        error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

/// Reads standard input up to `limit` bytes; more is [`ReadError::TooLarge`] (standard input
/// may be a pipe or a terminal: that is what `-` documents).
pub(crate) fn read_stdin_bounded(limit: u64) -> Result<Vec<u8>, ReadError> {
    read_limited(std::io::stdin().lock(), limit, "standard input".into())
}

/// Reads `path`, or standard input when `path` is `-`, bounded by `limit`.
pub fn read_path_or_stdin(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    if path.as_os_str() == "-" {
        read_stdin_bounded(limit)
    } else {
        read_bounded(path, limit)
    }
}

fn read_limited(r: impl Read, limit: u64, shown: String) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::new();
    r.take(limit + 1).read_to_end(&mut buf).map_err(|error| ReadError::Io { path: shown.clone(), error })?;
    if buf.len() as u64 > limit {
        return Err(ReadError::TooLarge { path: shown, limit });
    }
    Ok(buf)
}

/// Writes `data` to `path` atomically with mode 0600. Errors name the path.
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.write_all(data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.as_file().sync_all().map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.persist(path).map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    Ok(())
}

/// Writes several files under `dir` as one unit: all of them appear, or none does (files that
/// existed before are left as they were). Each `(relative path, data)` is written to a
/// temporary file beside its target with mode 0600 and synced; only when all are written are
/// they renamed into place, and a failed rename rolls back the ones before it. Directories
/// that do not exist are created with mode 0700, set explicitly (not left to the umask), and
/// removed again on failure. Errors name the path.
pub(crate) fn write_all_or_none(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), String> {
    let mut created: Vec<std::path::PathBuf> = Vec::new();
    let result = (|| {
        let mut staged = Vec::new();
        for (rel, data) in files {
            let target = dir.join(rel);
            let parent = target.parent().unwrap_or(dir).to_path_buf();
            create_dirs_private(&parent, &mut created)?;
            let mut tmp = tempfile::Builder::new()
                .prefix(".joinkit-")
                .tempfile_in(&parent)
                .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            tmp.write_all(data).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            tmp.as_file().sync_all().map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            staged.push((tmp, target));
        }
        // Keep the old files (hard links) until every rename succeeded.
        let mut backups: Vec<(std::path::PathBuf, Option<std::path::PathBuf>)> = Vec::new();
        let mut done: Vec<(std::path::PathBuf, Option<std::path::PathBuf>)> = Vec::new();
        for (_, target) in &staged {
            let backup = if target.is_file() {
                let b = target.with_file_name(format!(
                    ".joinkit-old-{}-{}",
                    std::process::id(),
                    target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                ));
                let _ = std::fs::remove_file(&b);
                std::fs::hard_link(target, &b).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
                Some(b)
            } else {
                None
            };
            backups.push((target.clone(), backup));
        }
        let mut failure = None;
        for ((tmp, target), (_, backup)) in staged.into_iter().zip(backups.iter()) {
            match tmp.persist(&target) {
                Ok(_) => done.push((target, backup.clone())),
                Err(e) => {
                    failure = Some(format!("cannot write {}: {}", target.display(), e.error));
                    break;
                }
            }
        }
        if let Some(f) = failure {
            for (target, backup) in done.iter().rev() {
                match backup {
                    Some(b) => {
                        let _ = std::fs::rename(b, target);
                    }
                    None => {
                        let _ = std::fs::remove_file(target);
                    }
                }
            }
            for (_, b) in &backups {
                if let Some(b) = b {
                    let _ = std::fs::remove_file(b);
                }
            }
            return Err(f);
        }
        for (_, b) in backups.iter().filter_map(|(t, b)| b.as_ref().map(|b| (t, b))) {
            let _ = std::fs::remove_file(b);
        }
        Ok(())
    })();
    if result.is_err() {
        for d in created.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
    result
}

/// Creates `dir` and its missing parents with mode 0700 (chmod'ed explicitly), recording the
/// ones it created.
fn create_dirs_private(dir: &Path, created: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dirs_private(parent, created)?;
    }
    std::fs::create_dir(dir).map_err(|e| format!("cannot create directory {}: {e}", dir.display()))?;
    created.push(dir.to_path_buf());
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("cannot set the mode of {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_devices_fifos_directories_and_large_files() {
        let e = read_bounded(Path::new("/dev/zero"), MAX_INPUT_FILE).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { kind: "a character device", .. }), "{e}");
        let e = read_bounded(Path::new("/"), MAX_INPUT_FILE).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { kind: "a directory", .. }), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Opening a FIFO without a writer would block without O_NONBLOCK.
        let e = read_bounded(&fifo, MAX_INPUT_FILE).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { kind: "a FIFO (named pipe)", .. }), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 1025]).unwrap();
        let e = read_bounded(&big, 1024).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { limit: 1024, .. }), "{e}");
        assert_eq!(e.to_string(), format!("expected at most 1 KiB at {}; it holds more", big.display()));
        std::fs::write(&big, vec![b'a'; 1024]).unwrap();
        assert_eq!(read_bounded(&big, 1024).unwrap().len(), 1024);
        // /proc files report size 0 and are still read.
        assert!(!read_bounded(Path::new("/proc/self/status"), MAX_INPUT_FILE).unwrap().is_empty());
    }

    #[test]
    fn several_files_appear_all_or_none() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let files: [(&str, &[u8]); 3] = [("a.conf", b"a"), ("b.conf", b"b"), ("pki/ca.crt", b"c")];
        write_all_or_none(&out, &files).unwrap();
        for (rel, data) in files {
            let p = out.join(rel);
            assert_eq!(std::fs::read(&p).unwrap(), data);
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(std::fs::metadata(out.join("pki")).unwrap().permissions().mode() & 0o777, 0o700);
        // A later file cannot be placed (its target is a directory): the earlier ones are
        // rolled back to what they were, and no new file or temporary is left.
        let out2 = dir.path().join("out2");
        std::fs::create_dir_all(out2.join("b.conf")).unwrap();
        std::fs::write(out2.join("a.conf"), b"old").unwrap();
        let e = write_all_or_none(&out2, &files).unwrap_err();
        assert!(e.contains("b.conf"), "{e}");
        assert_eq!(std::fs::read(out2.join("a.conf")).unwrap(), b"old");
        let mut names: Vec<String> =
            std::fs::read_dir(&out2).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, ["a.conf", "b.conf"]);
        // A directory that cannot be created (a file is in the way): nothing appears.
        let out3 = dir.path().join("out3");
        std::fs::create_dir_all(&out3).unwrap();
        std::fs::write(out3.join("pki"), b"not a dir").unwrap();
        assert!(write_all_or_none(&out3, &files).is_err());
        let mut names: Vec<String> =
            std::fs::read_dir(&out3).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, ["pki"]);
    }
}

/// Opens `path` for streaming (explain-log's logs): a regular file, or a FIFO or pipe (logs
/// are often piped in with process substitution, `<(journalctl -u kubelet)`). Refuses
/// character and block devices (`/dev/zero`), sockets and directories before reading a byte:
/// the path is opened with `O_NONBLOCK` (so opening a device or a FIFO cannot hang) and
/// checked on the descriptor, then `O_NONBLOCK` is cleared. For a FIFO, it then waits (`poll`)
/// until a writer has written or come and gone, as any reader of a FIFO waits for its writer (a
/// FIFO without a writer would otherwise read as an empty log); an anonymous pipe with data or
/// an exited writer does not wait. The caller bounds what it reads.
pub(crate) fn open_stream(path: &Path) -> Result<std::fs::File, ReadError> {
    use std::os::fd::AsRawFd;
    let shown = path.display().to_string();
    let io = |error| ReadError::Io { path: shown.clone(), error };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io)?;
    let ft = file.metadata().map_err(io)?.file_type();
    if !ft.is_file() && !ft.is_fifo() {
        return Err(ReadError::NotRegular { path: shown, kind: file_kind(&ft) });
    }
    let fd = file.as_raw_fd();
    // SAFETY: fcntl and poll on a descriptor we own; poll gets one valid pollfd.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io(std::io::Error::last_os_error()));
    }
    if ft.is_fifo() {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        while unsafe { libc::poll(&mut p, 1, -1) } < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(io(e));
            }
        }
    }
    Ok(file)
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    #[test]
    fn open_stream_allows_files_and_fifos_and_refuses_devices_and_directories() {
        let e = open_stream(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { kind: "a character device", .. }), "{e}");
        let e = open_stream(Path::new("/")).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { kind: "a directory", .. }), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("log");
        std::fs::write(&f, "line\n").unwrap();
        let mut s = String::new();
        open_stream(&f).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "line\n");
        // A FIFO: the open waits for the writer, then reads what it wrote.
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let w = fifo.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            std::fs::write(w, "from the pipe\n").unwrap();
        });
        let mut s = String::new();
        open_stream(&fifo).unwrap().read_to_string(&mut s).unwrap();
        writer.join().unwrap();
        assert_eq!(s, "from the pipe\n");
    }
}
