//! Output: one tab-separated line per workload (`workload, median, unit, device`) as soon as it
//! is measured, then a human table or, with `--json`, one JSON object.

use std::fmt::Write as _;

use crate::workloads::{Measurement, Workload};

/// A workload's outcome: its measurement, or the error that stopped it.
pub type Outcome = Result<Measurement, String>;

/// `workload<TAB>median<TAB>unit<TAB>device`; a failed workload's median is `FAILED`.
pub fn tab_line(workload: Workload, outcome: &Outcome, device: &str) -> String {
    let median = match outcome {
        Ok(m) => format_figure(m.median),
        Err(_) => "FAILED".to_owned(),
    };
    format!(
        "{}\t{median}\t{}\t{device}",
        workload.name(),
        workload.unit()
    )
}

fn format_figure(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

pub fn table(results: &[(Workload, Outcome)], device: &str, runs: usize) -> String {
    let mut out =
        format!("device: {device}; wall-clock medians of {runs} runs (after one untimed run)\n");
    let _ = writeln!(
        out,
        "{:<25} {:>12} {:<8} {:>14}  notes",
        "workload", "median", "unit", "gpu timestamps"
    );
    for (w, outcome) in results {
        match outcome {
            Ok(m) => {
                let gpu = m.gpu_median.map_or_else(|| "-".to_owned(), format_figure);
                let notes: Vec<String> = m
                    .notes
                    .iter()
                    .map(|(name, v, unit)| format!("{name} {} {unit}", format_figure(*v)))
                    .collect();
                let direction = if w.higher_is_better() {
                    ""
                } else {
                    " (lower is better)"
                };
                let _ = writeln!(
                    out,
                    "{:<25} {:>12} {:<8} {:>14}  {}{direction}",
                    w.name(),
                    format_figure(m.median),
                    w.unit(),
                    gpu,
                    notes.join(", ")
                );
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "{:<25} {:>12} {:<8} {:>14}  {e}",
                    w.name(),
                    "FAILED",
                    w.unit(),
                    "-"
                );
            }
        }
    }
    out
}

pub fn json(results: &[(Workload, Outcome)], device: &str, api: &str, runs: usize) -> String {
    let items: Vec<String> = results
        .iter()
        .map(|(w, outcome)| {
            let mut o = format!(
                "{{\"workload\":{},\"unit\":{},\"higher_is_better\":{}",
                quote(w.name()),
                quote(w.unit()),
                w.higher_is_better()
            );
            match outcome {
                Ok(m) => {
                    let _ = write!(o, ",\"median\":{},\"runs\":{}", number(m.median), m.runs);
                    if let Some(g) = m.gpu_median {
                        let _ = write!(o, ",\"gpu_timestamp_median\":{}", number(g));
                    }
                    for (name, v, unit) in &m.notes {
                        let key = json_key(&format!("{name} {unit}"));
                        let _ = write!(o, ",{}:{}", quote(&key), number(*v));
                    }
                }
                Err(e) => {
                    let _ = write!(o, ",\"error\":{}", quote(e));
                }
            }
            o.push('}');
            o
        })
        .collect();
    format!(
        "{{\"device\":{},\"api_version\":{},\"runs\":{runs},\"results\":[{}]}}",
        quote(device),
        quote(api),
        items.join(",")
    )
}

/// "cold (first run) ms" → "cold_first_run_ms".
fn json_key(words: &str) -> String {
    words
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".to_owned()
    }
}

/// A JSON string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(w: Workload, median: f64) -> (Workload, Outcome) {
        (
            w,
            Ok(Measurement {
                median,
                gpu_median: None,
                runs: 5,
                notes: vec![("create only", 0.25, "ms")],
            }),
        )
    }

    #[test]
    fn tab_line_has_four_fields_in_order() {
        let (w, o) = measured(Workload::Saxpy, 4.8);
        assert_eq!(
            tab_line(w, &o, "llvmpipe (LLVM 15.0.7, 256 bits)"),
            "saxpy\t4.800\tGB/s\tllvmpipe (LLVM 15.0.7, 256 bits)"
        );
        let failed: Outcome = Err("WRONG RESULT".into());
        assert_eq!(
            tab_line(Workload::PipelineLatency, &failed, "d"),
            "pipeline-latency\tFAILED\tms\td"
        );
    }

    #[test]
    fn json_escapes_strings_and_reports_errors() {
        let results = vec![
            measured(Workload::PipelineLatency, 19.6),
            (Workload::Reduction, Err("sum = 1, expected \"2\"".into())),
        ];
        let j = json(&results, "dev\"ice\n", "1.0.0", 5);
        assert!(
            j.starts_with("{\"device\":\"dev\\\"ice\\u000a\",\"api_version\":\"1.0.0\""),
            "{j}"
        );
        assert!(
            j.contains("\"median\":19.6,\"runs\":5,\"create_only_ms\":0.25}"),
            "{j}"
        );
        assert!(
            j.contains("\"error\":\"sum = 1, expected \\\"2\\\"\""),
            "{j}"
        );
    }

    #[test]
    fn json_keys_are_plain_words_joined_by_underscores() {
        assert_eq!(json_key("cold (first run) ms"), "cold_first_run_ms");
    }

    #[test]
    fn table_marks_latency_as_lower_is_better() {
        let t = table(&[measured(Workload::PipelineLatency, 19.6)], "d", 5);
        assert!(t.contains("lower is better"), "{t}");
    }
}
