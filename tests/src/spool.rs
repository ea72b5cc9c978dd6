//! The test CUPS queues: what came out of them (the `printrelay-test` backend writes
//! every job to a file), a queue held for a while, and documents to print.

use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Result};
use tokio::time::Instant;

/// Where the test queues' backend writes jobs (see scripts/cups/printrelay-test).
pub fn spool_dir(queue: &str) -> PathBuf {
    let root = std::env::var_os("PRINTRELAY_TEST_SPOOL").map_or_else(
        || PathBuf::from("/var/spool/printrelay-test"),
        PathBuf::from,
    );
    root.join(queue)
}

/// The raw test queue created by the set-up script.
pub const RAW_QUEUE: &str = "PrintRelayRaw";

/// The job files that appear in a queue's spool folder after this was made, each read
/// once (the backend renames a file into place only when it is complete).
///
/// A file is known by its name and inode: cupsd may hand out a job id again (its
/// `job.cache` lags behind when the machine stops), and the backend's `mv` then replaces
/// an old `job-<id>.prn` with a new file under the same name.
#[derive(Debug)]
pub struct SpoolWatch {
    dir: PathBuf,
    known: std::collections::HashSet<(std::ffi::OsString, u64)>,
    /// Contents of the new job files, in the order they were found.
    pub outputs: Vec<Vec<u8>>,
}

impl SpoolWatch {
    /// Remembers what `queue`'s folder holds now.
    pub fn new(queue: &str) -> Self {
        Self::in_dir(spool_dir(queue))
    }

    fn in_dir(dir: PathBuf) -> Self {
        let known = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| (e.file_name(), e.ino()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            dir,
            known,
            outputs: Vec::new(),
        }
    }

    /// Reads the job files that appeared since the last call; returns how many there are
    /// in all.
    pub fn poll(&mut self) -> usize {
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for entry in entries.flatten() {
                let key = (entry.file_name(), entry.ino());
                if self.known.contains(&key) || !key.0.to_string_lossy().ends_with(".prn") {
                    continue;
                }
                if let Ok(bytes) = std::fs::read(entry.path()) {
                    self.known.insert(key);
                    self.outputs.push(bytes);
                }
            }
        }
        self.outputs.len()
    }

    /// Polls until every marker came out at least once (other tests may print on the
    /// same queue meanwhile); returns when that was seen.
    pub async fn wait_for_markers(
        &mut self,
        markers: &[String],
        limit: Duration,
    ) -> Result<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            self.poll();
            let missing = self.counts(markers).iter().filter(|&&c| c == 0).count();
            if missing == 0 {
                return Ok(Instant::now());
            }
            if Instant::now() >= deadline {
                bail!(
                    "{missing} of {} jobs never came out of {} within {limit:?}",
                    markers.len(),
                    self.dir.display()
                );
            }
            // Written by cupsd's backend in another process; poll.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Fails naming every marker that did not come out exactly once (with its count).
    pub fn ensure_each_once(&self, markers: &[String]) -> Result<()> {
        let counts = self.counts(markers);
        let not_once: Vec<(&String, &usize)> = markers
            .iter()
            .zip(&counts)
            .filter(|(_, &c)| c != 1)
            .collect();
        anyhow::ensure!(not_once.is_empty(), "printed other than once: {not_once:?}");
        Ok(())
    }

    /// How many of the new job files hold exactly each of `markers` (surrounding
    /// whitespace aside).
    pub fn counts(&self, markers: &[String]) -> Vec<usize> {
        let mut seen: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        for bytes in &self.outputs {
            *seen.entry(bytes.trim_ascii()).or_default() += 1;
        }
        markers
            .iter()
            .map(|marker| seen.get(marker.as_bytes()).copied().unwrap_or(0))
            .collect()
    }
}

/// Waits until a job file in `queue`'s spool folder contains `needle`; returns its bytes.
///
/// The backend renames a file into place only when complete, so a file seen is whole.
pub async fn wait_for_printed(queue: &str, needle: &[u8], limit: Duration) -> Result<Vec<u8>> {
    let dir = spool_dir(queue);
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "prn") {
                    let bytes = std::fs::read(&path)?;
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        return Ok(bytes);
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "nothing containing {:?} came out of {} within {limit:?}",
                String::from_utf8_lossy(needle),
                dir.display()
            );
        }
        // The spool folder is written by cupsd's backend in another process; there is no
        // event to await, so poll it.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Counts the job files in `queue`'s spool folder that contain `needle`.
pub fn count_printed(queue: &str, needle: &[u8]) -> usize {
    std::fs::read_dir(spool_dir(queue))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "prn"))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .filter(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
                .count()
        })
        .unwrap_or(0)
}

/// A CUPS queue stopped (a printer that is off) until resumed or dropped.
#[derive(Debug)]
pub struct PausedQueue {
    queue: &'static str,
    paused: bool,
}

impl PausedQueue {
    /// Stops `queue`: it takes jobs and holds them.
    pub fn pause(queue: &'static str) -> Result<Self> {
        cups(&["cupsdisable", queue])?;
        Ok(Self {
            queue,
            paused: true,
        })
    }

