//! Reading a plan's appendix into the tasks it would import, without importing: pure
//! but for the directory lookups, and what `dondoc import --dry-run` shows.
//!
//! Reads the appendix, resolves every agency name through the directory and builds each
//! row's assignment, or fails listing every problem with its line: an import is all or
//! nothing at validation. Also the reporting policy of an import: a preset by name or
//! the plan's own as JSON.

use dondoc_appendix::{parse_appendix_with, AppendixRow, ParseOptions, SourceFormat};
use dondoc_domain::{
    check_text, AgencyName, AppendixRowRef, ExtraColumn, InvalidInput, PlanId, PlanReporting,
    ReportingPolicy, RequestId, Schedule, TaskAssigned, TaskId, Timeframe, PRESET_NAMES,
};

use crate::agencies::{Agencies, Resolved};
use crate::error::AppError;

/// The reporting policy of an import: a preset by name, or a policy given as JSON
/// (`ReportingPolicySpec`); `None` when neither is given (the import then takes the
/// province's preset). Errors name the field: `policy`, `policy_json` or
/// `policy_json.<field>`.
pub fn reporting_policy(
    preset: Option<&str>,
    json: Option<&str>,
) -> Result<Option<ReportingPolicy>, InvalidInput> {
    let preset = preset.map(str::trim).filter(|name| !name.is_empty());
    let json = json.map(str::trim).filter(|json| !json.is_empty());
    match (preset, json) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(InvalidInput::new(
            "policy_json",
            "give a preset name (policy) or a policy of the plan's own (policy_json), not both",
        )),
        (Some(name), None) => ReportingPolicy::preset(name).map(Some).ok_or_else(|| {
            InvalidInput::new(
                "policy",
                format!(
                    "{} is not a preset policy; the presets are {}",
                    dondoc_domain::quoted(name),
                    PRESET_NAMES.join(", ")
                ),
            )
        }),
        (None, Some(json)) => ReportingPolicy::from_json(json, "policy_json").map(Some),
    }
}

#[derive(Clone, Debug)]
pub struct ImportPlan {
    pub plan_id: PlanId,
    /// The year the plan covers; rows without a timeframe take it.
    pub plan_year: i32,
    /// A name for the document, recorded on every task (a file name, usually).
    pub source_name: String,
    /// The whole document or just its appendix table (tab-separated, CSV or PDF text).
    pub content: String,
    /// Who imports it (authorized as the plan's owner or an operator); its subject is
    /// the actor recorded on the import's events.
    pub caller: crate::access::Caller,
    /// Idempotency key of the import; each row's command derives its own from it.
    pub request_id: RequestId,
    /// The plan's province in the agency directory ("Quảng Ngãi"): its entries decide
    /// what a name means. Without it, a name resolves only where all provinces agree.
    pub province: Option<String>,
    /// The plan's reporting policy, recorded on each of its tasks. `None`: the preset
    /// for the province (`ReportingPolicy::for_province`).
    pub policy: Option<ReportingPolicy>,
}

impl ImportPlan {
    /// The reporting rules the import records on each task.
    pub fn reporting(&self) -> PlanReporting {
        let policy = self
            .policy
            .clone()
            .unwrap_or_else(|| ReportingPolicy::for_province(self.province.as_deref()));
        PlanReporting {
            policy: policy.into_spec(),
            province: self.province.clone(),
        }
    }
}

/// Something worth a reader's attention that does not block the import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportWarning {
    pub line: usize,
    /// Empty for warnings about the table rather than a row.
    pub row_number: String,
    pub field: String,
    pub message: String,
}

/// The appendix as it would be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportPreview {
    pub plan_id: PlanId,
    pub plan_year: i32,
    pub source_name: String,
    pub format: SourceFormat,
    pub reporting: PlanReporting,
    pub tasks: Vec<PreviewTask>,
    pub warnings: Vec<ImportWarning>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewTask {
    pub task_id: TaskId,
    pub assignment: TaskAssigned,
}

