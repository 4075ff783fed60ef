//! Files read under a root directory (`diagnose --root DIR`) that never leave it.
//!
//! A node's disk mounted at `DIR` holds absolute symbolic links (`/etc/kubernetes/pki ->
//! /var/lib/...`) that mean `DIR/var/lib/...`, as they would on the node. [`Root`] resolves
//! paths the way `chroot DIR` (or Linux `openat2(2)` with `RESOLVE_IN_ROOT`) does, with one
//! difference: a `..` that would climb above `DIR` is not clamped at `DIR` but refused, since
//! on a mounted disk it only comes from a broken or hostile link. The rules (docs/diagnose-root.md):
//!
//! - every component is opened relative to the directory before it (`openat(2)` with
//!   `O_PATH | O_NOFOLLOW`), starting from `DIR` opened once: no path is ever re-resolved by the
//!   kernel, so a link swapped in mid-walk cannot redirect a read (no check-then-open window);
//! - a symbolic link is read (`readlinkat(2)`) and its target walked by the same rules: an
//!   absolute target from `DIR`, a relative one from the link's directory;
//! - `..` goes back to the directory the walk came from; `..` at `DIR` is
//!   [`ReadError::LeavesRoot`]: not followed;
//! - at most [`MAX_LINK_HOPS`] links per path (40, Linux's `MAXSYMLINKS`), else
//!   [`ReadError::TooManyLinks`] (a loop);
//! - the object found is checked on its `O_PATH` descriptor before it is opened for reading:
//!   only a regular file is opened (a FIFO, device or socket never is), with `O_NOFOLLOW`
//!   relative to its directory, and the opened file must be the same inode.
//!
//! With `DIR` = `/` the node is the host: paths are opened as they are (the kernel's
//! resolution), exactly as before `Root` existed.

