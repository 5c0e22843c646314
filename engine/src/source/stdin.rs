//! Standard input as a backup source: one stream stored as a single file.
//! The stream is read on a helper thread ([`InterruptibleReader`]), so an
//! interrupt stops the backup even while no byte arrives, and progress
//! counts bytes as they are read. Invariant: the file name is a plain name
//! (no `/`, not `.` or `..`), checked before anything is read.

use super::interruptible::InterruptibleReader;
use super::stream::StreamNodes;
use super::{BuildContext, Sink, Source};
use crate::error::{Error, Result};
use crate::format::tree::Tree;
use std::io::Read;

/// One stream, stored as the file `name` at the snapshot root.
pub struct StdinSource<R> {
    name: String,
    reader: Option<R>,
}

impl<R: Read + Send + 'static> StdinSource<R> {
    /// A source reading `reader` into the file `name`.
    pub fn new(name: &str, reader: R) -> Result<Self> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(Error::invalid(format!(
                "--stdin-name '{name}' must be a plain file name"
            )));
        }
        Ok(StdinSource {
            name: name.to_owned(),
            reader: Some(reader),
        })
    }
}

impl<R: Read + Send + 'static> Source for StdinSource<R> {
    fn kind(&self) -> &'static str {
        "stdin"
    }

    fn paths(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    fn build(&mut self, sink: &mut dyn Sink, ctx: &BuildContext<'_>) -> Result<Tree> {
        let reader = self
            .reader
            .take()
            .ok_or_else(|| Error::internal("standard input was already read"))?;
        let mut reader = InterruptibleReader::new(reader, ctx.progress);
        let mut nodes = StreamNodes::new(sink, ctx);
        let node = nodes.file_from(self.name.as_bytes(), &mut reader, "standard input", false)?;
        Ok(Tree { nodes: vec![node] })
    }
}