/// Reads the appendix and builds every task it would import, or lists every problem.
pub fn preview_import(import: &ImportPlan, agencies: &Agencies) -> Result<ImportPreview, AppError> {
    if !(2000..=2100).contains(&import.plan_year) {
        return Err(InvalidInput::new(
            "plan_year",
            format!("{} is not a year between 2000 and 2100", import.plan_year),
        )
        .into());
    }
    let options = ParseOptions {
        known_agencies: agencies.directory().known_names(),
    };
    let appendix =
        parse_appendix_with(&import.content, &options).map_err(|error| AppError::Appendix {
            source_name: import.source_name.clone(),
            error,
        })?;
    let mut warnings: Vec<ImportWarning> = appendix
        .warnings
        .iter()
        .map(|warning| ImportWarning {
            line: warning.line,
            row_number: String::new(),
            field: warning.column.clone().unwrap_or_else(|| "table".to_owned()),
            message: warning.message.clone(),
        })
        .collect();
    if appendix.rows.len() > MAX_ROWS {
        return Err(InvalidInput::new(
            "content",
            format!(
                "{}: {} task rows, more than the limit of {MAX_ROWS} per import",
                import.source_name,
                appendix.rows.len()
            ),
        )
        .into());
    }
    let mut tasks = Vec::with_capacity(appendix.rows.len());
    let mut problems = Vec::new();
    for row in &appendix.rows {
        match prepare_row(import, agencies, row, &mut warnings) {
            Ok(task) => tasks.push(task),
            Err(problem) => problems.push(format!(
                "line {} (row {}): {problem}",
                row.line, row.row_number
            )),
        }
    }
    if !problems.is_empty() {
        return Err(AppError::RejectedRows {
            source_name: import.source_name.clone(),
            problems,
        });
    }
    Ok(ImportPreview {
        plan_id: import.plan_id.clone(),
        plan_year: import.plan_year,
        source_name: import.source_name.clone(),
        format: appendix.format,
        reporting: import.reporting(),
        tasks,
        warnings,
    })
}

/// The most rows an import takes.
pub const MAX_ROWS: usize = 20_000;
/// The most characters of a task's text (its title, its content).
pub const MAX_TASK_TEXT: usize = 20_000;
/// The most characters of an agency cell, or of any other cell.
pub const MAX_CELL_TEXT: usize = 5_000;
/// The most agencies one cell may name.
pub const MAX_AGENCIES_PER_CELL: usize = 100;

/// Refuses a row over a limit, or with text no field may hold, before anything is
/// looked up: the checks are linear in the row, the lookups are not.
fn check_row(row: &AppendixRow) -> Result<(), String> {
    let mut texts: Vec<(&str, &str, usize)> = vec![
        ("title", row.title.as_str(), MAX_TASK_TEXT),
        ("lead", row.lead_text.as_str(), MAX_CELL_TEXT),
        (
            "coordinators",
            row.coordinators_text.as_str(),
            MAX_CELL_TEXT,
        ),
    ];
    if let Some(content) = &row.content {
        texts.push(("content", content, MAX_TASK_TEXT));
    }
    if let Some(timeframe) = &row.timeframe {
        texts.push(("timeframe", timeframe, MAX_CELL_TEXT));
    }
    for (_, value) in &row.extra {
        texts.push(("extra", value, MAX_CELL_TEXT));
    }
    for (field, text, limit) in texts {
        check_text(field, text, limit, true).map_err(|error| format!("{error}"))?;
    }
    for (field, names) in [("lead", &row.lead), ("coordinators", &row.coordinators)] {
        if names.len() > MAX_AGENCIES_PER_CELL {
            return Err(format!(
                "{field}: the cell names {} agencies, more than the limit of \
                 {MAX_AGENCIES_PER_CELL}",
                names.len()
            ));
        }
    }
    Ok(())
}

