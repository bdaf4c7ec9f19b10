//! JSON-lines reporter: one event per line, flushed as it happens, so a killed run still
//! leaves every result that finished.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::{Reporter, create_parent};
use crate::event::Event;

pub struct JsonLinesReporter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl JsonLinesReporter {
    pub fn create(path: &Path) -> std::io::Result<Self> {
        create_parent(path)?;
        Ok(Self {
            path: path.to_owned(),
            out: BufWriter::new(File::create(path)?),
        })
    }
}

impl Reporter for JsonLinesReporter {
    fn event(&mut self, event: &Event) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        // Flush every line: the file is the run's durable record.
        self.out.flush()?;
        self.out.get_ref().sync_data()
    }

    fn describe(&self) -> String {
        format!("JSON lines report {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_is_on_disk_before_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/run.jsonl");
        let mut r = JsonLinesReporter::create(&path).unwrap();
        for (i, ev) in crate::report::fixtures::run().iter().enumerate() {
            r.event(ev).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text.lines().count(), i + 1);
            let last: Event = serde_json::from_str(text.lines().last().unwrap()).unwrap();
            assert_eq!(&last, ev);
        }
    }
}
