//! The sample plans `dondoc up` loads on first start: the three appendix tables of the
//! seed documents, shipped in deploy/samples/ as they stand (a user's clone has no
//! ../shared), and compiled in so the binary needs no path to them.

pub struct SamplePlan {
    pub plan_id: &'static str,
    pub province: &'static str,
    /// The reporting policy preset (`ReportingPolicy::preset`): the plan's own rule where
    /// it states one, the documented default where it does not.
    pub policy: &'static str,
    pub plan_year: i32,
    pub source_name: &'static str,
    pub text: &'static str,
}

pub const SAMPLE_PLANS: [SamplePlan; 3] = [
    // Quảng Ngãi, Kế hoạch 189/KH-UBND of 09/12/2022, CĐS in 2023: Phụ lục 2, 76 tasks.
    SamplePlan {
        plan_id: "qng-189-2022",
        province: "Quảng Ngãi",
        // 189/KH-UBND states no reporting rule.
        policy: "default",
        plan_year: 2023,
        source_name: "qng-189-kh-ubnd-2022.txt",
        text: include_str!("../../../deploy/samples/qng-189-kh-ubnd-2022.txt"),
    },
    // Quảng Trị, plan to raise the provincial DTI index (2023): Phụ lục, 36 tasks.
    SamplePlan {
        plan_id: "qti-dti-2023",
        province: "Quảng Trị",
        // Section IV.1: quarterly before the 25th of the quarter's last month, yearly
        // before 20 December.
        policy: "quang-tri",
        plan_year: 2023,
        source_name: "qti-dti-2023.txt",
        text: include_str!("../../../deploy/samples/qti-dti-2023.txt"),
    },
    // Office of the Quảng Trị People's Committee, 2025 cooperation with Viettel: 5 tasks.
    SamplePlan {
        plan_id: "qti-viettel-2025",
        province: "Quảng Trị",
        // The province's rule, as for its other plans.
        policy: "quang-tri",
        plan_year: 2025,
        source_name: "qti-viettel-2025.txt",
        text: include_str!("../../../deploy/samples/qti-viettel-2025.txt"),
    },
];
