//! `Debtor`: who owes a duty of a task now, and by when, as a command carries it to
//! `decide`; and the one rule of whose an obligation is (its agency's, or, through a
//! group, the group's).

use time::OffsetDateTime;

use crate::event::Duty;
use crate::ids::AgencyName;
use crate::obligation::Obligation;

/// Who owes a duty of a task now, and by when: the facts about obligations that a command
/// depending on them carries (`TaskCommand::ExtendDeadline`, `AnswerRequest`), since
/// group membership and the holiday calendar are not part of the aggregate. The caller
/// derives them from the task's obligations (`Debtor::of_duty`); `decide` refuses on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Debtor {
    pub agency: AgencyName,
    /// The group the agency owes it through, for a fanned-out obligation.
    pub via_group: Option<AgencyName>,
    /// The deadline in force.
    pub due: OffsetDateTime,
}

impl Debtor {
    /// The debtors of `duty` among `obligations`, in their order.
    pub fn of_duty(obligations: &[Obligation], duty: &Duty) -> Vec<Self> {
        obligations
            .iter()
            .filter(|obligation| obligation.duty == *duty)
            .map(|obligation| Self {
                agency: obligation.agency.clone(),
                via_group: obligation.via_group.clone(),
                due: obligation.due,
            })
            .collect()
    }

    /// Whether this is `agency`'s debt: in its own name, or through the group it names.
    pub fn is(&self, agency: &AgencyName) -> bool {
        owed_by(&self.agency, self.via_group.as_ref(), agency)
    }
}

/// Whether an obligation of `agency` (through `via_group`) is `wanted`'s: the same agency,
/// or the group itself (a group's report covers its members).
pub(crate) fn owed_by(
    agency: &AgencyName,
    via_group: Option<&AgencyName>,
    wanted: &AgencyName,
) -> bool {
    let key = wanted.match_key();
    agency.match_key() == key || via_group.is_some_and(|group| group.match_key() == key)
}
