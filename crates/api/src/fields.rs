//! Request fields into domain values: every field that does not parse becomes
//! INVALID_ARGUMENT naming it. Protobuf has no "absent" for strings, so an empty (or
//! blank) optional field means "not given".
//!
//! Parsing only: what the values mean together (a window's ends, who may be asked) is
//! the application's to check.

use dondoc_app::{Agencies, AgencyTarget};
use dondoc_app::{AppError, CommandMeta, PeriodFilter, ScorecardQuery};
use dondoc_domain::{
    check_instant, check_text, quoted, AgencyName, InvalidInput, PlanId, ReportingPeriod,
    RequestId, RequestKind,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tonic::Status;

use crate::status::to_status;

const INSTANT_EXAMPLE: &str = "an RFC 3339 instant such as 2024-03-25T00:00:00+07:00";

pub(crate) fn invalid(error: InvalidInput) -> Status {
    to_status(AppError::Invalid(error))
}

/// An optional field: empty means "not given".
pub(crate) fn optional<T>(
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, InvalidInput>,
) -> Result<Option<T>, Status> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse(raw).map(Some).map_err(invalid)
    }
}

/// A field parsed by `parse`, its error renamed to `field` (domain parsers name their
/// own concept: "agency", "request_id").
pub(crate) fn required<T>(
    field: &'static str,
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, InvalidInput>,
) -> Result<T, Status> {
    parse(raw).map_err(|error| invalid(InvalidInput::new(field, error.message)))
}

/// An optional instant: empty means "not given".
pub(crate) fn instant(field: &'static str, raw: &str) -> Result<Option<OffsetDateTime>, Status> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let instant = OffsetDateTime::parse(raw, &Rfc3339).map_err(|error| {
        invalid(InvalidInput::new(
            field,
            format!("{} is not {INSTANT_EXAMPLE} ({error})", quoted(raw)),
        ))
    })?;
    check_instant(field, instant).map(Some).map_err(invalid)
}

pub(crate) fn required_instant(field: &'static str, raw: &str) -> Result<OffsetDateTime, Status> {
    instant(field, raw)?.ok_or_else(|| {
        invalid(InvalidInput::new(
            field,
            format!("required: {INSTANT_EXAMPLE}"),
        ))
    })
}

/// A text field, checked before any work: within its limit, no control character (but
/// line breaks and tabs in `multiline` text) nor bidirectional mark. The aggregate checks
/// again (`decide`); this refuses early and names the request's field.
pub(crate) fn text<'a>(
    field: &'static str,
    raw: &'a str,
    limit: usize,
    multiline: bool,
) -> Result<&'a str, Status> {
    check_text(field, raw.trim(), limit, multiline)
        .map(|()| raw)
        .map_err(invalid)
}

pub(crate) fn agency(field: &'static str, raw: &str) -> Result<AgencyName, Status> {
    required(field, raw, AgencyName::parse)
}

pub(crate) fn optional_agency(
    field: &'static str,
    raw: &str,
) -> Result<Option<AgencyName>, Status> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        agency(field, raw).map(Some)
    }
}

/// Whom an agency field names (an id or a name, read in `province` when given):
/// INVALID_ARGUMENT for an empty one, an unknown province, or a name several provinces
/// know without one.
pub(crate) fn target(
    agencies: &Agencies,
    field: &'static str,
    raw: &str,
    province: Option<&str>,
) -> Result<AgencyTarget, Status> {
    if raw.trim().is_empty() {
        return Err(invalid(InvalidInput::new(field, "must be given")));
    }
    let province = province
        .map(str::trim)
        .filter(|province| !province.is_empty());
    agencies.target(field, raw, province).map_err(invalid)
}

/// [`target`] for an optional field.
pub(crate) fn optional_target(
    agencies: &Agencies,
    field: &'static str,
    raw: &str,
    province: Option<&str>,
) -> Result<Option<AgencyTarget>, Status> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        target(agencies, field, raw, province).map(Some)
    }
}

pub(crate) fn request_kind(raw: &str) -> Result<RequestKind, Status> {
    match raw.trim().to_lowercase().replace('-', "_").as_str() {
        "ad_hoc" | "adhoc" => Ok(RequestKind::AdHoc),
        "coordination" => Ok(RequestKind::Coordination),
        _ => Err(invalid(InvalidInput::new(
            "kind",
            format!("{} must be \"ad_hoc\" or \"coordination\"", quoted(raw)),
        ))),
    }
}

pub(crate) fn command_meta(
    request_id: &str,
    caller: dondoc_app::Caller,
    expected_version: Option<u64>,
) -> Result<CommandMeta, Status> {
    Ok(CommandMeta {
        request_id: RequestId::parse(request_id).map_err(invalid)?,
        caller,
        expected_version,
    })
}

/// The filters of a scorecard (GetScorecard, GetScorecardAsOf).
pub(crate) fn scorecard_query(
    agencies: &Agencies,
    (agency, province): (&str, Option<&str>),
    plan_id: &str,
    period: &str,
    year: i32,
    as_of: &str,
) -> Result<ScorecardQuery, Status> {
    let year = match year {
        0 => None,
        year if (2000..=2100).contains(&year) => Some(year),
        year => {
            return Err(invalid(InvalidInput::new(
                "year",
                format!("{year} must be 2000..=2100 (or 0 for every year)"),
            )))
        }
    };
    Ok(ScorecardQuery {
        agency: optional_target(agencies, "agency", agency, province)?,
        plan_id: optional(plan_id, PlanId::parse)?,
        periods: PeriodFilter {
            period: optional(period, ReportingPeriod::parse)?,
            year,
        },
        as_of: instant("as_of", as_of)?,
    })
}

#[cfg(test)]
mod tests {
    use dondoc_domain::rfc3339;
    use tonic::Code;

    use super::*;

    #[test]
    fn instants_are_rfc_3339_in_vietnam_time_and_errors_name_the_field() {
        assert_eq!(instant("as_of", " ").unwrap(), None);
        let parsed = instant("as_of", "2024-03-24T17:00:00Z").unwrap().unwrap();
        assert_eq!(rfc3339(parsed), "2024-03-25T00:00:00+07:00");
        assert_eq!(parsed.offset().whole_hours(), 7);
        for bad in [
            "yesterday",
            "2024-03-25",
            "2024-03-25 00:00",
            "9999-12-31T23:59:59Z",
            "1999-01-01T00:00:00+07:00",
        ] {
            let status = instant("from", bad).unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
            assert!(
                status.message().contains("invalid from"),
                "{}",
                status.message()
            );
        }
        let status = required_instant("new_due", "").unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("new_due"), "{}", status.message());
    }

    #[test]
    fn request_kinds_are_ad_hoc_or_coordination() {
        assert_eq!(request_kind("ad_hoc").unwrap(), RequestKind::AdHoc);
        assert_eq!(request_kind("ad-hoc").unwrap(), RequestKind::AdHoc);
        assert_eq!(
            request_kind(" Coordination ").unwrap(),
            RequestKind::Coordination
        );
        let status = request_kind("urgent").unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().contains("invalid kind"),
            "{}",
            status.message()
        );
    }

    #[test]
    fn agency_errors_name_the_request_field() {
        let status = agency("requested_by", " ").unwrap_err();
        assert!(
            status.message().contains("invalid requested_by"),
            "{}",
            status.message()
        );
        assert_eq!(optional_agency("agency", "").unwrap(), None);
    }
}
