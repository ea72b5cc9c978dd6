//! Percentiles of samples, and figures (median and spread over repetitions, beside their
//! reference) printed as JSON lines and gathered for the human summary.

use serde_json::{json, Value};

/// The `p`-th percentile (0..=100) by nearest rank; 0 for no samples.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Median and spread of one value measured once per repetition.
#[derive(Debug, Clone)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub reps: usize,
}

impl Spread {
    /// Of `samples` (one per repetition).
    pub fn of(samples: &[f64]) -> Self {
        let (min, max) = samples
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        Self {
            median: percentile(samples, 50.0),
            min: if samples.is_empty() { 0.0 } else { min },
            max: if samples.is_empty() { 0.0 } else { max },
            reps: samples.len(),
        }
    }

    fn json(&self) -> Value {
        json!({"median": round(self.median), "min": round(self.min), "max": round(self.max), "reps": self.reps})
    }

    fn text(&self, unit: &str) -> String {
        format!(
            "{} {unit} ({}..{}, {} reps)",
            short(self.median),
            short(self.min),
            short(self.max),
            self.reps
        )
    }
}

fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn short(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.4}")
    }
}

/// A target and whether the figure met it.
#[derive(Debug, Clone)]
pub struct Target {
    pub text: String,
    pub met: bool,
}

impl Target {
    /// `text`, met when `met` holds.
    pub fn new(text: impl Into<String>, met: bool) -> Self {
        Self {
            text: text.into(),
            met,
        }
    }
}

/// One figure: our value, its reference measured in the same run, their ratio.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: String,
    pub unit: String,
    pub value: Spread,
    pub reference: Option<(String, Spread)>,
    pub target: Option<Target>,
    pub detail: Value,
}

impl Figure {
    /// `name` in `unit` from one sample per repetition.
    pub fn new(name: &str, unit: &str, samples: &[f64]) -> Self {
        Self {
            name: name.into(),
            unit: unit.into(),
            value: Spread::of(samples),
            reference: None,
            target: None,
            detail: Value::Null,
        }
    }

    /// Beside its reference `what`, measured in the same run.
    pub fn reference(mut self, what: &str, samples: &[f64]) -> Self {
        self.reference = Some((what.into(), Spread::of(samples)));
        self
    }

    /// Our median over the reference's median.
    pub fn ratio(&self) -> Option<f64> {
        self.reference
            .as_ref()
            .filter(|(_, r)| r.median != 0.0)
            .map(|(_, r)| self.value.median / r.median)
    }

    /// With a target judged by `met` on (our median, ratio).
    pub fn target(mut self, text: &str, met: impl Fn(f64, Option<f64>) -> bool) -> Self {
        let met = met(self.value.median, self.ratio());
        self.target = Some(Target::new(text, met));
        self
    }

    /// With extra figures (pooled percentiles, counts) for the JSON line.
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    /// The JSON line.
    pub fn json(&self) -> Value {
        json!({
            "figure": self.name,
            "unit": self.unit,
            "value": self.value.json(),
            "reference": self.reference.as_ref().map(|(what, r)| json!({"what": what, "value": r.json()})),
            "ratio": self.ratio().map(round),
            "target": self.target.as_ref().map(|t| t.text.clone()),
            "met": self.target.as_ref().map(|t| t.met),
            "detail": self.detail,
        })
    }

    /// One line for people.
    pub fn text(&self) -> String {
        let mut line = format!("{:<38} {}", self.name, self.value.text(&self.unit));
        if let Some((what, r)) = &self.reference {
            line.push_str(&format!("\n{:<38} vs {what}: {}", "", r.text(&self.unit)));
            if let Some(ratio) = self.ratio() {
                line.push_str(&format!(", ratio {}", short(ratio)));
            }
        }
        if let Some(target) = &self.target {
            let verdict = if target.met { "met" } else { "MISSED" };
            line.push_str(&format!("\n{:<38} target {}: {verdict}", "", target.text));
        }
        line
    }
}

/// Every figure of the run, printed as it is made.
#[derive(Debug, Default)]
pub struct Report {
    pub figures: Vec<Figure>,
    pub notes: Vec<String>,
}

impl Report {
    /// Prints the figure's JSON line on stdout and keeps it for the summary.
    pub fn add(&mut self, figure: Figure) {
        println!("{}", figure.json());
        eprintln!("{}", figure.text());
        self.figures.push(figure);
    }

    /// A remark for the summary (something skipped, and why), also as a JSON line.
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        println!("{}", json!({"note": note}));
        eprintln!("note: {note}");
        self.notes.push(note);
    }

    /// The whole run for people.
    pub fn summary(&self) -> String {
        let mut text: Vec<String> = self.figures.iter().map(Figure::text).collect();
        text.extend(self.notes.iter().map(|n| format!("note: {n}")));
        let missed: Vec<&str> = self
            .figures
            .iter()
            .filter(|f| f.target.as_ref().is_some_and(|t| !t.met))
            .map(|f| f.name.as_str())
            .collect();
        text.push(format!(
            "targets missed: {}",
            if missed.is_empty() {
                "none".to_owned()
            } else {
                missed.join(", ")
            }
        ));
        text.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), 2.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn a_figure_has_median_spread_and_ratio() {
        let figure = Figure::new("x", "ms", &[4.0, 2.0, 6.0])
            .reference("y", &[1.0, 2.0, 3.0])
            .target("ratio <= 2", |_, ratio| ratio.is_some_and(|r| r <= 2.0));
        assert_eq!(figure.value.median, 4.0);
        assert_eq!((figure.value.min, figure.value.max), (2.0, 6.0));
        assert_eq!(figure.ratio(), Some(2.0));
        assert!(figure.target.as_ref().is_some_and(|t| t.met));
    }
}