fn prepare_row(
    import: &ImportPlan,
    agencies: &Agencies,
    row: &AppendixRow,
    warnings: &mut Vec<ImportWarning>,
) -> Result<PreviewTask, String> {
    check_row(row)?;
    let mut resolve = |field: &'static str, names: &[String]| -> Result<Vec<AgencyName>, String> {
        let mut resolved: Vec<AgencyName> = Vec::new();
        for written in names {
            let agency = match agencies.stored_name(import.province.as_deref(), written) {
                Resolved::Known { name, .. } => name,
                Resolved::Unknown { suggestions } => {
                    let closest = if suggestions.is_empty() {
                        "no close match".to_owned()
                    } else {
                        format!("closest known: {}", suggestions.join("; "))
                    };
                    warnings.push(ImportWarning {
                        line: row.line,
                        row_number: row.row_number.clone(),
                        field: field.to_owned(),
                        message: format!(
                            "{written:?} is not in the agency directory; kept as written \
                             ({closest})"
                        ),
                    });
                    AgencyName::parse(written).map_err(|err| format!("{field}: {}", err.message))?
                }
            };
            if !resolved.contains(&agency) {
                resolved.push(agency);
            }
        }
        Ok(resolved)
    };
    let lead = resolve("lead", &row.lead)?;
    if lead.is_empty() {
        return Err("lead: the row names no lead agency".to_owned());
    }
    let coordinators = resolve("coordinators", &row.coordinators)?;
    if row.title.trim().is_empty() {
        return Err("title: the row has no task text".to_owned());
    }
    let timeframe = Timeframe::parse(row.timeframe.as_deref(), import.plan_year);
    if let Schedule::Unparsed { from } = timeframe.schedule {
        warnings.push(ImportWarning {
            line: row.line,
            row_number: row.row_number.clone(),
            field: "timeframe".to_owned(),
            message: format!(
                "{:?} is not a year, a range, \"Hằng năm\" or \"Thường xuyên\"; kept as written, \
                 reports accepted from {from}",
                row.timeframe.as_deref().unwrap_or_default()
            ),
        });
    }
    let agency_ids = agencies.assignment_identities(
        import.province.as_deref(),
        &import.plan_id,
        lead.iter().chain(&coordinators),
    );
    let section_number = row.section.as_ref().map(|section| section.number.clone());
    let task_id = TaskId::for_appendix_row(
        &import.plan_id,
        section_number.as_deref(),
        &row.row_number,
        row.occurrence,
    );
    Ok(PreviewTask {
        task_id,
        assignment: TaskAssigned {
            plan_year: import.plan_year,
            title: row.title.trim().to_owned(),
            content: row.content.clone(),
            lead,
            coordinators,
            timeframe,
            source: AppendixRowRef {
                source_name: import.source_name.clone(),
                line: row.line,
                position: row.position,
                row_number: row.row_number.clone(),
                occurrence: row.occurrence,
                section_number,
                section_title: row.section.as_ref().map(|section| section.title.clone()),
                lead_text: row.lead_text.clone(),
                coordinators_text: row.coordinators_text.clone(),
            },
            extra: row
                .extra
                .iter()
                .map(|(header, value)| ExtraColumn {
                    header: header.clone(),
                    value: value.clone(),
                })
                .collect(),
            reporting: Some(import.reporting()),
            agency_ids,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_is_a_preset_or_json_and_errors_name_the_field() {
        assert_eq!(reporting_policy(None, None).unwrap(), None);
        assert_eq!(reporting_policy(Some(" "), Some("")).unwrap(), None);
        assert_eq!(
            reporting_policy(Some("ba-to"), None)
                .unwrap()
                .unwrap()
                .name(),
            "ba-to"
        );
        assert_eq!(
            reporting_policy(Some("nope"), None).unwrap_err().field,
            "policy"
        );
        let json = r#"{"name": "qti-literal", "quarterly_day": 25, "yearly": "12-20",
            "working_day_rule": false, "recipient": "Sở Thông tin và Truyền thông"}"#;
        assert_eq!(
            reporting_policy(None, Some(json)).unwrap().unwrap().name(),
            "qti-literal"
        );
        assert_eq!(
            reporting_policy(None, Some("{")).unwrap_err().field,
            "policy_json"
        );
        assert_eq!(
            reporting_policy(Some("default"), Some(json))
                .unwrap_err()
                .field,
            "policy_json"
        );
    }
}
