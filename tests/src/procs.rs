//! What a process tree costs: every descendant of a pid with its name and memory, read
//! from /proc (RSS and PSS from `smaps_rollup`).

use std::collections::HashMap;

use anyhow::{anyhow, Result};

/// One process and its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessMemory {
    pub pid: u32,
    pub name: String,
    pub rss_kib: u64,
    pub pss_kib: u64,
}

/// `root` and all its descendants.
pub fn tree(root: u32) -> Result<Vec<ProcessMemory>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc")?.filter_map(Result::ok) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(parent) = parent_of(pid) {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        if let Ok(memory) = memory_of(pid) {
            found.push(memory);
        }
        todo.extend(children.get(&pid).into_iter().flatten());
    }
    Ok(found)
}

/// Sum of RSS and of PSS over `processes`, in KiB.
pub fn totals(processes: &[ProcessMemory]) -> (u64, u64) {
    processes
        .iter()
        .fold((0, 0), |(rss, pss), p| (rss + p.rss_kib, pss + p.pss_kib))
}

/// One line per process and the totals, for test output and benchmark reports.
pub fn describe(processes: &[ProcessMemory]) -> String {
    let (rss, pss) = totals(processes);
    let mut lines: Vec<String> = processes
        .iter()
        .map(|p| {
            format!(
                "  {:>7} {:<24} RSS {:>7} KiB  PSS {:>7} KiB",
                p.pid, p.name, p.rss_kib, p.pss_kib
            )
        })
        .collect();
    lines.push(format!(
        "  total: {} processes, RSS {:.1} MiB, PSS {:.1} MiB",
        processes.len(),
        rss as f64 / 1024.0,
        pss as f64 / 1024.0
    ));
    lines.join("\n")
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name may contain spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn memory_of(pid: u32) -> Result<ProcessMemory> {
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))?
        .trim()
        .to_owned();
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    let field = |key: &str| {
        rollup
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| anyhow!("no {key} for pid {pid}"))
    };
    Ok(ProcessMemory {
        pid,
        name,
        rss_kib: field("Rss:")?,
        pss_kib: field("Pss:")?,
    })
}
