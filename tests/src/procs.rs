//! What a process tree costs: every descendant of a pid with its name and memory, read
//! from /proc (RSS and PSS from `smaps_rollup`), and the CPU time it has used.

use std::collections::HashMap;

use anyhow::{anyhow, Result};

/// One process and its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessMemory {
    pub pid: u32,
    pub name: String,
    pub rss_kib: u64,
    pub pss_kib: u64,
    /// User + system CPU time so far, in clock ticks (`cpu_ticks_per_second`).
    pub cpu_ticks: u64,
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux unless told).
pub fn cpu_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(100)
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

/// The fields of `/proc/<pid>/stat` after the name, from field 3 (`state`) on.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name may contain spaces and parentheses: fields resume after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// utime + stime (fields 14 and 15 of stat) of one process.
fn cpu_ticks_of(pid: u32) -> u64 {
    stat_fields(pid)
        .map(|fields| {
            fields
                .get(11..13)
                .into_iter()
                .flatten()
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0)
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
        cpu_ticks: cpu_ticks_of(pid),
    })
}