    /// Enables the queue again, reporting a failure (the drop can only log it).
    pub fn resume(mut self) -> Result<()> {
        self.paused = false;
        cups(&["cupsenable", self.queue])
    }
}

impl Drop for PausedQueue {
    fn drop(&mut self) {
        if self.paused {
            if let Err(error) = cups(&["cupsenable", self.queue]) {
                eprintln!("cannot enable {} again: {error:#}", self.queue);
            }
        }
    }
}

/// Runs a CUPS command (`cupsdisable`, `cancel -a`...), failing when it fails.
pub fn cups(command: &[&str]) -> Result<()> {
    let status = std::process::Command::new(command[0])
        .args(&command[1..])
        .status()?;
    anyhow::ensure!(status.success(), "{command:?} failed");
    Ok(())
}

/// A minimal valid PDF with `pages` pages, each saying "<label> page <n>" in Helvetica.
pub fn make_pdf(label: &str, pages: usize) -> Vec<u8> {
    // Objects: 1 catalog, 2 pages, 3 font, then (page, content) pairs.
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        String::new(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    let mut kids = Vec::new();
    for n in 1..=pages {
        let page_id = objects.len() + 1;
        let content_id = page_id + 1;
        kids.push(format!("{page_id} 0 R"));
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_id} 0 R /Resources << /Font << /F1 3 0 R >> >> >>"
        ));
        let stream = format!("BT /F1 24 Tf 72 720 Td ({label} page {n}) Tj ET");
        objects.push(format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {pages} >>",
        kids.join(" ")
    );
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (index, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{body}\nendobj\n", index + 1).bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    pdf
}

/// Waits for a PDF in `queue`'s spool folder whose file name contains `needle`.
pub async fn wait_for_pdf(queue: &str, needle: &str, limit: Duration) -> Result<PathBuf> {
    let dir = spool_dir(queue);
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".pdf") && name.contains(needle) {
                    return Ok(entry.path());
                }
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "no PDF named like {needle:?} in {} within {limit:?}",
                dir.display()
            );
        }
        // cups-pdf writes from cupsd's backend; nothing to await but the file.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a poppler tool (`pdftotext`, `pdfinfo`, `pdfimages`...) with `args` on `file`;
/// its stdout. `pdftotext` writes to stdout.
pub fn poppler(program: &str, args: &[&str], file: &Path) -> Result<String> {
    let mut command = std::process::Command::new(program);
    command.args(args).arg(file);
    if program == "pdftotext" {
        command.arg("-");
    }
    let out = command.output()?;
    if !out.status.success() {
        bail!("{program} failed on {}", file.display());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The page count `pdfinfo` reads from `pdf`.
pub fn page_count(pdf: &Path) -> Result<usize> {
    let info = poppler("pdfinfo", &[], pdf)?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no page count in {info}"))
}

/// The PDF cups-pdf in `queue` made of a job (named after its title, `printrelay:<job
/// id>`), once whole: cups-pdf writes it in place, and Wine reports no job completion.
pub async fn cups_pdf_output(queue: &str, job_id: &str) -> Result<PathBuf> {
    const LIMIT: Duration = Duration::from_secs(60);
    let id_part = job_id.rsplit('-').next().unwrap_or(job_id);
    let path = wait_for_pdf(queue, id_part, LIMIT).await?;
    let deadline = Instant::now() + LIMIT;
    while page_count(&path).is_err() {
        if Instant::now() >= deadline {
            bail!("{} never became a whole PDF", path.display());
        }
        // Written by cupsd's backend in another process; poll.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(path)
}

/// Waits for the output of the job whose spooler title is `printrelay:<job_id>` in
/// `queue`'s spool folder (the test backend writes the title beside each job).
pub async fn wait_for_job_output(queue: &str, job_id: &str, limit: Duration) -> Result<Vec<u8>> {
    let dir = spool_dir(queue);
    let wanted = format!("printrelay:{job_id}");
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "title")
                    && std::fs::read_to_string(&path).is_ok_and(|t| t.trim() == wanted)
                {
                    let output = path.with_extension("prn");
                    if output.exists() {
                        return Ok(std::fs::read(output)?);
                    }
                }
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "no output for job {job_id} in {} within {limit:?}",
                dir.display()
            );
        }
        // Written by cupsd's backend in another process; poll.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_file_replaced_under_a_known_name_is_new() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let place = |name: &str, bytes: &str| -> Result<()> {
            // As the backend does: written aside, renamed into place.
            let tmp = dir.path().join(".tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, dir.path().join(name))?;
            Ok(())
        };
        place("job-7.prn", "old")?;
        let mut watch = SpoolWatch::in_dir(dir.path().to_owned());
        assert_eq!(watch.poll(), 0, "what was there before is not new");
        place("job-7.prn", "new")?;
        place("job-8.prn", "next")?;
        assert_eq!(watch.poll(), 2);
        assert_eq!(
            watch.counts(&["new".into(), "next".into(), "old".into()]),
            [1, 1, 0]
        );
        assert_eq!(watch.poll(), 2, "each file is read once");
        Ok(())
    }
}