use super::{read_limited, ReadError};
use rustix::fs::{openat, readlinkat, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::CString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The most symbolic links followed while resolving one path (Linux `MAXSYMLINKS`,
/// `include/linux/namei.h`); more is [`ReadError::TooManyLinks`].
pub const MAX_LINK_HOPS: u32 = 40;

/// A component still to walk, with the link (its path inside the root, its target as shown)
/// whose target it came from, if any.
type Pending = (Vec<u8>, Option<Rc<(String, String)>>);

/// The most characters of a link's target shown in [`ReadError::LeavesRoot`].
const SHOWN_TARGET: usize = 120;

/// What a path under a [`Root`] is, once resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// Anything else: a FIFO, a socket, a character or block device.
    Other,
}

/// A directory read as the root of a node's filesystem (`diagnose --root DIR`). Paths are given
/// as the node sees them (`/var/lib/kubelet/config.yaml`) and resolved inside the root (the
/// module's rules). Errors ([`ReadError`]) name the path as given, never the content read.
#[derive(Debug, Clone)]
pub struct Root {
    dir: PathBuf,
}

/// A path resolved inside the root: the directories walked (`stack[0]` is the root) and, unless
/// the path is the directory on top, the object found in it.
struct Walked {
    stack: Vec<(OwnedFd, Vec<u8>)>,
    leaf: Option<(OwnedFd, CString, rustix::fs::Stat)>,
}

impl Walked {
    /// The resolved path inside the root, `/`-separated.
    fn inner_path(&self) -> String {
        let dir = dir_path(&self.stack);
        match &self.leaf {
            Some((_, name, _)) => {
                format!("{}/{}", dir.trim_end_matches('/'), String::from_utf8_lossy(name.to_bytes()))
            }
            None => dir,
        }
    }
}

impl Root {
    /// The root at `dir` (`/` for the host itself). Nothing is opened yet.
    pub fn new(dir: impl Into<PathBuf>) -> Root {
        Root { dir: dir.into() }
    }

    /// The root directory as given.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether this is the host's own root (`/`): the kernel resolves paths as usual.
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// `p` joined to the root, unresolved: for messages and for the host (`/`) only.
    pub fn join(&self, p: &str) -> PathBuf {
        self.dir.join(p.trim_start_matches('/'))
    }

    /// Reads the regular file `p` (at most `limit` bytes) under the root. Errors:
    /// [`ReadError::LeavesRoot`], [`ReadError::TooManyLinks`], [`ReadError::NotRegular`] (checked
    /// before the file is opened for reading), [`ReadError::TooLarge`], [`ReadError::Io`]
    /// (`NotFound` when it does not exist).
    pub fn read(&self, p: &str, limit: u64) -> Result<Vec<u8>, ReadError> {
        if self.is_host() {
            return super::read_bounded(&self.join(p), limit);
        }
        let w = self.walk(p)?;
        let Some((_, name, st)) = &w.leaf else {
            return Err(ReadError::NotRegular { path: p.into(), kind: "a directory" });
        };
        let ft = FileType::from_raw_mode(st.st_mode);
        if ft != FileType::RegularFile {
            return Err(ReadError::NotRegular { path: p.into(), kind: kind_name(ft) });
        }
        let parent = &w.stack.last().expect("the root is on the stack").0;
        let file = openat(
            parent,
            name.as_c_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io(p, e))?;
        let now = rustix::fs::fstat(&file).map_err(|e| io(p, e))?;
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
            return Err(ReadError::Io {
                path: p.into(),
                error: std::io::Error::other("it was replaced while being opened"),
            });
        }
        if now.st_size as u64 > limit {
            return Err(ReadError::TooLarge { path: p.into(), limit });
        }
        read_limited(std::fs::File::from(file), limit, p.into())
    }

    /// [`Root::read`] as UTF-8 text (invalid UTF-8 is an `Io` error of kind `InvalidData`).
    pub fn read_string(&self, p: &str, limit: u64) -> Result<String, ReadError> {
        let bytes = self.read(p, limit)?;
        String::from_utf8(bytes).map_err(|_| ReadError::Io {
            path: p.into(),
            error: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
        })
    }

    /// The entry names of directory `p` under the root, sorted (`.` and `..` left out; names
    /// that are not UTF-8 shown lossily). Errors as [`Root::read`]; a path that is not a
    /// directory is [`ReadError::NotRegular`] naming what it is.
    pub fn list(&self, p: &str) -> Result<Vec<String>, ReadError> {
        let mut names: Vec<String> = if self.is_host() {
            std::fs::read_dir(self.join(p))
                .map_err(|e| ReadError::Io { path: p.into(), error: e })?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        } else {
            let w = self.walk(p)?;
            if w.leaf.is_some() {
                return Err(io(p, Errno::NOTDIR));
            }
            let top = &w.stack.last().expect("the root is on the stack").0;
            let dir = openat(top, c".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                .map_err(|e| io(p, e))?;
            let mut out = Vec::new();
            for entry in rustix::fs::Dir::new(dir).map_err(|e| io(p, e))? {
                let entry = entry.map_err(|e| io(p, e))?;
                let n = entry.file_name().to_bytes();
                if n != b"." && n != b".." {
                    out.push(String::from_utf8_lossy(n).into_owned());
                }
            }
            out
        };
        names.sort();
        Ok(names)
    }

    /// What `p` is under the root: `Ok(None)` when it does not exist (or a directory on the way
    /// is not one). Links are resolved inside the root; one that leaves it is an error, as in
    /// [`Root::read`]. On the host (`/`) this is `Path::exists` and `metadata`, as before.
    pub fn kind(&self, p: &str) -> Result<Option<Kind>, ReadError> {
        if self.is_host() {
            return Ok(std::fs::metadata(self.join(p)).ok().map(|m| {
                if m.is_file() {
                    Kind::File
                } else if m.is_dir() {
                    Kind::Dir
                } else {
                    Kind::Other
                }
            }));
        }
        match self.walk(p) {
            Ok(w) => Ok(Some(match &w.leaf {
                None => Kind::Dir,
                Some((_, _, st)) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => Kind::File,
                Some(_) => Kind::Other,
            })),
            Err(ReadError::Io { error, .. })
                if matches!(error.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The host path of `p` with every link resolved inside the root, for what can only be
    /// reached by name (connecting to a unix socket). Nothing is read; the caller's later use
    /// of the name is not protected against a link swapped in after this check (a socket's
    /// answer is evidence, never a file's content). Errors as [`Root::kind`].
    pub fn resolve(&self, p: &str) -> Result<PathBuf, ReadError> {
        if self.is_host() {
            return Ok(self.join(p));
        }
        let w = self.walk(p)?;
        Ok(self.join(&w.inner_path()))
    }

    /// The one walk: resolves `p` from the root by the module's rules.
    fn walk(&self, p: &str) -> Result<Walked, ReadError> {
        let root = openat(
            rustix::fs::CWD,
            self.dir.as_path(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ReadError::Io { path: format!("--root {}", self.dir.display()), error: e.into() })?;
        let mut w = Walked { stack: vec![(root, Vec::new())], leaf: None };
        // Components still to walk, the next one last, each with the link (its path inside the
        // root and its target) whose target it came from, if any.
        let mut todo: Vec<Pending> = components(p.as_bytes()).into_iter().map(|c| (c, None)).collect();
        let mut hops = 0u32;
        while let Some((c, from)) = todo.pop() {
            if w.leaf.is_some() {
                // A component after a file: the path does not resolve (as the kernel says).
                return Err(io(p, Errno::NOTDIR));
            }
            if c == b".." {
                if w.stack.len() == 1 {
                    let (link, target) = match from.as_deref() {
                        Some((l, t)) => (Some(l.clone()), t.clone()),
                        None => (None, String::new()),
                    };
                    return Err(ReadError::LeavesRoot { path: p.into(), link, target });
                }
                w.stack.pop();
                continue;
            }
            let name = CString::new(c.clone()).map_err(|_| io(p, Errno::INVAL))?;
            let top = &w.stack.last().expect("the root is on the stack").0;
            let fd = openat(top, name.as_c_str(), OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
                .map_err(|e| io(p, e))?;
            let st = rustix::fs::fstat(&fd).map_err(|e| io(p, e))?;
            match FileType::from_raw_mode(st.st_mode) {
                FileType::Symlink => {
                    hops += 1;
                    if hops > MAX_LINK_HOPS {
                        return Err(ReadError::TooManyLinks { path: p.into() });
                    }
                    // An O_PATH descriptor of the link itself: readlinkat(fd, "") reads it.
                    let target = readlinkat(&fd, c"", Vec::new()).map_err(|e| io(p, e))?;
                    let target = target.as_bytes();
                    if target.is_empty() {
                        return Err(io(p, Errno::NOENT));
                    }
                    let link = format!("{}/{}", dir_path(&w.stack).trim_end_matches('/'), String::from_utf8_lossy(&c));
                    let from = Rc::new((link, shown_target(target)));
                    if target.starts_with(b"/") {
                        w.stack.truncate(1);
                    }
                    todo.extend(components(target).into_iter().map(|c| (c, Some(from.clone()))));
                }
                FileType::Directory => w.stack.push((fd, c)),
                _ => w.leaf = Some((fd, name, st)),
            }
        }
        Ok(w)
    }
}

/// The path inside the root of the directory on top of `stack`, `/`-separated.
fn dir_path(stack: &[(OwnedFd, Vec<u8>)]) -> String {
    let mut s = String::new();
    for (_, name) in stack.iter().skip(1) {
        s.push('/');
        s.push_str(&String::from_utf8_lossy(name));
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// `p`'s components in reverse order (the first last, for popping), without empty ones and `.`.
fn components(p: &[u8]) -> Vec<Vec<u8>> {
    p.split(|b| *b == b'/').filter(|c| !c.is_empty() && *c != b".").map(<[u8]>::to_vec).rev().collect()
}

/// A link's target for a message: a long run of `../` counted (`../ ×40 etc/shadow`), the
/// whole cut to [`SHOWN_TARGET`] characters.
fn shown_target(t: &[u8]) -> String {
    let s = String::from_utf8_lossy(t);
    let mut rest: &str = &s;
    let mut ups = 0;
    while let Some(r) = rest.strip_prefix("../") {
        rest = r;
        ups += 1;
    }
    let s = if ups > 3 { format!("../ ×{ups} {rest}") } else { s.into_owned() };
    if s.chars().count() > SHOWN_TARGET {
        s.chars().take(SHOWN_TARGET).collect::<String>() + "…"
    } else {
        s
    }
}

fn kind_name(ft: FileType) -> &'static str {
    match ft {
        FileType::Directory => "a directory",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Socket => "a socket",
        FileType::Symlink => "a symbolic link",
        _ => "not a regular file",
    }
}

fn io(p: &str, e: rustix::io::Errno) -> ReadError {
    ReadError::Io { path: p.into(), error: e.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    const MARKER: &str = "JOINKIT-SECRET-MARKER-4d1f";

    /// A root with `/etc/kubernetes`, `/var/lib/pki/ca.crt` ("inside") and, beside the root,
    /// `outside/secret` (the marker) and `outside/fifo`.
    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("etc/kubernetes")).unwrap();
        std::fs::create_dir_all(root.join("var/lib/pki")).unwrap();
        std::fs::write(root.join("var/lib/pki/ca.crt"), "inside").unwrap();
        let outside = d.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), MARKER).unwrap();
        let fifo = std::ffi::CString::new(outside.join("fifo").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        (d, root, outside)
    }

    /// `..` enough to reach `/` from anywhere in the tree, then `abs` (the kernel clamps `..` at
    /// `/`, so on the host this is `abs`).
    fn climb_to(abs: &Path) -> String {
        format!("{}{}", "../".repeat(30), abs.display().to_string().trim_start_matches('/'))
    }

    #[test]
    fn absolute_links_resolve_inside_the_root() {
        let (_d, root, outside) = tree();
        // As on a node: /etc/kubernetes/pki -> /var/lib/pki means DIR/var/lib/pki.
        symlink("/var/lib/pki", root.join("etc/kubernetes/pki")).unwrap();
        let r = Root::new(&root);
        assert_eq!(r.read_string("/etc/kubernetes/pki/ca.crt", 100).unwrap(), "inside");
        assert_eq!(r.list("/etc/kubernetes/pki").unwrap(), ["ca.crt"]);
        assert_eq!(r.kind("/etc/kubernetes/pki").unwrap(), Some(Kind::Dir));
        assert_eq!(r.resolve("/etc/kubernetes/pki/ca.crt").unwrap(), root.join("var/lib/pki/ca.crt"));
        // An absolute link to the host's secret is a path inside the root: absent there.
        symlink(outside.join("secret"), root.join("etc/kubernetes/kubelet.conf")).unwrap();
        let e = r.read("/etc/kubernetes/kubelet.conf", 100).unwrap_err();
        assert!(matches!(&e, ReadError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound), "{e}");
        assert_eq!(r.kind("/etc/kubernetes/kubelet.conf").unwrap(), None);
        // Relative links that stay inside, `..` included.
        symlink("../../var/lib/pki/ca.crt", root.join("etc/kubernetes/ca.crt")).unwrap();
        assert_eq!(r.read_string("/etc/kubernetes/ca.crt", 100).unwrap(), "inside");
    }

    #[test]
    fn links_that_climb_out_are_not_followed_and_name_the_link() {
        let (_d, root, outside) = tree();
        let r = Root::new(&root);
        symlink(climb_to(&outside.join("secret")), root.join("etc/kubernetes/kubelet.conf")).unwrap();
        let e = r.read("/etc/kubernetes/kubelet.conf", 100).unwrap_err();
        assert!(
            matches!(&e, ReadError::LeavesRoot { link: Some(l), .. } if l == "/etc/kubernetes/kubelet.conf"),
            "{e:?}"
        );
        let shown = e.to_string();
        assert!(shown.starts_with("/etc/kubernetes/kubelet.conf is a symlink that leaves --root (-> ../"), "{shown}");
        assert!(shown.ends_with(": not followed"), "{shown}");
        assert!(!shown.contains(MARKER));
        // Every entry point refuses it the same way.
        assert!(matches!(r.kind("/etc/kubernetes/kubelet.conf"), Err(ReadError::LeavesRoot { .. })));
        assert!(matches!(r.resolve("/etc/kubernetes/kubelet.conf"), Err(ReadError::LeavesRoot { .. })));
        // Just one level above the root is out, too.
        symlink("../../../outside/secret", root.join("etc/kubernetes/one-up")).unwrap();
        assert!(matches!(r.read("/etc/kubernetes/one-up", 100), Err(ReadError::LeavesRoot { .. })));
        // A chain: the second link is the one that leaves, and it is named.
        symlink("/etc/chain2", root.join("etc/chain1")).unwrap();
        symlink(climb_to(&outside.join("secret")), root.join("etc/chain2")).unwrap();
        let e = r.read("/etc/chain1", 100).unwrap_err();
        assert!(matches!(&e, ReadError::LeavesRoot { link: Some(l), .. } if l == "/etc/chain2"), "{e:?}");
        assert!(e.to_string().starts_with("/etc/chain1: /etc/chain2 is a symlink that leaves --root"), "{e}");
        // A directory on the way that leaves: listing and reading through it are refused.
        symlink(climb_to(&outside), root.join("etc/out")).unwrap();
        assert!(matches!(r.read("/etc/out/secret", 100), Err(ReadError::LeavesRoot { .. })));
        assert!(matches!(r.list("/etc/out"), Err(ReadError::LeavesRoot { .. })));
        // A FIFO and a device outside: refused as links, never opened (no hang).
        symlink(climb_to(&outside.join("fifo")), root.join("etc/fifo")).unwrap();
        symlink(climb_to(Path::new("/dev/zero")), root.join("etc/zero")).unwrap();
        for p in ["/etc/fifo", "/etc/zero"] {
            assert!(matches!(r.read(p, 100), Err(ReadError::LeavesRoot { .. })), "{p}");
        }
    }

    #[test]
    fn loops_stop_after_40_links() {
        let (_d, root, _) = tree();
        let r = Root::new(&root);
        symlink("/etc/b", root.join("etc/a")).unwrap();
        symlink("a", root.join("etc/b")).unwrap();
        let e = r.read("/etc/a", 100).unwrap_err();
        assert!(matches!(e, ReadError::TooManyLinks { .. }), "{e:?}");
        assert_eq!(e.to_string(), "/etc/a: more than 40 symbolic links to follow (a loop): not followed");
        // A chain of exactly 40 links still resolves; 41 do not (Linux's MAXSYMLINKS).
        for i in 0..41 {
            symlink(format!("l{}", i + 1), root.join(format!("etc/l{i}"))).unwrap();
        }
        std::fs::write(root.join("etc/l41"), "end").unwrap();
        assert_eq!(r.read_string("/etc/l1", 10).unwrap(), "end");
        assert!(matches!(r.read("/etc/l0", 10), Err(ReadError::TooManyLinks { .. })));
    }

    #[test]
    fn only_regular_files_are_opened() {
        let (_d, root, _) = tree();
        let r = Root::new(&root);
        let fifo = std::ffi::CString::new(root.join("etc/fifo").to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(matches!(r.read("/etc/fifo", 10), Err(ReadError::NotRegular { kind: "a FIFO (named pipe)", .. })));
        assert_eq!(r.kind("/etc/fifo").unwrap(), Some(Kind::Other));
        assert!(matches!(r.read("/etc", 10), Err(ReadError::NotRegular { kind: "a directory", .. })));
        std::fs::write(root.join("etc/big"), "x".repeat(11)).unwrap();
        assert!(matches!(r.read("/etc/big", 10), Err(ReadError::TooLarge { limit: 10, .. })));
        // A file on the way is not a directory.
        assert_eq!(r.kind("/etc/big/x").unwrap(), None);
        assert!(r.list("/etc/big").is_err());
    }

    #[test]
    fn the_host_root_reads_as_before() {
        let r = Root::new("/");
        assert!(r.is_host());
        // /proc/self is a link the kernel resolves; /proc files report size 0 and are read.
        assert!(r.read_string("/proc/self/status", 1 << 20).unwrap().contains("Name:"));
        assert_eq!(r.kind("/").unwrap(), Some(Kind::Dir));
        assert!(matches!(r.read("/dev/zero", 10), Err(ReadError::NotRegular { kind: "a character device", .. })));
    }

    mod random {
        use super::*;
        use proptest::prelude::*;

        /// Link targets: inside (relative, absolute, through other links) and out (`..` over
        /// the top, the host's absolute path of the secret, loops).
        fn target() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("f".to_string()),
                Just("/f".to_string()),
                Just("/d/g".to_string()),
                Just("../f".to_string()),
                Just("../../f".to_string()),
                Just("d/../../f".to_string()),
                Just("/d/../../f".to_string()),
                (0usize..4).prop_map(|i| format!("l{i}")),
                (0usize..4).prop_map(|i| format!("/d/l{i}")),
                (0usize..4).prop_map(|i| format!("../l{i}")),
                Just("SECRET".to_string()),
                Just("CLIMB".to_string()),
                Just("../outside/secret".to_string()),
                Just("../../outside/secret".to_string()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Whatever the links, a read returns the content of a file inside the root or an
            /// error: never the secret beside it.
            #[test]
            fn no_link_graph_reads_outside(top in proptest::collection::vec(target(), 4), sub in proptest::collection::vec(target(), 4)) {
                let (_d, root, outside) = tree();
                std::fs::write(root.join("f"), "inside-f").unwrap();
                std::fs::create_dir_all(root.join("d")).unwrap();
                std::fs::write(root.join("d/g"), "inside-g").unwrap();
                let fix = |t: &str| match t {
                    "SECRET" => outside.join("secret").display().to_string(),
                    "CLIMB" => climb_to(&outside.join("secret")),
                    t => t.to_string(),
                };
                for (i, t) in top.iter().enumerate() {
                    symlink(fix(t), root.join(format!("l{i}"))).unwrap();
                }
                for (i, t) in sub.iter().enumerate() {
                    symlink(fix(t), root.join(format!("d/l{i}"))).unwrap();
                }
                let r = Root::new(&root);
                for p in (0..4).flat_map(|i| [format!("/l{i}"), format!("/d/l{i}")]) {
                    match r.read_string(&p, 100) {
                        Ok(t) => prop_assert!(t.starts_with("inside-"), "{p}: {t}"),
                        Err(e) => prop_assert!(!e.to_string().contains(MARKER), "{p}: {e}"),
                    }
                }
            }
        }
    }
}
