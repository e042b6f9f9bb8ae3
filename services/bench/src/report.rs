//! The results: one row per figure, dondoc's beside the raw substrate's and their
//! ratio, written as JSON lines (appended: the history) and a Markdown table (the last
//! run), with the date and the machine.
//!
//! Invariant: a ratio is dondoc ÷ raw for rates (higher is better) and raw ÷ dondoc for
//! latencies, so 1.0 is "as fast as the substrate" either way.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// Whether a figure is a rate (higher is better) or a latency (lower is better).
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Rate,
    Latency,
    Size,
}

#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub scenario: String,
    pub fsync: bool,
    pub kind: Kind,
    pub unit: &'static str,
    pub dondoc: f64,
    /// The raw substrate's figure for the same work, when there is one.
    pub raw: Option<f64>,
    /// The target the issue sets, as text.
    pub target: &'static str,
    pub detail: String,
}

impl Row {
    pub fn ratio(&self) -> Option<f64> {
        let raw = self.raw?;
        match self.kind {
            Kind::Rate if raw > 0.0 => Some(self.dondoc / raw),
            Kind::Latency if self.dondoc > 0.0 => Some(raw / self.dondoc),
            _ => None,
        }
    }
}

/// The run's header: when, where, which mode.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    pub started_at: String,
    pub mode: &'static str,
    pub cores: usize,
    pub machine: String,
}

impl RunInfo {
    pub fn now(mode: &'static str) -> Self {
        let started_at = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
            .to_offset(time::UtcOffset::from_hms(7, 0, 0).expect("+07:00 is an offset"))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let machine = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|line| line.strip_prefix("model name"))
                    .map(|name| name.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        Self {
            started_at,
            mode,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            machine,
        }
    }
}

fn figure(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// The Markdown table of `rows`.
pub fn markdown(info: &RunInfo, rows: &[Row]) -> String {
    let mut text = format!(
        "Measured {} ({} mode) on {} ({} cores).\n\n\
         | scenario | fsync | dondoc | raw | ratio | target | detail |\n\
         |---|---|---|---|---|---|---|\n",
        info.started_at, info.mode, info.machine, info.cores
    );
    for row in rows {
        text.push_str(&format!(
            "| {} | {} | {} {} | {} | {} | {} | {} |\n",
            row.scenario,
            if row.fsync { "on" } else { "off" },
            figure(row.dondoc),
            row.unit,
            row.raw.map_or_else(
                || "–".to_owned(),
                |raw| format!("{} {}", figure(raw), row.unit)
            ),
            row.ratio()
                .map_or_else(|| "–".to_owned(), |ratio| format!("{ratio:.2}")),
            row.target,
            row.detail,
        ));
    }
    text
}

/// Appends the run to `dir/results.jsonl` and writes `dir/latest.md`.
pub fn write(dir: &Path, info: &RunInfo, rows: &[Row]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let lines = dir.join("results.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&lines)
        .with_context(|| format!("opening {}", lines.display()))?;
    for row in rows {
        let mut value = serde_json::to_value(row)?;
        value["run"] = serde_json::to_value(info)?;
        value["ratio"] = serde_json::to_value(row.ratio())?;
        writeln!(file, "{value}")?;
    }
    let table = dir.join("latest.md");
    std::fs::write(&table, markdown(info, rows))
        .with_context(|| format!("writing {}", table.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: Kind, dondoc: f64, raw: Option<f64>) -> Row {
        Row {
            scenario: "s".to_owned(),
            fsync: true,
            kind,
            unit: "x",
            dondoc,
            raw,
            target: "",
            detail: String::new(),
        }
    }

    #[test]
    fn ratios_read_one_as_fast_as_the_substrate() {
        assert_eq!(row(Kind::Rate, 50.0, Some(100.0)).ratio(), Some(0.5));
        assert_eq!(row(Kind::Latency, 2.0, Some(1.0)).ratio(), Some(0.5));
        assert_eq!(row(Kind::Size, 2.0, Some(1.0)).ratio(), None);
        assert_eq!(row(Kind::Rate, 2.0, None).ratio(), None);
        let info = RunInfo::now("quick");
        let table = markdown(&info, &[row(Kind::Rate, 50.0, Some(100.0))]);
        assert!(
            table.contains("| s | on | 50.00 x | 100 x | 0.50 |"),
            "{table}"
        );
    }
}
