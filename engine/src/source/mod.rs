//! Where backup data comes from: the filesystem ([`files`]) and streams
//! such as standard input ([`interruptible`], handled by the archiver as a
//! single-file tree).

pub mod files;
pub mod interruptible;
