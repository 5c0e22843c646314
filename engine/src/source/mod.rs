//! Where backup data comes from: the filesystem ([`files`]) and standard
//! input (handled by the archiver as a single-file tree).

pub mod files;
